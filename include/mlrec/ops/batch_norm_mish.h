// The sequence models' MLP blocks end in mish(BatchNorm1d(x)) (model.batch_norm). In training,
// on CUDA with float32 or bfloat16 activations, mlrec's kernels
// (src/ops/cuda/batch_norm_mish_kernels.cu) run it as one kernel forward, batch and running
// statistics included, and one backward, instead of torch's 5 BatchNorm and 2 Mish kernels. Elsewhere, and in evaluation (running statistics),
// torch's batch_norm and mish.
#pragma once

#include <torch/torch.h>

namespace mlrec::ops {

/// mish(norm(x)) for x [rows, features], with norm's parameters, running statistics and mode
/// (norm->is_training()); through mlrec's kernels where `use_kernels` and they take the case:
/// training, float32 or bfloat16 CUDA x (the output in x's type) with more than one row, affine,
/// tracked statistics with a momentum.
torch::Tensor batch_norm_mish(const torch::Tensor& x, torch::nn::BatchNorm1d& norm, bool use_kernels);

}  // namespace mlrec::ops
