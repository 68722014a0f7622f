// x W^T + b for the sequence models' linear layers (model.linear). On CUDA, for float32 inputs
// without autocast and under bf16 autocast (float32 parameters), mlrec's version: the same
// GEMMs as ATen's linear (forward addmm, whose cuBLASLt epilogue adds the bias; backward two
// mm), with the bias gradient summed by mlrec's column-sum kernel
// (src/ops/cuda/column_sums_kernels.cu) instead of torch's reduction, several times slower than
// these sums need (BENCHMARKS.md, "Why each kernel exists"). Elsewhere ATen's linear, which
// flattens leading dimensions into one addmm as Python's nn.Linear does.
#pragma once

#include <torch/torch.h>

namespace mlrec::ops {

/// x [..., in] W^T [in, out] + b [out]; through mlrec's backward where `use_kernels` and x,
/// weight and bias are float32 CUDA tensors, with autocast off or in bf16 (x may then be bf16:
/// the product runs in bf16 and the output is bf16, as autocast runs at::linear).
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                     bool use_kernels);

}  // namespace mlrec::ops
