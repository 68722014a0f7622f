// Column sums on CUDA, for bias gradients (src/ops/linear.cpp) and the LayerNorm kernels'
// per-block partial sums; internal.
#pragma once

#include <ATen/core/Tensor.h>

namespace mlrec::ops::detail {

/// x.sum(0) for a contiguous float32 or bfloat16 CUDA matrix x [rows, cols], as a float32 [cols]
/// tensor (added up in float32).
at::Tensor column_sums_cuda(const at::Tensor& x);

}  // namespace mlrec::ops::detail
