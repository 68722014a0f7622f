// Elements of mlrec's CPU loops that are float32 or bfloat16 (under bf16 autocast), the bf16
// ones handled as their bits (uint16_t), computed in float32. Written so that GCC vectorises
// the loops that inline them: integer shifts and masks, no calls, no branches. Torch-free, for
// the loops in src/ops/cpu and src/ops/dropout.cpp. Private to src/ops.
#pragma once

#include <cstdint>

namespace mlrec::ops::elements {

#define MLREC_ELEMENT_INLINE inline __attribute__((always_inline))

/// The element's value in float32: bf16 widens exactly, by a shift.
MLREC_ELEMENT_INLINE float widen(float x) { return x; }
MLREC_ELEMENT_INLINE float widen(uint16_t x) { return __builtin_bit_cast(float, static_cast<uint32_t>(x) << 16); }

/// x rounded to bf16, to nearest even, as c10::BFloat16 rounds every float but a NaN with
/// payload in its low 16 bits. None arises in these loops: their NaNs are widened from bf16 (low
/// bits zero, so the rounding cannot carry into the exponent) or the default NaN.
MLREC_ELEMENT_INLINE uint32_t bf16_bits(float x) {
  const uint32_t bits = __builtin_bit_cast(uint32_t, x);
  return (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
}

/// *out = keep ? x : +0 in the output's type, selected on the bits with a mask: the form GCC
/// vectorises for AVX2 too where FP traps are assumed on (a float select it would not).
MLREC_ELEMENT_INLINE uint32_t all_ones_if(bool keep) { return 0u - static_cast<uint32_t>(keep); }
MLREC_ELEMENT_INLINE void store(float* out, float x, bool keep) {
  *out = __builtin_bit_cast(float, __builtin_bit_cast(uint32_t, x) & all_ones_if(keep));
}
MLREC_ELEMENT_INLINE void store(uint16_t* out, float x, bool keep) {
  *out = static_cast<uint16_t>(bf16_bits(x) & all_ones_if(keep));
}

}  // namespace mlrec::ops::elements
