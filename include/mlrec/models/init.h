#pragma once

#include <torch/torch.h>

#include "mlrec/config/config.h"
#include "mlrec/ops/embedding.h"

namespace mlrec::models {

/// model.embedding_backward as the lookups take it (auto: index_add_ until a GPU has tested and
/// measured mlrec's kernel).
inline ops::EmbeddingBackward embedding_backward(const config::Config::Model& options) {
  return options.embedding_backward == "mlrec" ? ops::EmbeddingBackward::kMlrec : ops::EmbeddingBackward::kIndexAdd;
}

/// N(0, std) with the padding row zeroed, as nn.Embedding(padding_idx=...) initialises.
inline void init_embedding(torch::Tensor& weight, double std, int64_t padding_idx = -1) {
  torch::NoGradGuard no_grad;
  if (std > 0) {
    weight.normal_(0.0, std);
  } else {
    weight.zero_();
  }
  if (padding_idx >= 0) weight[padding_idx].zero_();
}

/// A table registered on `module` as `name`: rows x dim, N(0, std), row 0 the padding row (zero,
/// and left without gradient), as MF's tables are.
inline torch::nn::Embedding register_padded_embedding(torch::nn::Module& module, const char* name, int64_t rows,
                                                      int64_t dim, double std) {
  auto e = module.register_module(name, torch::nn::Embedding(torch::nn::EmbeddingOptions(rows, dim).padding_idx(0)));
  init_embedding(e->weight, std, /*padding_idx=*/0);
  return e;
}

}  // namespace mlrec::models
