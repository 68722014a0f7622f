#include "mlrec/ops/feed_forward.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>

#include <type_traits>
#include <vector>

#include "mlrec/ops/dropout.h"
#include "mlrec/ops/linear.h"
#include "ops/cpu/gelu_dropout_kernels.h"
#include "ops/cpu_elements.h"
#include "ops/cuda/gelu_dropout_kernels.h"
#include "ops/hash_mask.h"
#include "ops/linear_cuda.h"

namespace mlrec::ops {
namespace {

// Rows per task: a few hundred KB of each operand.
int64_t grain_rows(int64_t cols) { return std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(1, cols)); }

// t: [rows, cols] contiguous float32, or bfloat16 under bf16 autocast (the GEMM's output); bias:
// [cols] float32. The output and t's gradient are t's type; the bias gradient is float32.
class BiasGeluDropout : public torch::autograd::Function<BiasGeluDropout> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& t,
                               const torch::Tensor& bias, double p) {
    const auto mask = hash_mask::draw(p);
    const auto b = bias.contiguous();
    auto y = torch::empty_like(t);
    const int64_t cols = t.size(1);
    const float* bp = b.data_ptr<float>();
    elements::with_type(t, [&](auto* type) {
      using T = std::remove_pointer_t<decltype(type)>;
      at::parallel_for(0, t.size(0), grain_rows(cols), [&](int64_t begin, int64_t end) {
        const int64_t first = begin * cols;
        gelu_dropout_forward_rows(elements::of<T>(t) + first, bp, elements::of<T>(y) + first, end - begin, cols,
                                  static_cast<uint32_t>(first), mask.seed_a, mask.seed_b, mask.threshold, mask.scale);
      });
    });
    ctx->save_for_backward({t, b});
    hash_mask::save(ctx, mask);
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& t = saved[0];
    const auto& b = saved[1];
    const auto grad_y = grads[0].to(t.scalar_type()).contiguous();
    const auto mask = hash_mask::load(ctx);
    const int64_t cols = t.size(1);
    auto grad_t = torch::empty_like(t);
    // One bias-gradient row per thread, summed at the end.
    auto partial = torch::zeros({at::get_num_threads(), cols}, b.options());
    const float* bp = b.data_ptr<float>();
    float* pp = partial.data_ptr<float>();
    elements::with_type(t, [&](auto* type) {
      using T = std::remove_pointer_t<decltype(type)>;
      at::parallel_for(0, t.size(0), grain_rows(cols), [&](int64_t begin, int64_t end) {
        const int64_t first = begin * cols;
        gelu_dropout_backward_rows(elements::of<T>(grad_y) + first, elements::of<T>(t) + first, bp,
                                   elements::of<T>(grad_t) + first, pp + at::get_thread_num() * cols, end - begin, cols,
                                   static_cast<uint32_t>(first), mask.seed_a, mask.seed_b, mask.threshold,
                                   mask.scale);
      });
    });
    return {grad_t, partial.sum(0), torch::Tensor()};
  }

};

// CUDA, after a product that is not mlrec's (model.linear = torch): GELU with dropout as one
// kernel each way over the product's output (cuda/gelu_dropout_kernels.cu).
class GeluDropoutCuda : public torch::autograd::Function<GeluDropoutCuda> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& t, double p) {
    auto [y, rng_used] = detail::gelu_dropout_forward_cuda(t, p);
    ctx->save_for_backward({t, rng_used});
    ctx->saved_data["p"] = p;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    return {detail::gelu_dropout_backward_cuda(grads[0], saved[0], saved[1], ctx->saved_data["p"].toDouble()),
            torch::Tensor()};
  }
};

// CUDA with mlrec's product: the product (the bias in cuBLASLt's epilogue), then the GELU and
// dropout kernel; backward's kernel also sums the bias gradient, so the 84 MB gradient of the
// product is read once, not twice.
class LinearGeluDropoutCuda : public torch::autograd::Function<LinearGeluDropoutCuda> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, int64_t type, double p,
                               const torch::Tensor& weight_copy, const torch::Tensor& bias_copy) {
    detail::LinearProduct product;
    const auto t = detail::linear_forward_cuda(x, weight, bias, static_cast<at::ScalarType>(type), product,
                                               weight_copy, bias_copy);
    auto [y, rng_used] = detail::gelu_dropout_forward_cuda(t, p);
    detail::save_linear_product(ctx, product, {t, rng_used});
    ctx->saved_data["p"] = p;
    return y.view(detail::output_sizes(product, weight.size(0)));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& t = saved[2];
    auto [grad_t, grad_bias] = detail::gelu_dropout_backward_with_column_sums_cuda(
        grads[0].reshape(t.sizes()), t, saved[3], ctx->saved_data["p"].toDouble());
    const auto product = detail::saved_linear_product(ctx, saved);
    auto [grad_x, grad_weight] =
        detail::linear_backward_cuda(grad_t, product, ctx->needs_input_grad(0), ctx->needs_input_grad(1));
    // (nothing for the type, p and the bf16 copies)
    return {grad_x,          grad_weight,     ctx->needs_input_grad(2) ? grad_bias : torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

bool float32(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  return x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32 && bias.defined() &&
         bias.scalar_type() == torch::kFloat32;
}

// Under CPU autocast to bf16 the product is bf16 (autocast casts mm's operands), and so are the
// GELU and dropout loops; the bias, float32, is added in float32.
bool autocast_bf16_cpu() {
  return at::autocast::is_autocast_enabled(at::kCPU) &&
         at::autocast::get_autocast_dtype(at::kCPU) == at::kBFloat16;
}

bool runs_fused_cpu(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  const bool types = float32(x, weight, bias) && (!at::autocast::is_autocast_enabled(at::kCPU) || autocast_bf16_cpu());
  const int64_t outputs = x.numel() / std::max<int64_t>(1, x.size(-1)) * weight.size(0);
  return x.device().is_cpu() && types && outputs < (int64_t(1) << 32);  // the dropout counter is 32 bits
}

}  // namespace


torch::Tensor linear_gelu_dropout(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                  double p, bool training, bool fused, bool linear_kernels, const Bf16Copy& copy) {
  RECORD_FUNCTION("mlrec::linear_gelu_dropout", std::vector<c10::IValue>({x, weight}));
  const double drop = training ? p : 0.0;
  // (the product's type also decides the kernels' own: bf16 under bf16 autocast, else float32)
  if (fused && drop > 0 && drop < 1) {
    if (const auto type = detail::cuda_linear_type(x, weight, bias)) {
      if (linear_kernels) {
        return LinearGeluDropoutCuda::apply(x, weight, bias, static_cast<int64_t>(*type), drop, copy.weight,
                                            copy.bias);
      }
      return GeluDropoutCuda::apply(at::linear(x, weight, bias).contiguous(), drop);
    }
  }
  if (!fused || !runs_fused_cpu(x, weight, bias) || drop >= 1) {
    return ops::dropout(torch::gelu(ops::linear(x, weight, bias, linear_kernels, copy)), p, training);
  }
  auto sizes = x.sizes().vec();
  sizes.back() = weight.size(0);
  auto t = at::mm(x.reshape({-1, x.size(-1)}), weight.t());
  return BiasGeluDropout::apply(t, bias, drop).view(sizes);
}

}  // namespace mlrec::ops
