// Self-attention for short windows (model.attention = auto or short). On CUDA one fused kernel
// per direction instead of torch's ~12 (src/ops/cuda/short_attention_kernels.cu). On the CPU one pass per sample over
// all heads (src/ops/cpu/short_attention_kernels.cpp) instead of torch's 12,288 tiny batched
// GEMMs, softmax and Bernoulli dropout; its dropout is mlrec's hash dropout (ops/dropout.h),
// and backward reads the forward's attention weights. Measured faster than torch's on both, it
// is the default (BENCHMARKS.md, "Why each kernel exists").
#pragma once

#include <ATen/core/Tensor.h>

namespace mlrec::ops {

/// Whether short_attention takes these inputs: float32 CPU tensors (no autocast) of at most 32
/// tokens; or, in a build with the CUDA kernels, CUDA tensors of at most 32 tokens whose
/// sample fits 48 KiB of shared memory.
bool short_attention_supports(const at::Tensor& qkv, int64_t heads);

/// qkv: [B, L, 3 * dim] as an input projection packs query, key and value (on CUDA any float
/// dtype, computed in fp32); pad_mask: bool [B, L], true where a key is padding. Returns
/// softmax(q k^T / sqrt(head_dim), padded keys masked) with dropout, times v, as [B, L, dim]
/// (float). Differentiable with respect to qkv.
at::Tensor short_attention(const at::Tensor& qkv, const at::Tensor& pad_mask, int64_t heads, double dropout_p);

}  // namespace mlrec::ops
