// The loops of mlrec's CPU Mish (ops/batch_norm_mish.cpp), torch-free so that they compile with
// their own flags (see gelu_dropout_kernels.cpp). Private to src/ops.
#pragma once

#include <cstdint>

namespace mlrec::ops {

/// y[i] = mish(x[i]) = x tanh(softplus(x)) for i < n; 0 left of -80 (|mish| < 1e-32 there); NaN
/// for NaN.
void mish_forward(const float* x, float* y, int64_t n);
/// The same for bfloat16 x and y (their bits), computed in float32 and rounded to nearest even.
void mish_forward(const uint16_t* x, uint16_t* y, int64_t n);

/// grad_x[i] = grad_y[i] * mish'(x[i]) for i < n.
void mish_backward(const float* grad_y, const float* x, float* grad_x, int64_t n);
/// The same for bfloat16 grad_y, x and grad_x (their bits).
void mish_backward(const uint16_t* grad_y, const uint16_t* x, uint16_t* grad_x, int64_t n);

}  // namespace mlrec::ops
