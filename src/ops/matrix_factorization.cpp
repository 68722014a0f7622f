#include "mlrec/ops/matrix_factorization.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

#include "mlrec/ops/cuda_kernels.h"
#include "mlrec/ops/embedding.h"
#include "ops/cuda/mf_kernels.h"

namespace mlrec::ops {
namespace {

// (user_factors, item_factors, user_bias, item_bias, user, item, low, scale, padding_idx)
class MfPredictCuda : public torch::autograd::Function<MfPredictCuda> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& user_factors,
                               const torch::Tensor& item_factors, const torch::Tensor& user_bias,
                               const torch::Tensor& item_bias, const torch::Tensor& user, const torch::Tensor& item,
                               double low, double scale, int64_t padding_idx) {
    auto [prediction, sigmoid] =
        detail::mf_forward_cuda(user_factors, item_factors, user_bias, item_bias, user, item, low, scale);
    ctx->save_for_backward({user_factors, item_factors, user, item, sigmoid});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["padding_idx"] = padding_idx;
    ctx->saved_data["user_bias_rows"] = user_bias.size(0);
    ctx->saved_data["item_bias_rows"] = item_bias.size(0);
    return prediction;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto [user_factors, item_factors, user_bias, item_bias] = detail::mf_backward_cuda(
        grads[0], saved[4], saved[0], saved[1], ctx->saved_data["user_bias_rows"].toInt(),
        ctx->saved_data["item_bias_rows"].toInt(), saved[2], saved[3], ctx->saved_data["scale"].toDouble(),
        ctx->saved_data["padding_idx"].toInt());
    return {user_factors, item_factors, user_bias, item_bias, torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

int64_t padding_of(const torch::nn::Embedding& table) {
  const auto& padding = table->options.padding_idx();
  return padding ? *padding : -1;
}

bool dense_float32(const torch::nn::Embedding& table) {
  return !table->options.sparse() && table->weight.scalar_type() == torch::kFloat32 && table->weight.is_contiguous();
}

}  // namespace

bool mf_kernels_support(const MfTables& t, const torch::Tensor& user) {
  const int64_t padding = padding_of(t.user_factors);
  return user.is_cuda() && cuda_kernels_run_on(user.get_device()) && dense_float32(t.user_factors) &&
         dense_float32(t.item_factors) && dense_float32(t.user_bias) && dense_float32(t.item_bias) &&
         t.user_bias->weight.size(1) == 1 && t.item_bias->weight.size(1) == 1 &&
         padding_of(t.item_factors) == padding && padding_of(t.user_bias) == padding &&
         padding_of(t.item_bias) == padding;
}

torch::Tensor mf_predict(const MfTables& t, const torch::Tensor& user, const torch::Tensor& item, double low,
                         double high, bool use_kernels, EmbeddingBackward embedding_backward) {
  RECORD_FUNCTION("mlrec::mf_predict", std::vector<c10::IValue>({user, item}));
  if (use_kernels && mf_kernels_support(t, user)) {
    return MfPredictCuda::apply(t.user_factors->weight, t.item_factors->weight, t.user_bias->weight,
                                t.item_bias->weight, user, item, low, high - low, padding_of(t.user_factors));
  }
  const auto b = embedding_backward;
  auto dot = (lookup(t.user_factors, user, b) * lookup(t.item_factors, item, b)).sum(1);
  auto score = dot + lookup(t.user_bias, user, b).squeeze(1) + lookup(t.item_bias, item, b).squeeze(1);
  return torch::sigmoid(score) * (high - low) + low;
}

}  // namespace mlrec::ops
