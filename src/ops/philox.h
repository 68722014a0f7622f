// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC11) and the
// dropout mask mlrec's CUDA feed-forward kernels draw from it; host and device code, so that the
// CPU tests check what the kernels compute. Private to src/models.
//
// Why not curand: curand_init + curand_uniform4 evaluate Philox twice for four numbers (init
// computes the block at the counter, the draw returns it and computes the next one), and the
// GELU + dropout kernels were compute-bound on it (BENCHMARKS.md). Here one evaluation gives the
// 128 bits that decide eight elements. The counter layout is curand's and torch's
// (at::Philox4_32): counter = (offset / 4, subsequence), key = seed, so a block equals what
// curand_init(seed, subsequence, offset) would return first.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define MLREC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define MLREC_HOST_DEVICE inline
#endif

namespace mlrec::ops::philox {

struct Block {
  uint32_t x, y, z, w;
};

MLREC_HOST_DEVICE uint32_t mul_hi(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

/// The ten rounds of Philox4x32 on one 128-bit counter.
MLREC_HOST_DEVICE Block philox4x32_10(Block counter, uint32_t key_lo, uint32_t key_hi) {
  constexpr uint32_t kMultiplier0 = 0xD2511F53u, kMultiplier1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key_lo += kWeyl0;
      key_hi += kWeyl1;
    }
    const uint32_t hi0 = mul_hi(kMultiplier0, counter.x), lo0 = kMultiplier0 * counter.x;
    const uint32_t hi1 = mul_hi(kMultiplier1, counter.z), lo1 = kMultiplier1 * counter.z;
    counter = Block{hi1 ^ counter.y ^ key_lo, lo1, hi0 ^ counter.w ^ key_hi, lo0};
  }
  return counter;
}

/// The block curand_init(seed, subsequence, offset) starts from, for offset a multiple of 4
/// (torch's generator hands out offsets in steps of 4).
MLREC_HOST_DEVICE Block block(uint64_t seed, uint64_t subsequence, uint64_t offset) {
  const uint64_t position = offset / 4;
  return philox4x32_10(Block{static_cast<uint32_t>(position), static_cast<uint32_t>(position >> 32),
                             static_cast<uint32_t>(subsequence), static_cast<uint32_t>(subsequence >> 32)},
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

/// Dropout with 16-bit uniforms: element j of a group of 8 is dropped when the j-th 16-bit half
/// of the group's block is below `threshold` = round(p * 65536). The drop probability is then
/// threshold / 65536 (p to within 2^-17), and kept elements are scaled by 65536 / (65536 -
/// threshold), which makes the expectation exact.
struct Dropout16 {
  uint32_t threshold = 0;
  float scale = 1.f;
};

inline Dropout16 dropout16(double p) {
  Dropout16 d;
  d.threshold = static_cast<uint32_t>(p * 65536.0 + 0.5);
  if (d.threshold > 65535) d.threshold = 65535;  // p near 1: keep at least 1 in 65,536
  d.scale = static_cast<float>(65536.0 / (65536.0 - d.threshold));
  return d;
}

/// Bit j set: element 8 * group + j is kept.
MLREC_HOST_DEVICE uint32_t keep_bits8(uint64_t seed, uint64_t offset, uint64_t group, uint32_t threshold) {
  const Block b = block(seed, group, offset);
  const uint32_t words[4] = {b.x, b.y, b.z, b.w};
  uint32_t bits = 0;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int j = 0; j < 8; ++j) {
    const uint32_t half = (words[j / 2] >> (16 * (j % 2))) & 0xFFFFu;
    bits |= static_cast<uint32_t>(half >= threshold) << j;
  }
  return bits;
}

/// Bit t set: element first + t is kept, for the `count` elements from `first` (count <= 56, so
/// that the groups covering them fit 64 bits): the bits of keep_bits8 for each element's group,
/// whatever the elements' alignment to groups of 8.
MLREC_HOST_DEVICE uint64_t keep_bits(uint64_t seed, uint64_t offset, uint64_t first, int count, uint32_t threshold) {
  const int shift = static_cast<int>(first % 8);
  const int groups = (shift + count + 7) / 8;
  uint64_t bits = 0;
  for (int g = 0; g < groups; ++g) {
    bits |= static_cast<uint64_t>(keep_bits8(seed, offset, first / 8 + g, threshold)) << (8 * g);
  }
  bits >>= shift;
  return count >= 64 ? bits : bits & ((uint64_t{1} << count) - 1);
}

}  // namespace mlrec::ops::philox
