// The loops of the fused feed-forward activation (ops/feed_forward.cpp), torch-free so that
// they compile with their own flags: see gelu_dropout_kernels.cpp. Private to src/models.
#pragma once

#include <cstdint>

namespace mlrec::ops {

/// y[i, j] = keep(first + i * cols + j) ? gelu(t[i, j] + bias[j]) * scale : 0 for i < rows,
/// where keep compares hash_mask::keep_hash(index, seed_a, seed_b) with `threshold` (0 keeps
/// every element). GELU is the exact (erf) form.
void gelu_dropout_forward_rows(const float* t, const float* bias, float* y, int64_t rows, int64_t cols,
                               uint32_t first, uint32_t seed_a, uint32_t seed_b, uint32_t threshold, float scale);
/// The same for bfloat16 t and y (their bits), computed in float32 and rounded to nearest even.
void gelu_dropout_forward_rows(const uint16_t* t, const float* bias, uint16_t* y, int64_t rows, int64_t cols,
                               uint32_t first, uint32_t seed_a, uint32_t seed_b, uint32_t threshold, float scale);

/// grad_t = keep ? grad_y * scale * gelu'(t + bias) : 0 with the forward's mask, and adds each
/// column's sum of grad_t to bias_grad[j].
void gelu_dropout_backward_rows(const float* grad_y, const float* t, const float* bias, float* grad_t,
                                float* bias_grad, int64_t rows, int64_t cols, uint32_t first, uint32_t seed_a,
                                uint32_t seed_b, uint32_t threshold, float scale);
/// The same for bfloat16 grad_y, t and grad_t (their bits); bias_grad sums the float32 values
/// before rounding.
void gelu_dropout_backward_rows(const uint16_t* grad_y, const uint16_t* t, const float* bias, uint16_t* grad_t,
                                float* bias_grad, int64_t rows, int64_t cols, uint32_t first, uint32_t seed_a,
                                uint32_t seed_b, uint32_t threshold, float scale);

}  // namespace mlrec::ops
