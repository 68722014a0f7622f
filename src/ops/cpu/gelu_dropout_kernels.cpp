// Compiled with -fno-trapping-math (CMakeLists.txt): with floating-point traps assumed off, GCC
// may evaluate both sides of a select, which it needs to vectorise these loops for AVX2 (the
// AVX-512 build vectorises them either way, with masks). mlrec never enables FP traps.
#include "ops/cpu/gelu_dropout_kernels.h"

#include <cmath>

#include "ops/cpu/bf16_elements.h"
#include "ops/cpu/exp_nonpositive.h"
#include "ops/hash_mask.h"

namespace mlrec::ops {
namespace {

using elements::exp_nonpositive;
using elements::store;
using elements::widen;

// Scalar forms of the functions below, written so that GCC vectorises the loops that inline
// them (no calls into libm). The constants are those of ATen's own vectorised CPU kernels, so
// the results agree with torch::gelu on the CPU to float rounding.
#define MLREC_INLINE inline __attribute__((always_inline))

// Left of this GELU and its derivative are taken as 0 (|gelu(v)| < 1e-31 there). Computed, they
// would be denormal floats, which x86 cores process through microcode assists, ~100x slower,
// wherever denormals are not flushed (mlrec_dist flushes them, common/denormals.h; a library
// user or a test may not). The computation stays free of denormals in every lane (the selects below discard the tail
// lanes only after they were computed): exp's argument is clamped at -80, so e >= 1.8e-35 and
// every product with it stays above the smallest normal float (1.2e-38).
constexpr float kLeftTail = -12.0f;

constexpr float kSqrtHalf = 0.70710678118654752f;       // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143268f;     // 1 / sqrt(2 pi)

// Phi(v), the standard normal CDF, given e = exp(-v^2 / 2), through erf (Abramowitz & Stegun
// 7.1.26, |error| <= 1.5e-7, the approximation ATen's vectorised erf uses): with a = |v| / sqrt(2)
// and q = t r(t) e, erf(a) = 1 - q, so Phi(v) = q / 2 for v < 0 and 1 - q / 2 otherwise. Taking
// q / 2 directly in the left tail avoids the cancellation of 0.5 (1 + erf(v / sqrt(2))), which
// loses all digits below v ~ -5.
MLREC_INLINE float normal_cdf(float v, float e) {
  const float a = std::fabs(v) * kSqrtHalf;
  const float t = 1.0f / (0.3275911f * a + 1.0f);
  float r = 1.061405429f;
  r = r * t - 1.453152027f;
  r = r * t + 1.421413741f;
  r = r * t - 0.284496736f;
  r = r * t + 0.254829592f;
  const float half_q = 0.5f * t * r * e;
  return v < 0.0f ? half_q : 1.0f - half_q;
}

// The loops of both element types (float, or uint16_t for bfloat16), computing in float.
template <typename T>
MLREC_INLINE void forward_rows(const T* __restrict t, const float* __restrict bias, T* __restrict y, int64_t rows,
                               int64_t cols, uint32_t first, uint32_t seed_a, uint32_t seed_b, uint32_t threshold,
                               float scale) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* ti = t + i * cols;
    T* yi = y + i * cols;
    const uint32_t row_first = first + static_cast<uint32_t>(i * cols);
    for (int64_t j = 0; j < cols; ++j) {
      const float v = widen(ti[j]) + bias[j];
      const float gelu = v < kLeftTail ? 0.0f : v * normal_cdf(v, exp_nonpositive(-0.5f * v * v));
      const bool keep = hash_mask::keep_hash(row_first + static_cast<uint32_t>(j), seed_a, seed_b) >= threshold;
      store(yi + j, gelu * scale, keep);
    }
  }
}

template <typename T>
MLREC_INLINE void backward_rows(const T* __restrict grad_y, const T* __restrict t, const float* __restrict bias,
                                T* __restrict grad_t, float* __restrict bias_grad, int64_t rows, int64_t cols,
                                uint32_t first, uint32_t seed_a, uint32_t seed_b, uint32_t threshold, float scale) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* gi = grad_y + i * cols;
    const T* ti = t + i * cols;
    T* oi = grad_t + i * cols;
    const uint32_t row_first = first + static_cast<uint32_t>(i * cols);
    for (int64_t j = 0; j < cols; ++j) {
      const float v = widen(ti[j]) + bias[j];
      const float e = exp_nonpositive(-0.5f * v * v);
      // d/dv [v Phi(v)] = Phi(v) + v phi(v)
      const float derivative = v < kLeftTail ? 0.0f : normal_cdf(v, e) + v * e * kInvSqrt2Pi;
      const bool keep = hash_mask::keep_hash(row_first + static_cast<uint32_t>(j), seed_a, seed_b) >= threshold;
      const float g = widen(gi[j]) * scale * derivative;
      store(oi + j, g, keep);
      bias_grad[j] += keep ? g : 0.0f;  // the unrounded gradient, as float32 sums it
    }
  }
}

}  // namespace

MLREC_CPU_CLONES void gelu_dropout_forward_rows(const float* t, const float* bias, float* y, int64_t rows,
                                                int64_t cols, uint32_t first, uint32_t seed_a, uint32_t seed_b,
                                                uint32_t threshold, float scale) {
  forward_rows(t, bias, y, rows, cols, first, seed_a, seed_b, threshold, scale);
}

MLREC_CPU_CLONES void gelu_dropout_forward_rows(const uint16_t* t, const float* bias, uint16_t* y, int64_t rows,
                                                int64_t cols, uint32_t first, uint32_t seed_a, uint32_t seed_b,
                                                uint32_t threshold, float scale) {
  forward_rows(t, bias, y, rows, cols, first, seed_a, seed_b, threshold, scale);
}

MLREC_CPU_CLONES void gelu_dropout_backward_rows(const float* grad_y, const float* t, const float* bias,
                                                 float* grad_t, float* bias_grad, int64_t rows, int64_t cols,
                                                 uint32_t first, uint32_t seed_a, uint32_t seed_b,
                                                 uint32_t threshold, float scale) {
  backward_rows(grad_y, t, bias, grad_t, bias_grad, rows, cols, first, seed_a, seed_b, threshold, scale);
}

MLREC_CPU_CLONES void gelu_dropout_backward_rows(const uint16_t* grad_y, const uint16_t* t, const float* bias,
                                                 uint16_t* grad_t, float* bias_grad, int64_t rows, int64_t cols,
                                                 uint32_t first, uint32_t seed_a, uint32_t seed_b,
                                                 uint32_t threshold, float scale) {
  backward_rows(grad_y, t, bias, grad_t, bias_grad, rows, cols, first, seed_a, seed_b, threshold, scale);
}

}  // namespace mlrec::ops
