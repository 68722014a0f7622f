#include "mlrec/ops/batch_norm_mish.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <type_traits>

#include "mlrec/ops/cuda_kernels.h"

#include "ops/cpu/mish_kernels.h"
#include "ops/cpu_elements.h"
#include "ops/cuda/batch_norm_mish_kernels.h"

namespace mlrec::ops {

namespace {

class BatchNormMishCuda : public torch::autograd::Function<BatchNormMishCuda> {
 public:
  // running_mean and running_var are updated in place by the kernel (buffers, never gradients).
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, torch::Tensor running_mean,
                               torch::Tensor running_var, double momentum, double eps) {
    auto [out, mean, rstd] =
        detail::batch_norm_mish_forward_cuda(x, weight, bias, running_mean, running_var, momentum, eps);
    ctx->save_for_backward({x, weight, bias, mean, rstd});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto [grad_x, grad_weight, grad_bias] =
        detail::batch_norm_mish_backward_cuda(grads[0], saved[0], saved[1], saved[2], saved[3], saved[4]);
    return {grad_x, grad_weight, grad_bias, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// Mish on the CPU by mlrec's loops, float32 or bfloat16 (computed in float32); backward
// recomputes from the saved input, as torch's mish_backward does.
class MishCpu : public torch::autograd::Function<MishCpu> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input) {
    auto x = input.contiguous();
    auto y = torch::empty_like(x);
    elements::with_type(x, [&](auto* type) {
      using T = std::remove_pointer_t<decltype(type)>;
      const T* in = elements::of<T>(x);
      T* out = elements::of<T>(y);
      at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
        mish_forward(in + begin, out + begin, end - begin);
      });
    });
    ctx->save_for_backward({x});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto x = ctx->get_saved_variables()[0];
    const auto grad_y = grads[0].to(x.scalar_type()).contiguous();
    auto grad_x = torch::empty_like(x);
    elements::with_type(x, [&](auto* type) {
      using T = std::remove_pointer_t<decltype(type)>;
      const T* g = elements::of<T>(grad_y);
      const T* in = elements::of<T>(x);
      T* out = elements::of<T>(grad_x);
      at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
        mish_backward(g + begin, in + begin, out + begin, end - begin);
      });
    });
    return {grad_x};
  }

 private:
  static constexpr int64_t kGrain = 1 << 15;
};

bool mish_cpu_takes(const torch::Tensor& x) {
  return x.device().is_cpu() && (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16);
}

bool kernels_take(const torch::Tensor& x, const torch::nn::BatchNorm1d& norm) {
  const auto& o = norm->options;
  return norm->is_training() && x.is_cuda() && cuda_kernels_run_on(x.get_device()) &&
         (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16) && x.dim() == 2 &&
         x.size(0) > 1 && o.affine() && o.track_running_stats() && o.momentum().has_value() &&
         norm->weight.scalar_type() == torch::kFloat32 && norm->running_mean.scalar_type() == torch::kFloat32;
}

}  // namespace


torch::Tensor batch_norm_mish(const torch::Tensor& x, torch::nn::BatchNorm1d& norm, bool use_kernels) {
  RECORD_FUNCTION("mlrec::batch_norm_mish", std::vector<c10::IValue>({x}));
  if (use_kernels && kernels_take(x, norm)) {
    {
      torch::NoGradGuard no_grad;
      norm->num_batches_tracked.add_(1);  // as torch's module does (used only without a momentum)
    }
    return BatchNormMishCuda::apply(x.contiguous(), norm->weight, norm->bias, norm->running_mean,
                                    norm->running_var, *norm->options.momentum(), norm->options.eps());
  }
  auto normalized = norm(x);
  if (use_kernels && mish_cpu_takes(normalized)) return MishCpu::apply(normalized);
  return torch::mish(normalized);
}

}  // namespace mlrec::ops
