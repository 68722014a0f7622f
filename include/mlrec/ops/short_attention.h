// Self-attention for short windows (model.attention = auto or short). On CUDA one fused kernel
// per direction instead of torch's ~12 (src/ops/cuda/short_attention_kernels.cu). On the CPU one pass per sample over
// all heads (src/ops/cpu/short_attention_kernels.cpp) instead of torch's 12,288 tiny batched
// GEMMs, softmax and Bernoulli dropout; its dropout is mlrec's hash dropout (ops/dropout.h),
// and backward reads the forward's attention weights. Measured faster than torch's on both, it
// is the default (BENCHMARKS.md, "Why each kernel exists").
#pragma once

#include <ATen/core/Tensor.h>

namespace mlrec::ops {

/// Whether short_attention takes these inputs: float32 or bfloat16 CPU tensors of at most 32
/// tokens; or, in a build with the CUDA kernels, CUDA tensors of at most 32 tokens whose
/// sample fits 48 KiB of shared memory.
bool short_attention_supports(const at::Tensor& qkv, int64_t heads);

/// Which CUDA kernels short_attention runs (the CPU has one version): kV2, the rewrite (scores
/// in registers, the dropout mask drawn again in backward, bf16 in and out), or kV1, the first
/// version (float32; measured on an H200), which model.attention = auto keeps on CUDA until a
/// GPU has tested and measured kV2.
enum class ShortAttentionCuda { kV2, kV1 };

/// qkv: [B, L, 3 * dim] as an input projection packs query, key and value (computed in fp32);
/// pad_mask: bool [B, L], true where a key is padding. Returns softmax(q k^T / sqrt(head_dim),
/// padded keys masked) with dropout, times v, as [B, L, dim]: on the CPU and with kV2 bfloat16
/// for bfloat16 qkv (as torch's attention returns under bf16 autocast), else float32.
/// Differentiable with respect to qkv.
at::Tensor short_attention(const at::Tensor& qkv, const at::Tensor& pad_mask, int64_t heads, double dropout_p,
                           ShortAttentionCuda cuda = ShortAttentionCuda::kV2);

}  // namespace mlrec::ops
