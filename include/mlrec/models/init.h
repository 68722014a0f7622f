#pragma once

#include <torch/torch.h>

namespace mlrec::models {

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

}  // namespace mlrec::models
