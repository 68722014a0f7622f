#include "mlrec/models/short_attention.h"

#include <torch/torch.h>

#include <cmath>

#ifdef MLREC_WITH_CUDA_KERNELS
#include "short_attention_kernels.h"
#endif

namespace mlrec::models {

#ifdef MLREC_WITH_CUDA_KERNELS
namespace {

class ShortAttentionFunction : public torch::autograd::Function<ShortAttentionFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& qkv,
                               const torch::Tensor& pad_mask, int64_t heads, double dropout_p) {
    const double scale = 1.0 / std::sqrt(double(qkv.size(2) / 3 / heads));
    auto [out, probs, dropped] =
        detail::short_attention_forward_cuda(qkv, pad_mask.contiguous(), heads, dropout_p, scale);
    ctx->save_for_backward({qkv, probs, dropped});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["dropout_p"] = dropout_p;
    ctx->saved_data["scale"] = scale;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto grad_qkv = detail::short_attention_backward_cuda(
        grads[0], saved[0], saved[1], saved[2], ctx->saved_data["heads"].toInt(),
        ctx->saved_data["dropout_p"].toDouble(), ctx->saved_data["scale"].toDouble());
    return {grad_qkv, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace
#endif

bool short_attention_built() {
#ifdef MLREC_WITH_CUDA_KERNELS
  return true;
#else
  return false;
#endif
}

bool short_attention_supports(const at::Tensor& qkv, int64_t heads) {
#ifdef MLREC_WITH_CUDA_KERNELS
  if (!qkv.is_cuda() || qkv.dim() != 3 || heads < 1 || qkv.size(2) % (3 * heads) != 0) return false;
  const int64_t length = qkv.size(1), dim = qkv.size(2) / 3;
  return length >= 1 && length <= detail::kShortAttentionMaxLength &&
         detail::short_attention_shared_bytes(length, dim, heads) <= 48 * 1024;
#else
  (void)qkv;
  (void)heads;
  return false;
#endif
}

at::Tensor short_attention(const at::Tensor& qkv, const at::Tensor& pad_mask, int64_t heads, double dropout_p) {
  TORCH_CHECK(short_attention_supports(qkv, heads), "short attention: unsupported input (",
              short_attention_built() ? "needs CUDA, <= 32 tokens, a small model" : "built without CUDA kernels",
              ")");
#ifdef MLREC_WITH_CUDA_KERNELS
  return ShortAttentionFunction::apply(qkv.to(torch::kFloat32).contiguous(), pad_mask, heads, dropout_p);
#else
  (void)pad_mask;
  (void)dropout_p;
  return {};
#endif
}

}  // namespace mlrec::models
