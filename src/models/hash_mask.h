// The keep/drop decisions of mlrec's CPU dropout, shared by models/dropout.cpp and the fused
// feed-forward activation (models/feed_forward.cpp): each element's decision is a hash of (a
// per-call seed drawn from torch's default CPU generator, the element's index), so it needs no
// Bernoulli draws, vectorises, and backward recomputes it instead of storing a mask.
// Private to src/models.
#pragma once

#include <algorithm>
#include <cstdint>

namespace mlrec::models::hash_mask {

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

struct Seed {
  uint32_t a, b;
};

/// Draws one call's seed from torch's default CPU generator (so torch::manual_seed governs it).
Seed draw_seed();

/// Element `index` is kept when keep_hash(index, seed) >= threshold(p): two hash rounds, each
/// keyed by half of the seed, so the masks of different calls are independent rather than
/// permutations of one another.
inline uint32_t keep_hash(uint32_t index, uint32_t seed_a, uint32_t seed_b) {
  return lowbias32(lowbias32(index ^ seed_a) + seed_b);
}

/// The drop threshold for probability p: the decision is p to within 2^-32.
inline uint32_t threshold(double p) { return static_cast<uint32_t>(std::min(p * 4294967296.0, 4294967295.0)); }

// Loops over elements are compiled for AVX-512, AVX2 and baseline x86-64, picked at load
// time: they vectorise on the machines that can, and the binary still runs on those that can't.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MLREC_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MLREC_CPU_CLONES
#endif

}  // namespace mlrec::models::hash_mask
