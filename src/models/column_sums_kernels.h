// Column sums on CUDA, for bias gradients (src/models/linear.cpp) and the LayerNorm kernels'
// per-block partial sums; internal.
#pragma once

#include <ATen/core/Tensor.h>

namespace mlrec::models::detail {

/// x.sum(0) for a contiguous float CUDA matrix x [rows, cols], as a [cols] tensor.
at::Tensor column_sums_cuda(const at::Tensor& x);

}  // namespace mlrec::models::detail
