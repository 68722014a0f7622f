// The loops of mlrec's CPU attention for short windows (ops/short_attention.cpp), torch-free.
// Private to src/ops.
#pragma once

#include <cstdint>

#include "ops/hash_mask.h"

namespace mlrec::ops {

constexpr int64_t kShortAttentionCpuMaxLength = 32;

/// A batch of packed attention inputs: B samples of `length` tokens, each token's row the query,
/// key and value of every head ([3][heads][head_dim] floats).
struct ShortAttentionShape {
  int64_t length = 0;  // L, 1 to kShortAttentionCpuMaxLength
  int64_t heads = 0;
  int64_t head_dim = 0;
};

// The attention weights' dropout: element (sample b, head h, query i, key j) has the mask's
// counter ((b * heads + h) * L + i) * L + j.

/// Samples [begin, end) of the batch; the pointers are the whole batch's. qkv: [B, L, 3 * heads *
/// head_dim]; padded: [B, L], true where the key is padding (a query with only padded keys
/// attends to nothing: its output is 0); out: [B, L, heads * head_dim]; weights: [B, heads, L, L]
/// receives the attention weights before dropout, key-major (weights[b][h][j][i] is query i's
/// weight on key j), which backward reads.
void short_attention_cpu_forward(const ShortAttentionShape& shape, int64_t begin, int64_t end, const float* qkv,
                                 const bool* padded, float scale, const hash_mask::Mask& dropout, float* out,
                                 float* weights);

/// The gradient of samples [begin, end)'s output with respect to their qkv (written whole into
/// grad_qkv, [B, L, 3 * heads * head_dim]), from the forward's weights.
void short_attention_cpu_backward(const ShortAttentionShape& shape, int64_t begin, int64_t end, const float* qkv,
                                  const float* weights, const float* grad_out, float scale,
                                  const hash_mask::Mask& dropout, float* grad_qkv);

/// The width, in floats, of the vectors the two calls above compute with: the widest this CPU
/// runs (16 with AVX-512, 8 with AVX2, else 4) unless a test chose another.
int short_attention_cpu_vector_floats();

/// For tests, which otherwise exercise only the build their machine picks: the calls above use
/// vectors of `floats` (4, 8 or 16, at most the widest this CPU runs; otherwise nothing changes)
/// until the next call. Returns the width used before.
int use_short_attention_cpu_vector_floats(int floats);

}  // namespace mlrec::ops
