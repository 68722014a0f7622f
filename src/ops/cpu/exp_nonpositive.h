// exp for the vectorised CPU loops (the feed-forward's GELU, the attention's softmax): no call
// into libm, which GCC would not vectorise without -ffast-math. Torch-free. Private to src/ops.
#pragma once

#include <cstdint>

namespace mlrec::ops::elements {

/// Where exp_nonpositive clamps its argument: exp(-80) = 1.8e-35 is still a normal float, so that
/// products with it stay clear of denormals. Loops that need exp further left take it as 0.
constexpr float kExpFloor = -80.0f;

/// exp(x) for kExpFloor <= x <= 0, clamped below (Cephes' expf: x = n ln2 + r, |r| <= ln2 / 2, a
/// degree-6 polynomial in r, 2^n through the exponent bits; ~1 ulp).
inline __attribute__((always_inline)) float exp_nonpositive(float x) {
  x = x < kExpFloor ? kExpFloor : x;
  // n = round(x / ln2) by the 1.5 * 2^23 trick (adding it leaves no fraction bits), which
  // vectorises where std::floor would be a call.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return y * __builtin_bit_cast(float, bits);
}

}  // namespace mlrec::ops::elements
