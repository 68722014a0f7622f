// The first version of mlrec's CUDA attention for short windows (model.attention = short_v1, and
// auto on CUDA): measured on an H200 at ~50 us each way for the BST's step (BENCHMARKS.md), kept
// as the default until a GPU has tested and measured its rewrite (short_attention_kernels.cu),
// then to be removed. float32 only; the dropout mask is curand's, stored as the dropped weights.
//
// One thread block per sample holds the sample's queries, keys and values (and in backward the
// scores) in shared memory and computes every head at once. torch's generic paths are built for
// long sequences: for 10 x 10 heads its math path launches ~12 kernels per direction (batched
// GEMMs on 10 x 10 matrices, mask, softmax, dropout, layout copies) and its memory-efficient
// kernel pads every head to 64 x 64 tiles (profiled on an H200: BENCHMARKS.md).
#include "ops/cuda/short_attention_kernels.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/cuda/PhiloxUtils.cuh>
#include <c10/cuda/CUDAGuard.h>
#include <curand_kernel.h>

#include <algorithm>
#include <mutex>

#include "ops/cuda/cuda_types.cuh"

namespace mlrec::ops::detail {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxLength = static_cast<int>(kShortAttentionMaxLength);

int64_t forward_shared_floats(int64_t length, int64_t dim, int64_t heads) {
  return length * 3 * dim + heads * length * length;  // qkv, dropped probs
}

int64_t backward_shared_floats(int64_t length, int64_t dim, int64_t heads) {
  return length * 3 * dim + length * dim + 2 * heads * length * length;  // qkv, grad out, dS, dropped
}

// One block per sample. Each thread owns (head, query) rows: scores against every key, masked
// softmax, dropout; then each thread computes output elements from the dropped probabilities.
__global__ void attention_v1_forward(const float* __restrict__ qkv, const bool* __restrict__ pad,
                                  float* __restrict__ out, float* __restrict__ probs,
                                  float* __restrict__ dropped, int length, int heads, int head_dim, float scale,
                                  float dropout_p, at::PhiloxCudaState philox) {
  extern __shared__ float shared[];
  const int dim = heads * head_dim, row = 3 * dim, b = blockIdx.x;
  float* s_qkv = shared;                   // [L][3 * dim]
  float* s_dropped = s_qkv + length * row; // [heads][L][L]
  const float* g_qkv = qkv + static_cast<size_t>(b) * length * row;
  for (int e = threadIdx.x; e < length * row; e += blockDim.x) s_qkv[e] = g_qkv[e];
  const bool* g_pad = pad + static_cast<size_t>(b) * length;
  __syncthreads();

  const bool use_dropout = dropout_p > 0.f;
  const float keep_scale = use_dropout ? 1.f / (1.f - dropout_p) : 1.f;
  curandStatePhilox4_32_10_t rng;
  if (use_dropout) {
    const auto seeds = at::cuda::philox::unpack(philox);
    curand_init(std::get<0>(seeds), static_cast<uint64_t>(b) * blockDim.x + threadIdx.x, std::get<1>(seeds), &rng);
  }
  const size_t sample_base = static_cast<size_t>(b) * heads * length * length;
  for (int r = threadIdx.x; r < heads * length; r += blockDim.x) {
    const int h = r / length, i = r % length;
    const float* q = s_qkv + i * row + h * head_dim;
    float s[kMaxLength];
    float top = -INFINITY;
    for (int j = 0; j < length; ++j) {
      float acc = -INFINITY;
      if (!g_pad[j]) {
        const float* k = s_qkv + j * row + dim + h * head_dim;
        acc = 0.f;
        for (int d = 0; d < head_dim; ++d) acc = fmaf(q[d], k[d], acc);
        acc *= scale;
      }
      s[j] = acc;
      top = fmaxf(top, acc);
    }
    float sum = 0.f;
    for (int j = 0; j < length; ++j) {
      s[j] = g_pad[j] ? 0.f : __expf(s[j] - top);
      sum += s[j];
    }
    const float inv = sum > 0.f ? 1.f / sum : 0.f;  // a row with every key padded attends to nothing
    const size_t base = sample_base + static_cast<size_t>(r) * length;
    for (int j0 = 0; j0 < length; j0 += 4) {
      const float4 u = use_dropout ? curand_uniform4(&rng) : make_float4(1.f, 1.f, 1.f, 1.f);
      const float draws[4] = {u.x, u.y, u.z, u.w};
      for (int t = 0; t < 4 && j0 + t < length; ++t) {
        const int j = j0 + t;
        const float p = s[j] * inv;
        // curand_uniform4 draws from (0, 1]: kept with probability 1 - dropout_p
        const float kept = draws[t] > dropout_p ? p * keep_scale : 0.f;
        probs[base + j] = p;
        dropped[base + j] = kept;
        s_dropped[r * length + j] = kept;
      }
    }
  }
  __syncthreads();

  float* g_out = out + static_cast<size_t>(b) * length * dim;
  for (int e = threadIdx.x; e < length * dim; e += blockDim.x) {
    const int i = e / dim, c = e % dim, h = c / head_dim;
    const float* weights = s_dropped + (h * length + i) * length;
    float acc = 0.f;
    for (int j = 0; j < length; ++j) acc = fmaf(weights[j], s_qkv[j * row + 2 * dim + c], acc);
    g_out[e] = acc;
  }
}

// One block per sample: dS = P * (dP - rowsum(P * dP)) per (head, query) row, then the query,
// key and value gradients of every element of the sample.
__global__ void attention_v1_backward(const float* __restrict__ grad_out, const float* __restrict__ qkv,
                                   const float* __restrict__ probs, const float* __restrict__ dropped,
                                   float* __restrict__ grad_qkv, int length, int heads, int head_dim, float scale,
                                   float dropout_p) {
  extern __shared__ float shared[];
  const int dim = heads * head_dim, row = 3 * dim, b = blockIdx.x, square = length * length;
  float* s_qkv = shared;                         // [L][3 * dim]
  float* s_grad = s_qkv + length * row;          // [L][dim]
  float* s_ds = s_grad + length * dim;           // [heads][L][L]
  float* s_dropped = s_ds + heads * square;      // [heads][L][L]
  const size_t sample_base = static_cast<size_t>(b) * heads * square;
  for (int e = threadIdx.x; e < length * row; e += blockDim.x) s_qkv[e] = qkv[static_cast<size_t>(b) * length * row + e];
  for (int e = threadIdx.x; e < length * dim; e += blockDim.x) s_grad[e] = grad_out[static_cast<size_t>(b) * length * dim + e];
  for (int e = threadIdx.x; e < heads * square; e += blockDim.x) s_dropped[e] = dropped[sample_base + e];
  __syncthreads();

  const float keep_scale = dropout_p > 0.f ? 1.f / (1.f - dropout_p) : 1.f;
  for (int r = threadIdx.x; r < heads * length; r += blockDim.x) {
    const int h = r / length, i = r % length;
    const float* g = s_grad + i * dim + h * head_dim;
    float dp[kMaxLength];
    float p[kMaxLength];
    float weighted = 0.f;
    for (int j = 0; j < length; ++j) {
      const float* v = s_qkv + j * row + 2 * dim + h * head_dim;
      float acc = 0.f;
      for (int d = 0; d < head_dim; ++d) acc = fmaf(g[d], v[d], acc);
      // Through dropout: dropped elements pass no gradient, kept ones are scaled. A kept
      // element with probability 0 (a padded key) gets no gradient either way: dS = P * (...).
      dp[j] = dropout_p <= 0.f ? acc : s_dropped[r * length + j] != 0.f ? acc * keep_scale : 0.f;
      p[j] = probs[sample_base + static_cast<size_t>(r) * length + j];
      weighted = fmaf(p[j], dp[j], weighted);
    }
    for (int j = 0; j < length; ++j) s_ds[r * length + j] = p[j] * (dp[j] - weighted);
  }
  __syncthreads();

  float* g_qkv = grad_qkv + static_cast<size_t>(b) * length * row;
  for (int e = threadIdx.x; e < length * dim; e += blockDim.x) {
    const int n = e / dim, c = e % dim, h = c / head_dim;
    const float* ds_row = s_ds + (h * length + n) * length;  // dS[h][n][*]: n as the query
    const float* ds_col = s_ds + h * square + n;             // dS[h][*][n]: n as the key
    const float* kept_col = s_dropped + h * square + n;
    float dq = 0.f, dk = 0.f, dv = 0.f;
    for (int m = 0; m < length; ++m) {
      dq = fmaf(ds_row[m], s_qkv[m * row + dim + c], dq);       // keys
      dk = fmaf(ds_col[m * length], s_qkv[m * row + c], dk);    // queries
      dv = fmaf(kept_col[m * length], s_grad[m * dim + c], dv); // output gradients
    }
    g_qkv[n * row + c] = dq * scale;
    g_qkv[n * row + dim + c] = dk * scale;
    g_qkv[n * row + 2 * dim + c] = dv;
  }
}

void check_inputs(const at::Tensor& qkv, int64_t heads) {
  TORCH_CHECK(qkv.is_cuda() && qkv.scalar_type() == at::kFloat && qkv.dim() == 3 && qkv.is_contiguous(),
              "short attention: qkv must be a contiguous float CUDA tensor [B, L, 3 * dim]");
  TORCH_CHECK(heads >= 1, "short attention: at least one head");
  TORCH_CHECK(qkv.size(2) % (3 * heads) == 0, "short attention: 3 * dim must divide into heads");
  TORCH_CHECK(qkv.size(1) <= kShortAttentionMaxLength, "short attention: at most ", kShortAttentionMaxLength,
              " tokens");
}

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor> short_attention_v1_forward_cuda(
    const at::Tensor& qkv, const at::Tensor& pad, int64_t heads, double dropout_p, double scale) {
  check_inputs(qkv, heads);
  TORCH_CHECK(pad.scalar_type() == at::kBool && pad.is_contiguous() && pad.sizes() == qkv.sizes().slice(0, 2),
              "short attention: pad must be a contiguous bool [B, L]");
  check_device(pad, qkv.device(), "short attention", "pad");
  const c10::cuda::CUDAGuard guard(qkv.device());
  const int64_t batch = qkv.size(0), length = qkv.size(1), dim = qkv.size(2) / 3, head_dim = dim / heads;
  auto out = at::empty({batch, length, dim}, qkv.options());
  auto probs = at::empty({batch, heads, length, length}, qkv.options());
  auto dropped = at::empty_like(probs);
  if (batch == 0) return {out, probs, dropped};

  at::PhiloxCudaState philox;
  if (dropout_p > 0) {
    // Each thread draws 4 numbers per curand_uniform4 call, one call per 4 keys of each row it owns.
    const int64_t rows_per_thread = (heads * length + kThreads - 1) / kThreads;
    const int64_t increment = rows_per_thread * ((length + 3) / 4) * 4;
    auto* generator = at::get_generator_or_default<at::CUDAGeneratorImpl>(
        std::nullopt, at::cuda::detail::getDefaultCUDAGenerator());
    std::lock_guard<std::mutex> lock(generator->mutex_);
    philox = generator->philox_cuda_state(static_cast<uint64_t>(increment));
  }
  const size_t shared = sizeof(float) * static_cast<size_t>(forward_shared_floats(length, dim, heads));
  attention_v1_forward<<<static_cast<unsigned>(batch), kThreads, shared, at::cuda::getCurrentCUDAStream()>>>(
      qkv.data_ptr<float>(), pad.data_ptr<bool>(), out.data_ptr<float>(), probs.data_ptr<float>(),
      dropped.data_ptr<float>(), static_cast<int>(length), static_cast<int>(heads), static_cast<int>(head_dim),
      static_cast<float>(scale), static_cast<float>(dropout_p), philox);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {out, probs, dropped};
}

at::Tensor short_attention_v1_backward_cuda(const at::Tensor& grad_out, const at::Tensor& qkv,
                                         const at::Tensor& probs, const at::Tensor& dropped, int64_t heads,
                                         double dropout_p, double scale) {
  check_inputs(qkv, heads);
  const c10::cuda::CUDAGuard guard(qkv.device());
  const int64_t batch = qkv.size(0), length = qkv.size(1), dim = qkv.size(2) / 3, head_dim = dim / heads;
  auto grad = grad_out.contiguous();
  TORCH_CHECK(grad.scalar_type() == at::kFloat && grad.sizes() == at::IntArrayRef({batch, length, dim}),
              "short attention: the gradient must be float [B, L, dim]");
  check_device(grad, qkv.device(), "short attention", "the gradient");
  for (const auto* t : {&probs, &dropped}) {
    TORCH_CHECK(t->scalar_type() == at::kFloat && t->is_contiguous() &&
                    t->sizes() == at::IntArrayRef({batch, heads, length, length}),
                "short attention: probs must be the forward's float [B, heads, L, L]");
    check_device(*t, qkv.device(), "short attention", "probs");
  }
  auto grad_qkv = at::empty_like(qkv);
  if (batch == 0) return grad_qkv;
  const size_t shared = sizeof(float) * static_cast<size_t>(backward_shared_floats(length, dim, heads));
  attention_v1_backward<<<static_cast<unsigned>(batch), kThreads, shared, at::cuda::getCurrentCUDAStream()>>>(
      grad.data_ptr<float>(), qkv.data_ptr<float>(), probs.data_ptr<float>(), dropped.data_ptr<float>(),
      grad_qkv.data_ptr<float>(), static_cast<int>(length), static_cast<int>(heads), static_cast<int>(head_dim),
      static_cast<float>(scale), static_cast<float>(dropout_p));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return grad_qkv;
}

}  // namespace mlrec::ops::detail
