// Matrix factorisation's prediction as one operator (models/mf.h). On CUDA, with mlrec's kernels
// (model.mf_kernel), one kernel forward and one backward instead of ~27 small kernels of
// torch's ops, the likely bound of an MF step inside a CUDA graph; elsewhere torch's ops.
#pragma once

#include <torch/nn/modules/embedding.h>

#include "mlrec/ops/embedding.h"

namespace mlrec::ops {

/// The four tables of an MF model: user and item factors [rows, F], their biases [rows, 1].
struct MfTables {
  torch::nn::Embedding& user_factors;
  torch::nn::Embedding& item_factors;
  torch::nn::Embedding& user_bias;
  torch::nn::Embedding& item_bias;
};

/// Whether mf_predict runs mlrec's kernels for these tables and indices: CUDA (the kernels built
/// for its GPU), float32 tables with dense gradients, one padding row for all four.
bool mf_kernels_support(const MfTables& tables, const torch::Tensor& user);

/// sigmoid(U[user] . I[item] + bu[user] + bi[item]) * (high - low) + low for each sample, with
/// its gradients to the four tables (none to their padding rows). `use_kernels` asks for mlrec's
/// kernels where mf_kernels_support says they apply; torch's ops look the rows up with
/// `embedding_backward`.
torch::Tensor mf_predict(const MfTables& tables, const torch::Tensor& user, const torch::Tensor& item, double low,
                         double high, bool use_kernels,
                         EmbeddingBackward embedding_backward = EmbeddingBackward::kIndexAdd);

}  // namespace mlrec::ops
