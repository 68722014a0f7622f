#include "mlrec/ops/embedding.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

#include "mlrec/ops/cuda_kernels.h"
#include "ops/cuda/embedding_kernels.h"

namespace mlrec::ops {
namespace {

class ScatterAddEmbedding : public torch::autograd::Function<ScatterAddEmbedding> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& weight,
                               const torch::Tensor& indices, int64_t padding_idx, bool mlrec_kernel) {
    ctx->save_for_backward({indices});
    ctx->saved_data["rows"] = weight.size(0);
    ctx->saved_data["padding_idx"] = padding_idx;
    ctx->saved_data["mlrec_kernel"] = mlrec_kernel;
    return at::embedding(weight, indices, padding_idx);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto indices = ctx->get_saved_variables()[0];
    const int64_t rows = ctx->saved_data["rows"].toInt();
    const int64_t padding_idx = ctx->saved_data["padding_idx"].toInt();
    const auto& grad = grads[0];
    if (ctx->saved_data["mlrec_kernel"].toBool() && grad.scalar_type() == at::kFloat) {
      return {detail::embedding_backward_cuda(grad, indices, rows, padding_idx), torch::Tensor(), torch::Tensor(),
              torch::Tensor()};
    }
    const int64_t dim = grad.size(-1);
    auto grad_weight = torch::zeros({rows, dim}, grad.options());
    grad_weight.index_add_(0, indices.reshape({-1}), grad.reshape({-1, dim}));
    if (padding_idx >= 0) grad_weight.select(0, padding_idx).zero_();
    return {grad_weight, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor scatter_add_embedding(const torch::Tensor& weight, const torch::Tensor& indices,
                                    int64_t padding_idx, EmbeddingBackward backward) {
  const bool mlrec_kernel = backward == EmbeddingBackward::kMlrec && weight.is_cuda() &&
                            weight.scalar_type() == at::kFloat && cuda_kernels_run_on(weight.get_device());
  return ScatterAddEmbedding::apply(weight, indices, padding_idx, mlrec_kernel);
}

torch::Tensor lookup(torch::nn::Embedding& table, const torch::Tensor& indices, EmbeddingBackward backward) {
  RECORD_FUNCTION("mlrec::lookup", std::vector<c10::IValue>({indices}));
  // A sparse table's backward makes its gradient from the indices and rows as they are (no
  // scatter at all): the module's own lookup.
  if (!indices.is_cuda() || table->options.sparse()) return table(indices);
  const auto& padding = table->options.padding_idx();
  return scatter_add_embedding(table->weight, indices, padding ? *padding : -1, backward);
}

}  // namespace mlrec::ops
