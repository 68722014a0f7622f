// The CUDA kernels behind ops::dropout_add_layer_norm (src/ops/residual_layer_norm.cpp); internal.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>

namespace mlrec::ops::detail {

/// Widest row the kernels take (each lane of a warp holds 8 adjacent features of a row).
constexpr int64_t kResidualNormMaxDim = 256;

/// y = LayerNorm(x + dropout(a)) over the last dimension: x a contiguous float32 CUDA tensor, a
/// one of x's shape in float32 or bfloat16, weight and bias float32 of the last dimension's size,
/// 0 <= p < 1 (0: no dropout). Element e of a (flat index) is kept when bit e % 8 of
/// philox::keep_bits8(seed, offset, e / 8, threshold) is set, and scaled by
/// philox::dropout16(p).scale. Returns (y, s = x + dropout(a), mean, rstd, rng_used): backward
/// takes s and the per-row statistics, and rng_used (int64 [2] on the device: the seed and offset
/// drawn; undefined when p = 0) to draw the same mask.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> dropout_add_layer_norm_forward_cuda(
    const at::Tensor& x, const at::Tensor& a, const at::Tensor& weight, const at::Tensor& bias, double p, double eps);

/// (grad_x, grad_a in a_type, grad_weight, grad_bias).
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> dropout_add_layer_norm_backward_cuda(
    const at::Tensor& grad_y, const at::Tensor& s, const at::Tensor& weight, const at::Tensor& mean,
    const at::Tensor& rstd, const at::Tensor& rng_used, double p, at::ScalarType a_type);

}  // namespace mlrec::ops::detail
