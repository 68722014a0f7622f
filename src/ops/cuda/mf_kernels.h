// The CUDA kernels behind ops::mf_predict (src/ops/matrix_factorization.cpp); internal.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>

namespace mlrec::ops::detail {

/// For each b: s = sigmoid(U[user[b]] . I[item[b]] + bu[user[b]] + bi[item[b]]); returns
/// (s * scale + low, s). U [users, F] and I [items, F] contiguous float32 CUDA tables, bu and bi
/// [rows, 1]; user and item int32 or int64 index vectors of one length (any stride).
std::tuple<at::Tensor, at::Tensor> mf_forward_cuda(const at::Tensor& user_factors, const at::Tensor& item_factors,
                                                   const at::Tensor& user_bias, const at::Tensor& item_bias,
                                                   const at::Tensor& user, const at::Tensor& item, double low,
                                                   double scale);

/// The four tables' gradients (dense, zero but for the rows looked up) for the upstream gradient
/// grad [B] of the prediction; rows equal to padding_idx (if >= 0) get none, as nn.Embedding's.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> mf_backward_cuda(
    const at::Tensor& grad, const at::Tensor& sigmoid, const at::Tensor& user_factors,
    const at::Tensor& item_factors, int64_t user_bias_rows, int64_t item_bias_rows, const at::Tensor& user,
    const at::Tensor& item, double scale, int64_t padding_idx);

}  // namespace mlrec::ops::detail
