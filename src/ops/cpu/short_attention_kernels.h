// The loops of mlrec's CPU attention for short windows (ops/short_attention.cpp), torch-free.
// Private to src/models.
#pragma once

#include <cstdint>

#include "ops/hash_mask.h"

namespace mlrec::ops {

constexpr int64_t kShortAttentionCpuMaxLength = 32;

// The attention weights' dropout: element (sample b, head h, query i, key j) has the mask's
// counter ((b * heads + h) * L + i) * L + j.

/// One sample. qkv: [L, 3 * heads * head_dim] (query, key, value, each heads x head_dim);
/// padded: [L], true where the key is padding; out: [L, heads * head_dim]; weights: [heads, L, L]
/// receives the attention weights before dropout, which backward reads. `sample` numbers the
/// sample in the batch (the dropout counter).
void short_attention_cpu_forward(const float* qkv, const bool* padded, float* out, float* weights, int64_t length,
                                 int64_t heads, int64_t head_dim, float scale, int64_t sample,
                                 const hash_mask::Mask& dropout);

/// Gradient of one sample's output with respect to its qkv (written whole into grad_qkv), from
/// the forward's weights.
void short_attention_cpu_backward(const float* qkv, const float* weights, const float* grad_out, float* grad_qkv,
                                  int64_t length, int64_t heads, int64_t head_dim, float scale, int64_t sample,
                                  const hash_mask::Mask& dropout);

}  // namespace mlrec::ops
