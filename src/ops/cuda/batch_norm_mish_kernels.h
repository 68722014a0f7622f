// The CUDA kernels behind ops::batch_norm_mish (src/ops/batch_norm_mish.cpp); internal.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>

namespace mlrec::ops::detail {

/// mish(batch_norm(x)) in training for a contiguous float32 or bfloat16 CUDA x [rows, columns]
/// (float32 parameters and statistics; the output in x's type) with batch statistics; updates running_mean and running_var in place as torch does (unless undefined).
/// Returns (out, mean, rstd), the last two per column, for backward.
std::tuple<at::Tensor, at::Tensor, at::Tensor> batch_norm_mish_forward_cuda(
    const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& running_mean,
    const at::Tensor& running_var, double momentum, double eps);

/// (grad_x in x's type, grad_weight, grad_bias).
std::tuple<at::Tensor, at::Tensor, at::Tensor> batch_norm_mish_backward_cuda(
    const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
    const at::Tensor& mean, const at::Tensor& rstd);

}  // namespace mlrec::ops::detail
