// The CUDA kernels behind linear_gelu_dropout (src/models/feed_forward.cpp); internal.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>

namespace mlrec::models::detail {

/// y = gelu(t) * mask / (1 - p) for a contiguous float CUDA tensor t, 0 < p < 1, with the exact
/// (erf) GELU. Returns y and the Philox seed and offset the mask came from (int64 [2], on the
/// device), which backward takes to draw the same mask.
std::tuple<at::Tensor, at::Tensor> gelu_dropout_forward_cuda(const at::Tensor& t, double p);

/// The gradient with respect to t: grad_y * mask / (1 - p) * gelu'(t).
at::Tensor gelu_dropout_backward_cuda(const at::Tensor& grad_y, const at::Tensor& t, const at::Tensor& rng_used,
                                      double p);

}  // namespace mlrec::models::detail
