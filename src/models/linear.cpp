#include "mlrec/models/linear.h"

#include <ATen/autocast_mode.h>

#ifdef MLREC_WITH_CUDA_KERNELS
#include "column_sums_kernels.h"
#endif

namespace mlrec::models {

#ifdef MLREC_WITH_CUDA_KERNELS
namespace {

class LinearCuda : public torch::autograd::Function<LinearCuda> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    const auto rows = x.reshape({-1, x.size(-1)});
    ctx->save_for_backward({rows, weight});
    ctx->saved_data["sizes"] = x.sizes().vec();
    auto sizes = x.sizes().vec();
    sizes.back() = weight.size(0);
    return at::addmm(bias, rows, weight.t()).view(sizes);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& rows = saved[0];
    const auto& weight = saved[1];
    const auto grad = grads[0].reshape({-1, weight.size(0)}).contiguous();
    torch::Tensor grad_x, grad_weight, grad_bias;
    if (ctx->needs_input_grad(0)) grad_x = at::mm(grad, weight).view(ctx->saved_data["sizes"].toIntVector());
    if (ctx->needs_input_grad(1)) grad_weight = at::mm(grad.t(), rows);
    if (ctx->needs_input_grad(2)) grad_bias = detail::column_sums_cuda(grad);
    return {grad_x, grad_weight, grad_bias};
  }
};

}  // namespace
#endif


torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                     bool use_kernels) {
#ifdef MLREC_WITH_CUDA_KERNELS
  if (use_kernels && x.is_cuda() && bias.defined() && x.dim() >= 1 && x.scalar_type() == torch::kFloat32 &&
      weight.scalar_type() == torch::kFloat32 && bias.scalar_type() == torch::kFloat32 &&
      !at::autocast::is_autocast_enabled(at::kCUDA)) {
    return LinearCuda::apply(x, weight, bias);
  }
#else
  (void)use_kernels;
#endif
  return at::linear(x, weight, bias);
}

}  // namespace mlrec::models
