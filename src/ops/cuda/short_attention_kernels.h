// The CUDA kernels behind short_attention (src/ops/short_attention.cpp); internal.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>

namespace mlrec::ops::detail {

/// Largest window the kernels take (per-thread score rows live in registers).
constexpr int64_t kShortAttentionMaxLength = 32;

/// Shared memory the kernels need for one sample, in bytes (the larger of forward and backward).
int64_t short_attention_shared_bytes(int64_t length, int64_t dim, int64_t heads);

/// qkv: float [B, L, 3 * dim] contiguous (query, key, value as in_proj packs them); pad: bool
/// [B, L] contiguous, true where the key is padding. Returns (out [B, L, dim], probs and
/// dropped probs [B, heads, L, L]): the softmax and the softmax after dropout, for backward.
std::tuple<at::Tensor, at::Tensor, at::Tensor> short_attention_forward_cuda(
    const at::Tensor& qkv, const at::Tensor& pad, int64_t heads, double dropout_p, double scale);

/// The gradient with respect to qkv, [B, L, 3 * dim].
at::Tensor short_attention_backward_cuda(const at::Tensor& grad_out, const at::Tensor& qkv,
                                         const at::Tensor& probs, const at::Tensor& dropped, int64_t heads,
                                         double dropout_p, double scale);

}  // namespace mlrec::ops::detail
