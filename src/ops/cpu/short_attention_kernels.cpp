// The layout: a head's L queries lie across the lanes of rows of W floats (W is L rounded up to
// 8, 16 or 32), "transposed" against the packed input. Every loop below then runs over W lanes
// known at compile time and vectorises: products over head_dim are W-lane multiply-adds, and
// softmax's max and sum over the keys are lane-wise operations over rows (one row per key), with
// no horizontal reduction. The first version computed one query's scores as dot products over
// head_dim, summed in scalar dependency chains; on the BST's step (1,024 samples, 12 heads,
// head_dim 10, L = 10) it took 11 ms forward and 14 ms backward of two cores.
//
// Every sum runs in that version's order (over head_dim, keys and queries ascending), so the
// results are its results but for exp, a polynomial that vectorises (elements::exp_nonpositive,
// ~1 ulp) instead of libm's expf, and for which multiply-adds GCC fuses. (Both built with
// -ffp-contract=off and libm's expf, the two versions agree bit for bit on outputs, weights and
// gradients, with and without dropout, for L from 1 to 32.)
#include "ops/cpu/short_attention_kernels.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <vector>

#include "ops/cpu/exp_nonpositive.h"
#include "ops/hash_mask.h"

namespace mlrec::ops {
namespace {

#define MLREC_INLINE inline __attribute__((always_inline))

// GCC's vector extension: the loops say what each instruction does (one multiply-add of V lanes)
// instead of leaving the vectoriser to choose. With plain loops over W-float arrays, GCC
// vectorised across head_dim in places, with permutes, and this layout ran no faster than the
// first version. V is the widest vector of the target each entry point is compiled for (16
// floats for AVX-512, 8 for AVX2, 4 for baseline x86-64; see the end of this file), because GCC
// lowers a vector wider than the target's registers through memory (one thread of a Zen 4 EPYC,
// the BST's batch, the first time this was tried with one width for all): vectors of 8 floats ran the
// baseline build 2x slower than the first version, vectors of 16 the AVX2 build as slowly.
template <int V>
struct VectorOf {
  // (aligned to its size explicitly: compiled for a narrower target, GCC would align a wide vector
  // type to 16 bytes only, and then the wider target's aligned loads fault)
  typedef float type __attribute__((vector_size(V * sizeof(float)), aligned(V * sizeof(float))));
};

// One row of W lanes (8, 16 or 32: the window rounded up) as W / V vectors of V floats.
template <int W, int V>
struct Lanes {
  static constexpr int kWidth = W;
  static constexpr int kParts = W / V;
  using Vector = typename VectorOf<V>::type;
  Vector part[kParts];

  // One lane, through memory: for the transposes and the stores, not for the arithmetic.
  float& operator[](int64_t i) { return reinterpret_cast<float*>(part)[i]; }  // vectors alias floats
  float operator[](int64_t i) const { return reinterpret_cast<const float*>(part)[i]; }
};

template <class Row>
MLREC_INLINE void multiply_add(Row& acc, float x, const Row& in) {
  for (int n = 0; n < Row::kParts; ++n) acc.part[n] += x * in.part[n];
}
template <class Row>
MLREC_INLINE void multiply(Row& a, const Row& b) {
  for (int n = 0; n < Row::kParts; ++n) a.part[n] *= b.part[n];
}
template <class Row>
MLREC_INLINE void multiply(Row& a, float b) {
  for (int n = 0; n < Row::kParts; ++n) a.part[n] *= b;
}

// lanes[c][r] = rows[r * stride + c] for r < row_count, c < columns: a strided matrix's rows
// spread across lanes.
template <class Row>
MLREC_INLINE void to_lanes(const float* rows, int64_t stride, int64_t row_count, int64_t columns, Row* lanes) {
  for (int64_t r = 0; r < row_count; ++r) {
    for (int64_t c = 0; c < columns; ++c) lanes[c][r] = rows[r * stride + c];
  }
}

// out[r][i] = in[i][r] for r, i < n.
template <class Row>
MLREC_INLINE void transpose(const Row* in, int64_t n, Row* out) {
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < n; ++i) out[r][i] = in[i][r];
  }
}

// Each output below is one chain of dependent multiply-adds (4 cycles each); the products run
// kBlock outputs at a time, whose chains interleave, instead of one chain after another.
constexpr int64_t kBlock = 4;

// out[r] = sum over c < inner of x[r * stride + c] * in[c], for r in [first, first + K).
template <class Row, int K>
MLREC_INLINE void rows_block(const float* x, int64_t stride, int64_t first, int64_t inner, const Row* in, Row* out) {
  Row acc[K] = {};
  for (int64_t c = 0; c < inner; ++c) {
    for (int k = 0; k < K; ++k) multiply_add(acc[k], x[(first + k) * stride + c], in[c]);
  }
  for (int k = 0; k < K; ++k) out[first + k] = acc[k];
}

// y[i * y_stride + c] = sum over r < n of x[r * stride + c] * in[r][i], for c in [first,
// first + K) and i < n.
template <class Row, int K>
MLREC_INLINE void columns_block_into_rows(const float* x, int64_t stride, int64_t n, int64_t first, const Row* in,
                                          float* y, int64_t y_stride) {
  Row acc[K] = {};
  for (int64_t r = 0; r < n; ++r) {
    for (int k = 0; k < K; ++k) multiply_add(acc[k], x[r * stride + first + k], in[r]);
  }
  for (int k = 0; k < K; ++k) {
    const Row sums = acc[k];  // (a copy: indexing acc itself would keep it in memory)
    for (int64_t i = 0; i < n; ++i) y[i * y_stride + first + k] = sums[i];
  }
}

// out[r] = sum over c < inner of x[r * stride + c] * in[c], for r < rows.
template <class Row>
MLREC_INLINE void rows_times_lanes(const float* x, int64_t stride, int64_t rows, int64_t inner, const Row* in,
                                   Row* out) {
  int64_t r = 0;
  for (; r + kBlock <= rows; r += kBlock) rows_block<Row, kBlock>(x, stride, r, inner, in, out);
  for (; r < rows; ++r) rows_block<Row, 1>(x, stride, r, inner, in, out);
}

// y[i * y_stride + c] = sum over r < n of x[r * stride + c] * in[r][i], for c < columns and
// i < n: x transposed times in, stored transposed again (into the packed input's layout)
// straight from the accumulators.
template <class Row>
MLREC_INLINE void columns_times_lanes_into_rows(const float* x, int64_t stride, int64_t n, int64_t columns,
                                                const Row* in, float* y, int64_t y_stride) {
  int64_t c = 0;
  for (; c + kBlock <= columns; c += kBlock) columns_block_into_rows<Row, kBlock>(x, stride, n, c, in, y, y_stride);
  for (; c < columns; ++c) columns_block_into_rows<Row, 1>(x, stride, n, c, in, y, y_stride);
}

// p[j][i]: query i's score on key j in, its attention weight out: softmax over the keys j that
// are not padded of scale * score (a query with none gets all 0). The scaled scores are stored
// before the max is taken, so that they are rounded as the first version rounded them.
template <class Row>
MLREC_INLINE void softmax_over_keys(Row* p, const bool* padded, int64_t length, float scale) {
  constexpr int kParts = Row::kParts;
  Row top, sum = {};
  for (int n = 0; n < kParts; ++n) top.part[n] = typename Row::Vector{} - std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < length; ++j) {
    multiply(p[j], scale);
    if (padded[j]) continue;
    for (int n = 0; n < kParts; ++n) top.part[n] = top.part[n] < p[j].part[n] ? p[j].part[n] : top.part[n];
  }
  for (int64_t j = 0; j < length; ++j) {
    if (padded[j]) {
      p[j] = Row{};
      continue;
    }
    for (int w = 0; w < Row::kWidth; ++w) p[j][w] = elements::exp_nonpositive(p[j][w] - top[w]);
    for (int n = 0; n < kParts; ++n) sum.part[n] += p[j].part[n];
  }
  Row inverse;
  for (int n = 0; n < kParts; ++n) inverse.part[n] = sum.part[n] > 0.0f ? 1.0f / sum.part[n] : typename Row::Vector{};
  for (int64_t j = 0; j < length; ++j) multiply(p[j], inverse);
}

// keep[j][i]: the dropout's factor (0 or 1 / (1 - p)) on query i's weight on key j, whose
// counter is first + i * L + j.
template <class Row>
MLREC_INLINE void dropout_factors(int64_t length, uint32_t first, const hash_mask::Mask& dropout, Row* keep) {
  // (the mask's fields in locals: read through the reference, they might alias keep's stores)
  const uint32_t step = static_cast<uint32_t>(length), seed_a = dropout.seed_a, seed_b = dropout.seed_b,
                 threshold = dropout.threshold;
  const float scale = dropout.scale;
  for (int64_t j = 0; j < length; ++j) {
    const uint32_t key_first = first + static_cast<uint32_t>(j);
    for (int w = 0; w < Row::kWidth; ++w) {
      const uint32_t h = hash_mask::keep_hash(key_first + static_cast<uint32_t>(w) * step, seed_a, seed_b);
      keep[j][w] = h >= threshold ? scale : 0.0f;
    }
  }
}

// Head h of one sample in the packed input: its queries, keys and values.
struct Head {
  const float* q;  // token i's query of head h at q[i * stride + d]
  const float* k;
  const float* v;
  int64_t stride;  // 3 * heads * head_dim

  Head(const float* qkv, int64_t h, const ShortAttentionShape& s)
      : q(qkv + h * s.head_dim),
        k(qkv + (s.heads + h) * s.head_dim),
        v(qkv + (2 * s.heads + h) * s.head_dim),
        stride(3 * s.heads * s.head_dim) {}
};

uint32_t first_counter(int64_t sample, int64_t h, const ShortAttentionShape& s) {
  return static_cast<uint32_t>((sample * s.heads + h) * s.length * s.length);
}

// Scratch rows, zeroed once: the lanes of queries >= L are never written from the input and
// stay 0 there, so that those lanes compute finite values that nobody reads.
template <class Row>
class Scratch {
 public:
  Scratch(int64_t blocks, int64_t block_rows)
      : rows_(static_cast<size_t>(blocks * block_rows)), block_rows_(block_rows) {}
  Row* block(int64_t index) { return rows_.data() + index * block_rows_; }

 private:
  std::vector<Row> rows_;
  int64_t block_rows_;
};

template <class Row>
MLREC_INLINE void forward_samples(const ShortAttentionShape& s, int64_t begin, int64_t end, const float* qkv,
                                  const bool* padded, float scale, const hash_mask::Mask& dropout, float* out,
                                  float* weights) {
  const int64_t L = s.length, Dh = s.head_dim, dim = s.heads * Dh;
  Scratch<Row> scratch(3, std::max(L, Dh));
  Row* queries = scratch.block(0);  // [head_dim]
  Row* p = scratch.block(1);        // [L], a row per key
  Row* keep = scratch.block(2);     // [L]
  const bool drop = !dropout.keeps_all();
  for (int64_t b = begin; b < end; ++b) {
    const float* x = qkv + b * L * 3 * dim;
    for (int64_t h = 0; h < s.heads; ++h) {
      const Head head(x, h, s);
      to_lanes<Row>(head.q, head.stride, L, Dh, queries);
      rows_times_lanes<Row>(head.k, head.stride, L, Dh, queries, p);
      softmax_over_keys<Row>(p, padded + b * L, L, scale);
      float* saved = weights + (b * s.heads + h) * L * L;
      for (int64_t j = 0; j < L; ++j) {
        for (int64_t i = 0; i < L; ++i) saved[j * L + i] = p[j][i];
      }
      if (drop) {
        dropout_factors<Row>(L, first_counter(b, h, s), dropout, keep);
        for (int64_t j = 0; j < L; ++j) multiply(p[j], keep[j]);
      }
      columns_times_lanes_into_rows<Row>(head.v, head.stride, L, Dh, p, out + b * L * dim + h * Dh, dim);
    }
  }
}

template <class Row>
MLREC_INLINE void backward_samples(const ShortAttentionShape& s, int64_t begin, int64_t end, const float* qkv,
                                   const float* weights, const float* grad_out, float scale,
                                   const hash_mask::Mask& dropout, float* grad_qkv) {
  const int64_t L = s.length, Dh = s.head_dim, dim = s.heads * Dh;
  Scratch<Row> scratch(5, std::max(L, Dh));
  Row* p = scratch.block(0);               // [L], a row per key
  Row* keep = scratch.block(1);            // [L]
  Row* grad_out_lanes = scratch.block(2);  // [head_dim]
  Row* ds = scratch.block(3);              // [L]: dP, then dS
  Row* by_query = scratch.block(4);        // [L], a row per query
  const bool drop = !dropout.keeps_all();
  for (int64_t b = begin; b < end; ++b) {
    const float* x = qkv + b * L * 3 * dim;
    const float* go = grad_out + b * L * dim;
    float* g = grad_qkv + b * L * 3 * dim;
    for (int64_t h = 0; h < s.heads; ++h) {
      const Head head(x, h, s);
      const float* saved = weights + (b * s.heads + h) * L * L;
      for (int64_t j = 0; j < L; ++j) {
        for (int64_t i = 0; i < L; ++i) p[j][i] = saved[j * L + i];
      }
      if (drop) dropout_factors<Row>(L, first_counter(b, h, s), dropout, keep);
      // dP[j][i] = keep * (dO_i . v_j); dS = P (dP - sum_j P dP) scale.
      to_lanes<Row>(go + h * Dh, dim, L, Dh, grad_out_lanes);
      rows_times_lanes<Row>(head.v, head.stride, L, Dh, grad_out_lanes, ds);
      if (drop) {
        for (int64_t j = 0; j < L; ++j) multiply(ds[j], keep[j]);
      }
      constexpr int kParts = Row::kParts;
      typename Row::Vector row_dot[kParts] = {};
      for (int64_t j = 0; j < L; ++j) {
        for (int n = 0; n < kParts; ++n) row_dot[n] += p[j].part[n] * ds[j].part[n];
      }
      for (int64_t j = 0; j < L; ++j) {
        for (int n = 0; n < kParts; ++n) ds[j].part[n] = p[j].part[n] * (ds[j].part[n] - row_dot[n]) * scale;
      }
      // dQ_i = sum_j dS[i][j] k_j, with the queries in lanes; dK_j = sum_i dS[i][j] q_i and
      // dV_j = sum_i P[i][j] keep dO_i, with the keys in lanes.
      columns_times_lanes_into_rows<Row>(head.k, head.stride, L, Dh, ds, g + h * Dh, head.stride);
      transpose<Row>(ds, L, by_query);
      columns_times_lanes_into_rows<Row>(head.q, head.stride, L, Dh, by_query, g + (s.heads + h) * Dh, head.stride);
      if (drop) {
        for (int64_t j = 0; j < L; ++j) multiply(p[j], keep[j]);
      }
      transpose<Row>(p, L, by_query);
      columns_times_lanes_into_rows<Row>(go + h * Dh, dim, L, Dh, by_query, g + (2 * s.heads + h) * Dh, head.stride);
    }
  }
}

// The kernels for a window of `length` tokens: rows of W lanes (L rounded up to 8, 16 or 32), as
// vectors of V floats where V <= W.
template <int V>
MLREC_INLINE void forward_any_length(const ShortAttentionShape& s, int64_t begin, int64_t end, const float* qkv,
                                     const bool* padded, float scale, const hash_mask::Mask& dropout, float* out,
                                     float* weights) {
  if (s.length <= 8) {
    forward_samples<Lanes<8, std::min(8, V)>>(s, begin, end, qkv, padded, scale, dropout, out, weights);
  } else if (s.length <= 16) {
    forward_samples<Lanes<16, std::min(16, V)>>(s, begin, end, qkv, padded, scale, dropout, out, weights);
  } else {
    forward_samples<Lanes<32, V>>(s, begin, end, qkv, padded, scale, dropout, out, weights);
  }
}

template <int V>
MLREC_INLINE void backward_any_length(const ShortAttentionShape& s, int64_t begin, int64_t end, const float* qkv,
                                      const float* weights, const float* grad_out, float scale,
                                      const hash_mask::Mask& dropout, float* grad_qkv) {
  if (s.length <= 8) {
    backward_samples<Lanes<8, std::min(8, V)>>(s, begin, end, qkv, weights, grad_out, scale, dropout, grad_qkv);
  } else if (s.length <= 16) {
    backward_samples<Lanes<16, std::min(16, V)>>(s, begin, end, qkv, weights, grad_out, scale, dropout, grad_qkv);
  } else {
    backward_samples<Lanes<32, V>>(s, begin, end, qkv, weights, grad_out, scale, dropout, grad_qkv);
  }
}

// One build of the kernels per x86-64 target of MLREC_CPU_CLONES (ops/hash_mask.h), each with
// that target's widest vectors, picked at run time. (target_clones compiles one source for every
// target, so its clones share one vector width: with 4 floats, the AVX-512 clone ran 128-bit
// instructions.) The BST's batch, one thread of an AMD EPYC (Zen 5), against the clones: AVX-512
// forward 6.8-7.3 -> 5.8-6.3 ms, backward 12.0-12.7 -> 10.5-11.2 ms; AVX2 forward 8.1-8.3 ->
// 6.8-7.2 ms, backward 13.4-14.4 -> 12.1-12.4 ms. The results are the clones' bit for bit: the
// lanes are independent, so the width changes no sum's order. Tests run the narrower builds too
// (use_short_attention_cpu_vector_floats).
#if MLREC_CPU_TARGETS
#define MLREC_TARGET(name) __attribute__((target(name)))

MLREC_TARGET("arch=x86-64-v4")
void forward_avx512(const ShortAttentionShape& s, int64_t begin, int64_t end, const float* qkv, const bool* padded,
                    float scale, const hash_mask::Mask& dropout, float* out, float* weights) {
  forward_any_length<16>(s, begin, end, qkv, padded, scale, dropout, out, weights);
}
MLREC_TARGET("avx2")
void forward_avx2(const ShortAttentionShape& s, int64_t begin, int64_t end, const float* qkv, const bool* padded,
                  float scale, const hash_mask::Mask& dropout, float* out, float* weights) {
  forward_any_length<8>(s, begin, end, qkv, padded, scale, dropout, out, weights);
}
MLREC_TARGET("arch=x86-64-v4")
void backward_avx512(const ShortAttentionShape& s, int64_t begin, int64_t end, const float* qkv, const float* weights,
                     const float* grad_out, float scale, const hash_mask::Mask& dropout, float* grad_qkv) {
  backward_any_length<16>(s, begin, end, qkv, weights, grad_out, scale, dropout, grad_qkv);
}
MLREC_TARGET("avx2")
void backward_avx2(const ShortAttentionShape& s, int64_t begin, int64_t end, const float* qkv, const float* weights,
                   const float* grad_out, float scale, const hash_mask::Mask& dropout, float* grad_qkv) {
  backward_any_length<8>(s, begin, end, qkv, weights, grad_out, scale, dropout, grad_qkv);
}
#endif

int widest_vector_floats() {
#if MLREC_CPU_TARGETS
  static const int widest = __builtin_cpu_supports("x86-64-v4") ? 16 : __builtin_cpu_supports("avx2") ? 8 : 4;
  return widest;
#else
  return 4;
#endif
}

std::atomic<int>& vector_floats() {
  static std::atomic<int> floats{widest_vector_floats()};
  return floats;
}

}  // namespace

int short_attention_cpu_vector_floats() { return vector_floats().load(std::memory_order_relaxed); }

int use_short_attention_cpu_vector_floats(int floats) {
  const bool runs = (floats == 4 || floats == 8 || floats == 16) && floats <= widest_vector_floats();
  return runs ? vector_floats().exchange(floats) : short_attention_cpu_vector_floats();
}

void short_attention_cpu_forward(const ShortAttentionShape& shape, int64_t begin, int64_t end, const float* qkv,
                                 const bool* padded, float scale, const hash_mask::Mask& dropout, float* out,
                                 float* weights) {
#if MLREC_CPU_TARGETS
  switch (short_attention_cpu_vector_floats()) {
    case 16:
      return forward_avx512(shape, begin, end, qkv, padded, scale, dropout, out, weights);
    case 8:
      return forward_avx2(shape, begin, end, qkv, padded, scale, dropout, out, weights);
  }
#endif
  forward_any_length<4>(shape, begin, end, qkv, padded, scale, dropout, out, weights);
}

void short_attention_cpu_backward(const ShortAttentionShape& shape, int64_t begin, int64_t end, const float* qkv,
                                  const float* weights, const float* grad_out, float scale,
                                  const hash_mask::Mask& dropout, float* grad_qkv) {
#if MLREC_CPU_TARGETS
  switch (short_attention_cpu_vector_floats()) {
    case 16:
      return backward_avx512(shape, begin, end, qkv, weights, grad_out, scale, dropout, grad_qkv);
    case 8:
      return backward_avx2(shape, begin, end, qkv, weights, grad_out, scale, dropout, grad_qkv);
  }
#endif
  backward_any_length<4>(shape, begin, end, qkv, weights, grad_out, scale, dropout, grad_qkv);
}

}  // namespace mlrec::ops
