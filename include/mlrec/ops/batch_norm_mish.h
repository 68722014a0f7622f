// The sequence models' MLP blocks end in mish(BatchNorm1d(x)) (model.batch_norm). In training,
// on CUDA with float32 or bfloat16 activations, mlrec's kernels
// (src/ops/cuda/batch_norm_mish_kernels.cu) run it as one kernel forward, batch and running
// statistics included, and one backward, instead of torch's 5 BatchNorm and 2 Mish kernels. On
// the CPU, float32 or bfloat16, torch's batch_norm and then mlrec's Mish
// (src/ops/cpu/mish_kernels.cpp: one exp per element where torch's takes three transcendental
// functions). Elsewhere, and on CUDA in evaluation (running statistics), torch's batch_norm and
// mish.
#pragma once

#include <torch/torch.h>

namespace mlrec::ops {

/// mish(norm(x)) for x [rows, features], with norm's parameters, running statistics and mode
/// (norm->is_training()); through mlrec's kernels where `use_kernels` and they take the case:
/// on CUDA training, float32 or bfloat16 x (the output in x's type) with more than one row,
/// affine, tracked statistics with a momentum; on the CPU the Mish of float32 or bfloat16 values.
torch::Tensor batch_norm_mish(const torch::Tensor& x, torch::nn::BatchNorm1d& norm, bool use_kernels);

}  // namespace mlrec::ops
