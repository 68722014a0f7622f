#include "mlrec/ops/residual_layer_norm.h"

#include <ATen/record_function.h>

#include "mlrec/ops/cuda_kernels.h"
#include "mlrec/ops/dropout.h"
#include "mlrec/ops/layer_norm.h"

#include "ops/cuda/residual_layer_norm_kernels.h"

namespace mlrec::ops {

namespace {

class DropoutAddLayerNormCuda : public torch::autograd::Function<DropoutAddLayerNormCuda> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& sublayer, const torch::Tensor& weight, const torch::Tensor& bias,
                               double p, double eps) {
    auto [y, s, mean, rstd, rng_used] = detail::dropout_add_layer_norm_forward_cuda(x, sublayer, weight, bias, p, eps);
    ctx->save_for_backward({s, weight, mean, rstd, rng_used});
    ctx->saved_data["p"] = p;
    ctx->saved_data["sublayer_type"] = static_cast<int64_t>(sublayer.scalar_type());
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto [grad_x, grad_sublayer, grad_weight, grad_bias] = detail::dropout_add_layer_norm_backward_cuda(
        grads[0], saved[0], saved[1], saved[2], saved[3], saved[4], ctx->saved_data["p"].toDouble(),
        static_cast<at::ScalarType>(ctx->saved_data["sublayer_type"].toInt()));
    return {grad_x, grad_sublayer, grad_weight, grad_bias, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace


bool dropout_add_layer_norm_kernels_support(const torch::Tensor& x, const torch::Tensor& sublayer) {
  return x.is_cuda() && cuda_kernels_run_on(x.get_device()) && x.scalar_type() == torch::kFloat32 && x.dim() >= 1 &&
         x.size(-1) >= 1 && x.size(-1) <= detail::kResidualNormMaxDim && sublayer.sizes() == x.sizes() &&
         sublayer.device() == x.device() &&
         (sublayer.scalar_type() == torch::kFloat32 || sublayer.scalar_type() == torch::kBFloat16);
}

torch::Tensor dropout_add_layer_norm(const torch::Tensor& x, const torch::Tensor& sublayer, double p, bool training,
                                     const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                                     bool use_kernels, bool layer_norm_kernels) {
  RECORD_FUNCTION("mlrec::dropout_add_layer_norm", std::vector<c10::IValue>({x, sublayer}));
  const double drop = training ? p : 0.0;
  if (use_kernels && drop < 1 && dropout_add_layer_norm_kernels_support(x, sublayer) &&
      weight.scalar_type() == torch::kFloat32 && bias.scalar_type() == torch::kFloat32) {
    return DropoutAddLayerNormCuda::apply(x.contiguous(), sublayer.contiguous(), weight.contiguous(),
                                          bias.contiguous(), drop, eps);
  }
  return ops::layer_norm(x + ops::dropout(sublayer, p, training), weight, bias, eps, layer_norm_kernels);
}

}  // namespace mlrec::ops
