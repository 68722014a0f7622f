// The post-norm encoder's residual step, LayerNorm(x + dropout(sublayer output)), for
// model.residual_norm. On CUDA, for rows of at most 256 float32 features with a float32 or bf16
// sublayer output, mlrec's kernels (src/ops/cuda/residual_layer_norm_kernels.cu): the dropout,
// the add and the LayerNorm as one kernel each way. Elsewhere the separate ops: ops::dropout,
// the add, ops::layer_norm.
#pragma once

#include <torch/torch.h>

namespace mlrec::ops {

/// Whether dropout_add_layer_norm with `use_kernels` runs mlrec's kernels on (x, sublayer).
bool dropout_add_layer_norm_kernels_support(const torch::Tensor& x, const torch::Tensor& sublayer);

/// layer_norm(x + dropout(sublayer, p, training), weight, bias, eps) over the last dimension;
/// through mlrec's fused kernels where `use_kernels` and they support the inputs, else the
/// separate ops (layer_norm's own kernels where `layer_norm_kernels`). The fused dropout draws
/// its mask from torch's CUDA generator as mlrec's GELU + dropout does (src/ops/philox.h), so it
/// differs from torch's dropout's mask but not in distribution; the result is float32.
torch::Tensor dropout_add_layer_norm(const torch::Tensor& x, const torch::Tensor& sublayer, double p, bool training,
                                     const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                                     bool use_kernels, bool layer_norm_kernels);

}  // namespace mlrec::ops
