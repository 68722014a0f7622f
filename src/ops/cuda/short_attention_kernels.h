// The CUDA kernels behind short_attention (src/ops/short_attention.cpp), and their first version
// (short_attention_v1_kernels.cu) until a GPU has measured the rewrite; internal.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>

namespace mlrec::ops::detail {

/// Largest window the kernels take (per-thread score rows live in registers).
constexpr int64_t kShortAttentionMaxLength = 32;

/// Shared memory the kernels need for one sample, in bytes (the larger of forward and backward).
int64_t short_attention_shared_bytes(int64_t length, int64_t dim, int64_t heads);

/// qkv: float32 or bfloat16 [B, L, 3 * dim] contiguous (query, key, value as in_proj packs them;
/// computed in float32); pad: bool [B, L] contiguous, true where the key is padding; 0 <= p < 1.
/// Returns (out [B, L, dim] in qkv's type, the softmax [B, heads, L, L] in float32 for backward,
/// rng_used): with dropout, weight e of the flat [B, heads, L, L] is kept when bit e % 8 of
/// philox::keep_bits8(seed, offset, e / 8, threshold) is set and scaled by philox::dropout16(p)'s
/// scale; rng_used holds that seed and offset (int64 [2] on the device, written by the kernel;
/// undefined when p = 0), which backward takes to draw the same mask.
std::tuple<at::Tensor, at::Tensor, at::Tensor> short_attention_forward_cuda(
    const at::Tensor& qkv, const at::Tensor& pad, int64_t heads, double dropout_p, double scale);

/// The gradient with respect to qkv, [B, L, 3 * dim] in qkv's type.
at::Tensor short_attention_backward_cuda(const at::Tensor& grad_out, const at::Tensor& qkv, const at::Tensor& probs,
                                         const at::Tensor& rng_used, int64_t heads, double dropout_p, double scale);

/// The first version (short_attention_v1_kernels.cu): qkv float32; returns (out, the softmax, the
/// weights after dropout), the last two float32 [B, heads, L, L] for backward.
std::tuple<at::Tensor, at::Tensor, at::Tensor> short_attention_v1_forward_cuda(
    const at::Tensor& qkv, const at::Tensor& pad, int64_t heads, double dropout_p, double scale);

at::Tensor short_attention_v1_backward_cuda(const at::Tensor& grad_out, const at::Tensor& qkv,
                                            const at::Tensor& probs, const at::Tensor& dropped, int64_t heads,
                                            double dropout_p, double scale);

}  // namespace mlrec::ops::detail
