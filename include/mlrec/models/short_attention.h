// Self-attention for short windows on CUDA (model.attention = short): one fused kernel per
// direction instead of torch's ~12 (see src/models/short_attention_kernels.cu). Opt-in until it
// is measured on a GPU against torch's path (BENCHMARKS.md).
#pragma once

#include <ATen/core/Tensor.h>

namespace mlrec::models {

/// Whether this build has the kernels (compiled where CMake found a CUDA compiler).
bool short_attention_built();

/// Whether short_attention takes these inputs: a build with the kernels, CUDA tensors, at most
/// 32 tokens, and one sample's working set within 48 KiB of shared memory.
bool short_attention_supports(const at::Tensor& qkv, int64_t heads);

/// qkv: [B, L, 3 * dim] as an input projection packs query, key and value (any float dtype; the
/// kernels compute in fp32); pad_mask: bool [B, L], true where a key is padding. Returns
/// softmax(q k^T / sqrt(head_dim), padded keys masked) with dropout, times v, as [B, L, dim]
/// (float). Differentiable with respect to qkv.
at::Tensor short_attention(const at::Tensor& qkv, const at::Tensor& pad_mask, int64_t heads, double dropout_p);

}  // namespace mlrec::models
