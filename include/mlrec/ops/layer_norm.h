// LayerNorm for the encoder (model.layer_norm). On CUDA, for rows of at most 256 float32
// features, mlrec's kernels (src/ops/cuda/layer_norm_kernels.cu): one warp per row, forward and
// backward one kernel each plus a sum over blocks for the weight and bias gradients, where
// torch's kernels, built for wide rows, spend several times the memory time on the BST's
// 120-feature rows. Elsewhere torch's layer_norm.
#pragma once

#include <torch/torch.h>

namespace mlrec::ops {

/// Whether layer_norm with `use_kernels` runs mlrec's kernels on x: float32 on CUDA, at most 256
/// features, in a build with the kernels.
bool layer_norm_kernels_support(const torch::Tensor& x);

/// torch::layer_norm(x, {features}, weight, bias, eps) over the last dimension; through
/// mlrec's kernels where `use_kernels` and they support x.
torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                         bool use_kernels);

}  // namespace mlrec::ops
