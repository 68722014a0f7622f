// The keep/drop decisions of mlrec's CPU dropout, shared by ops/dropout.cpp and the fused
// feed-forward activation (ops/feed_forward.cpp): each element's decision is a hash of (a
// per-call seed drawn from torch's default CPU generator, the element's index), so it needs no
// Bernoulli draws, vectorises, and backward recomputes it instead of storing a mask.
// Private to src/models.
#pragma once

#include <cstdint>

namespace torch::autograd {
struct AutogradContext;
}

namespace mlrec::ops::hash_mask {

// A 32-bit integer hash with good avalanche ("lowbias32", Chris Wellons' hash-prospector):
// only 32-bit multiplies, shifts and xors, which vectorise.
inline uint32_t lowbias32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

/// Element `index` is kept when keep_hash(index, seed) >= threshold(p): two hash rounds, each
/// keyed by half of the seed, so the masks of different calls are independent rather than
/// permutations of one another.
inline uint32_t keep_hash(uint32_t index, uint32_t seed_a, uint32_t seed_b) {
  return lowbias32(lowbias32(index ^ seed_a) + seed_b);
}

/// One call's dropout: its seed, the drop threshold (the decision is p to within 2^-32) and the
/// scale 1 / (1 - p) of kept elements. The default keeps every element unscaled.
struct Mask {
  uint32_t seed_a = 0, seed_b = 0;
  uint32_t threshold = 0;
  float scale = 1.0f;

  /// Whether the mask changes nothing (the default's, p <= 0): loops may skip it.
  bool keeps_all() const { return threshold == 0 && scale == 1.0f; }
};

/// The mask of one call with drop probability p: a seed drawn from torch's default CPU
/// generator (so torch::manual_seed governs it); for p <= 0 no draw and the keep-all default.
Mask draw(double p);

/// Keep a call's mask in its autograd context, for backward to recompute the mask from.
void save(torch::autograd::AutogradContext* ctx, const Mask& mask);
Mask load(torch::autograd::AutogradContext* ctx);

// Loops over elements are compiled for AVX-512, AVX2 and baseline x86-64, picked at load
// time: they vectorise on the machines that can, and the binary still runs on those that can't.
// AVX-512 as x86-64-v4 (every AVX-512 server CPU) includes the 16-bit lane instructions the
// bfloat16 loops need: with AVX-512F alone GCC vectorised them with 256-bit vectors, at half
// the speed of the float32 loops (the feed-forward's pass on the BST's 10,240 x 2,048 outputs,
// one thread of an AMD EPYC (Zen 4): 37.5 against 18.3 ms forward).
// MLREC_CPU_TARGETS: 1 where GCC builds code for those three x86-64 targets (target_clones, or
// target attributes as in ops/cpu/short_attention_kernels.cpp), else 0.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MLREC_CPU_TARGETS 1
#define MLREC_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define MLREC_CPU_TARGETS 0
#define MLREC_CPU_CLONES
#endif

}  // namespace mlrec::ops::hash_mask
