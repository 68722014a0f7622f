#include "ops/cpu/short_attention_kernels.h"

#include <cmath>
#include <limits>

#include "ops/hash_mask.h"

namespace mlrec::ops {
namespace {

// One head of one sample: row pointers into the packed qkv.
struct Head {
  const float* q;  // q[i * stride + d]
  const float* k;
  const float* v;
  int64_t stride;  // 3 * heads * head_dim
};

Head head_of(const float* qkv, int64_t h, int64_t heads, int64_t head_dim) {
  const int64_t dim = heads * head_dim;
  return {qkv + h * head_dim, qkv + dim + h * head_dim, qkv + 2 * dim + h * head_dim, 3 * dim};
}

// p[i * L + j] = softmax_j(scale q_i . k_j) over the keys that are not padded (a row with none
// is all 0).
inline void attention_weights(const Head& x, const bool* padded, int64_t length, int64_t head_dim, float scale,
                              float* p) {
  for (int64_t i = 0; i < length; ++i) {
    float* row = p + i * length;
    float row_max = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < length; ++j) {
      float s = 0.0f;
      for (int64_t d = 0; d < head_dim; ++d) s += x.q[i * x.stride + d] * x.k[j * x.stride + d];
      row[j] = s * scale;
      if (!padded[j]) row_max = std::max(row_max, row[j]);
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < length; ++j) {
      row[j] = padded[j] ? 0.0f : std::exp(row[j] - row_max);
      sum += row[j];
    }
    const float inverse = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (int64_t j = 0; j < length; ++j) row[j] *= inverse;
  }
}

// keep[n] for the L * L weights of one head, as 0 or the dropout's scale (one flat loop, which
// vectorises).
inline void dropout_factors(int64_t count, uint32_t first, const hash_mask::Mask& dropout, float* keep) {
  for (int64_t n = 0; n < count; ++n) {
    const uint32_t h = hash_mask::keep_hash(first + static_cast<uint32_t>(n), dropout.seed_a, dropout.seed_b);
    keep[n] = h >= dropout.threshold ? dropout.scale : 0.0f;
  }
}

uint32_t first_counter(int64_t sample, int64_t h, int64_t heads, int64_t length) {
  return static_cast<uint32_t>((sample * heads + h) * length * length);
}

}  // namespace

MLREC_CPU_CLONES void short_attention_cpu_forward(const float* qkv, const bool* padded, float* out, float* weights,
                                                  int64_t length, int64_t heads, int64_t head_dim, float scale,
                                                  int64_t sample, const hash_mask::Mask& dropout) {
  const int64_t dim = heads * head_dim, count = length * length;
  float keep[kShortAttentionCpuMaxLength * kShortAttentionCpuMaxLength];
  for (int64_t h = 0; h < heads; ++h) {
    const Head x = head_of(qkv, h, heads, head_dim);
    float* p = weights + h * count;
    attention_weights(x, padded, length, head_dim, scale, p);
    dropout_factors(count, first_counter(sample, h, heads, length), dropout, keep);
    for (int64_t i = 0; i < length; ++i) {
      float* o = out + i * dim + h * head_dim;
      for (int64_t d = 0; d < head_dim; ++d) o[d] = 0.0f;
      for (int64_t j = 0; j < length; ++j) {
        const float w = p[i * length + j] * keep[i * length + j];
        for (int64_t d = 0; d < head_dim; ++d) o[d] += w * x.v[j * x.stride + d];
      }
    }
  }
}

MLREC_CPU_CLONES void short_attention_cpu_backward(const float* qkv, const float* weights, const float* grad_out,
                                                   float* grad_qkv, int64_t length, int64_t heads, int64_t head_dim,
                                                   float scale, int64_t sample, const hash_mask::Mask& dropout) {
  const int64_t dim = heads * head_dim, count = length * length, stride = 3 * dim;
  float keep[kShortAttentionCpuMaxLength * kShortAttentionCpuMaxLength];
  float ds[kShortAttentionCpuMaxLength * kShortAttentionCpuMaxLength];
  for (int64_t h = 0; h < heads; ++h) {
    const Head x = head_of(qkv, h, heads, head_dim);
    const float* p = weights + h * count;
    dropout_factors(count, first_counter(sample, h, heads, length), dropout, keep);
    float* dq = grad_qkv + h * head_dim;
    float* dk = grad_qkv + dim + h * head_dim;
    float* dv = grad_qkv + 2 * dim + h * head_dim;
    for (int64_t j = 0; j < length; ++j) {
      for (int64_t d = 0; d < head_dim; ++d) dq[j * stride + d] = dk[j * stride + d] = dv[j * stride + d] = 0.0f;
    }
    for (int64_t i = 0; i < length; ++i) {
      const float* go = grad_out + i * dim + h * head_dim;
      // dP[i][j] = keep * (dO_i . v_j); dV_j += keep * P[i][j] dO_i; then dS = P (dP - sum_j P dP).
      float row_dot = 0.0f;
      for (int64_t j = 0; j < length; ++j) {
        const int64_t n = i * length + j;
        float g = 0.0f;
        const float* vj = x.v + j * x.stride;
        for (int64_t d = 0; d < head_dim; ++d) g += go[d] * vj[d];
        const float w = p[n] * keep[n];
        for (int64_t d = 0; d < head_dim; ++d) dv[j * stride + d] += w * go[d];
        ds[n] = g * keep[n];
        row_dot += p[n] * ds[n];
      }
      for (int64_t j = 0; j < length; ++j) {
        const int64_t n = i * length + j;
        ds[n] = p[n] * (ds[n] - row_dot) * scale;
      }
    }
    for (int64_t i = 0; i < length; ++i) {
      const float* qi = x.q + i * x.stride;
      for (int64_t j = 0; j < length; ++j) {
        const float s = ds[i * length + j];
        const float* kj = x.k + j * x.stride;
        for (int64_t d = 0; d < head_dim; ++d) {
          dq[i * stride + d] += s * kj[d];
          dk[j * stride + d] += s * qi[d];
        }
      }
    }
  }
}

}  // namespace mlrec::ops
