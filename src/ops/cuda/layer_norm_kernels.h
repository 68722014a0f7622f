// The CUDA kernels behind ops::layer_norm (src/ops/layer_norm.cpp); internal.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>

namespace mlrec::ops::detail {

/// Widest row the kernels take (each lane of a warp holds dim / 32 of a row in registers).
constexpr int64_t kLayerNormMaxDim = 256;

/// LayerNorm over the last dimension of a contiguous float CUDA tensor, with weight and bias of
/// that size. Returns (y, mean, rstd), the last two per row, for backward.
std::tuple<at::Tensor, at::Tensor, at::Tensor> layer_norm_forward_cuda(const at::Tensor& x, const at::Tensor& weight,
                                                                       const at::Tensor& bias, double eps);

/// (grad_x, grad_weight, grad_bias).
std::tuple<at::Tensor, at::Tensor, at::Tensor> layer_norm_backward_cuda(const at::Tensor& grad_y, const at::Tensor& x,
                                                                        const at::Tensor& weight, const at::Tensor& mean,
                                                                        const at::Tensor& rstd);

}  // namespace mlrec::ops::detail
