// Mish through one exp per element. torch's CPU kernel composes tanh(log1p(exp(x))), three
// vectorised transcendental functions per element; here, with u = exp(-|x|) <= 1,
//   tanh(softplus(x)) = ((1 + e^x)^2 - 1) / ((1 + e^x)^2 + 1)
//                     = (1 + 2u) / (1 + 2u + 2u^2)     for x >= 0 (num and den times u^2)
//                     = (u^2 + 2u) / (u^2 + 2u + 2)    for x < 0 (e^x = u),
// both free of cancellation, and 1 - tanh(softplus(x)) = 2u^2 / den or 2 / den exactly, which
// the derivative needs (1 - tanh^2 computed as 1 minus a value near 1 would lose it for large x).
// Compiled with -fno-trapping-math, as the other loops here (CMakeLists.txt).
#include "ops/cpu/mish_kernels.h"

#include "ops/cpu/bf16_elements.h"
#include "ops/cpu/exp_nonpositive.h"
#include "ops/hash_mask.h"  // MLREC_CPU_CLONES

namespace mlrec::ops {
namespace {

using elements::store;
using elements::widen;

#define MLREC_INLINE inline __attribute__((always_inline))

// Left of this, mish and its derivative are taken as 0 (|mish(x)| < 1e-32): exp's argument is
// clamped there, so the formulas would give values without meaning.
constexpr float kLeftTail = elements::kExpFloor;

// (written as "not left of", so that a NaN is kept and propagates, as torch's Mish propagates it)
MLREC_INLINE bool computed(float v) { return !(v < kLeftTail); }

// tanh(softplus(x)) = num / den, and 1 - tanh(softplus(x)) = rest / den; u = exp(-|x|).
struct Softplus {
  float u, num, den, rest;
};

MLREC_INLINE Softplus tanh_softplus(float x) {
  const float u = elements::exp_nonpositive(x < 0.0f ? x : -x);
  const bool positive = x >= 0.0f;
  const float num = positive ? 1.0f + 2.0f * u : u * (u + 2.0f);
  const float rest = positive ? 2.0f * u * u : 2.0f;
  return {u, num, num + rest, rest};
}

template <typename T>
MLREC_INLINE void forward(const T* __restrict x, T* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = widen(x[i]);
    const Softplus t = tanh_softplus(v);
    store(y + i, v * (t.num / t.den), computed(v));
  }
}

template <typename T>
MLREC_INLINE void backward(const T* __restrict grad_y, const T* __restrict x, T* __restrict grad_x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = widen(x[i]);
    const Softplus t = tanh_softplus(v);
    const float inverse = 1.0f / t.den;
    const float r = t.num * inverse, q = t.rest * inverse;  // tanh(softplus(v)) and 1 minus it
    const float sigmoid = (v >= 0.0f ? 1.0f : t.u) / (1.0f + t.u);
    // mish'(v) = tanh(sp) + v sigmoid(v) (1 - tanh(sp)^2), with 1 - tanh^2 = q (2 - q)
    const float derivative = r + v * sigmoid * (q * (2.0f - q));
    store(grad_x + i, widen(grad_y[i]) * derivative, computed(v));
  }
}

}  // namespace

MLREC_CPU_CLONES void mish_forward(const float* x, float* y, int64_t n) { forward(x, y, n); }
MLREC_CPU_CLONES void mish_forward(const uint16_t* x, uint16_t* y, int64_t n) { forward(x, y, n); }
MLREC_CPU_CLONES void mish_backward(const float* grad_y, const float* x, float* grad_x, int64_t n) {
  backward(grad_y, x, grad_x, n);
}
MLREC_CPU_CLONES void mish_backward(const uint16_t* grad_y, const uint16_t* x, uint16_t* grad_x, int64_t n) {
  backward(grad_y, x, grad_x, n);
}

}  // namespace mlrec::ops
