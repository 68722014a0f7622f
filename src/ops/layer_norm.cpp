#include "mlrec/ops/layer_norm.h"

#include <ATen/record_function.h>

#include "mlrec/ops/cuda_kernels.h"

#include "ops/cuda/layer_norm_kernels.h"

namespace mlrec::ops {

namespace {

class LayerNormCuda : public torch::autograd::Function<LayerNormCuda> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
    auto [y, mean, rstd] = detail::layer_norm_forward_cuda(x, weight, bias, eps);
    ctx->save_for_backward({x, weight, mean, rstd});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto [grad_x, grad_weight, grad_bias] =
        detail::layer_norm_backward_cuda(grads[0], saved[0], saved[1], saved[2], saved[3]);
    return {grad_x, grad_weight, grad_bias, torch::Tensor()};
  }
};

}  // namespace


bool layer_norm_kernels_support(const torch::Tensor& x) {
  return x.is_cuda() && cuda_kernels_run_on(x.get_device()) && x.scalar_type() == torch::kFloat32 && x.dim() >= 1 &&
         x.size(-1) >= 1 && x.size(-1) <= detail::kLayerNormMaxDim;
}

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                         bool use_kernels) {
  RECORD_FUNCTION("mlrec::layer_norm", std::vector<c10::IValue>({x}));
  if (use_kernels && layer_norm_kernels_support(x) && weight.scalar_type() == torch::kFloat32 &&
      bias.scalar_type() == torch::kFloat32) {
    return LayerNormCuda::apply(x.contiguous(), weight.contiguous(), bias.contiguous(), eps);
  }
  return torch::layer_norm(x, {x.size(-1)}, weight, bias, eps);
}

}  // namespace mlrec::ops
