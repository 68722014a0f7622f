// The CUDA kernels behind linear_gelu_dropout (src/ops/feed_forward.cpp); internal.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>

namespace mlrec::ops::detail {

/// y = gelu(t) * mask * scale for a contiguous float32 or bfloat16 CUDA tensor t, 0 < p < 1,
/// with the exact (erf) GELU; y has t's type. The mask drops p of the elements to within 2^-17
/// and scale makes its expectation exactly 1 (philox::dropout16). Returns y and the Philox seed
/// and offset the mask came from (int64 [2], on the device), which backward takes to draw the
/// same mask.
std::tuple<at::Tensor, at::Tensor> gelu_dropout_forward_cuda(const at::Tensor& t, double p);

/// The gradient with respect to t: grad_y * mask * scale * gelu'(t), in t's type.
at::Tensor gelu_dropout_backward_cuda(const at::Tensor& grad_y, const at::Tensor& t, const at::Tensor& rng_used,
                                      double p);

/// The same for a matrix t [rows, cols], and the gradient's column sums as float32 [cols] (the
/// bias gradient of the linear layer whose output t is), added up in the same pass.
std::tuple<at::Tensor, at::Tensor> gelu_dropout_backward_with_column_sums_cuda(const at::Tensor& grad_y,
                                                                              const at::Tensor& t,
                                                                              const at::Tensor& rng_used, double p);

}  // namespace mlrec::ops::detail
