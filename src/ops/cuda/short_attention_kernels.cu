// Multi-head self-attention for short windows (the study's 10 tokens): one thread block per
// sample holds the sample's queries, keys and values (and in backward the scores) in shared
// memory and computes every head at once. torch's generic paths are built for long sequences:
// for 10 x 10 heads its math path launches ~12 kernels per direction (batched GEMMs on 10 x 10
// matrices, mask, softmax, dropout, layout copies) and its memory-efficient kernel pads every
// head to 64 x 64 tiles (profiled on an H200: BENCHMARKS.md).
//
// Layout. A thread owns a (head, query) row: its scores against every key live in registers
// (arrays of kMaxL, a template bound, indexed only in unrolled loops, so that nvcc keeps them out
// of local memory; the first version indexed them with the runtime length and ptxas gave it 128-
// and 256-byte stack frames). Each row reads its query once per feature and every key's feature
// as a broadcast among the head's rows. The products whose outputs are elements ([L, dim]) run a
// thread per element, so that consecutive threads write consecutive addresses; the softmax goes
// out through shared memory for the same reason.
//
// Types. q, k, v, the output and the gradients are float32 or bfloat16 (under bf16 autocast the
// input projection's output), computed in float32: in bf16 no conversion kernels around the op.
// The softmax saved for backward is float32.
//
// Dropout. The mask is drawn as the other kernels draw theirs (src/ops/philox.h): element e of
// the [B, heads, L, L] weights is kept by bit e % 8 of group e / 8's Philox block, a function of
// (seed, offset, e) alone. Forward writes the seed and offset it used to the device (a graph
// replay draws new ones there); backward reads them and draws the same mask, so that no mask or
// dropped weights are stored.
#include "ops/cuda/short_attention_kernels.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/cuda/PhiloxUtils.cuh>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <type_traits>

#include "ops/cuda/cuda_types.cuh"
#include "ops/philox.h"

namespace mlrec::ops::detail {
namespace {

// 128 threads, about a thread per (head, query) row of the BST's 12 heads x 10 tokens; a block per
// sample. Eight such blocks per SM hold an H100's or H200's 132 SMs' share of a 1,024 batch in one
// wave (the 16-key kernels are held to the 64 registers that allows, without spills).
constexpr int kThreads = 128;
constexpr int kBlocksPerSm(int max_length) { return max_length <= 16 ? 8 : 4; }
constexpr int kMaxLength = static_cast<int>(kShortAttentionMaxLength);
constexpr int kShortRows = 16;  // windows up to this long use the kernels with 16-element rows
static_assert(kMaxLength <= 56, "a row's dropout bits come from one philox::keep_bits call");

int64_t forward_shared_floats(int64_t length, int64_t dim, int64_t heads) {
  return length * 3 * dim + 2 * heads * length * length;  // qkv, softmax, weights after dropout
}

int64_t backward_shared_floats(int64_t length, int64_t dim, int64_t heads) {
  return length * 3 * dim + length * dim + 2 * heads * length * length;  // qkv, grad out, dS, weights
}

struct Dropout {
  bool on = false;
  uint32_t threshold = 0;  // philox::Dropout16
  float scale = 1.f;
};

// Bit j set: key j of the row whose first weight is element `first` of the [B, heads, L, L]
// weights is kept (all bits without dropout).
__device__ __forceinline__ uint64_t kept_keys(const Dropout& dropout, uint64_t seed, uint64_t offset, uint64_t first,
                                              int length) {
  return dropout.on ? philox::keep_bits(seed, offset, first, length, dropout.threshold) : ~uint64_t{0};
}

// out[j] = sum_d a[d] b[j * stride + d] for the row's j < length (0 beyond): a head's query
// against its keys (the scores), or its output gradient against its values. `out` stays in
// registers: indexed only in unrolled loops over the template bound.
template <int kMaxL>
__device__ __forceinline__ void row_products(const float* a, const float* b, int stride, int length, int head_dim,
                                             float (&out)[kMaxL]) {
#pragma unroll
  for (int j = 0; j < kMaxL; ++j) out[j] = 0.f;
  for (int d = 0; d < head_dim; ++d) {
    const float ad = a[d];
#pragma unroll
    for (int j = 0; j < kMaxL; ++j) {
      if (j < length) out[j] = fmaf(ad, b[j * stride + d], out[j]);
    }
  }
}

// One block per sample.
template <typename T, int kMaxL>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm(kMaxL))
    attention_forward(const T* __restrict__ qkv, const bool* __restrict__ pad, T* __restrict__ out,
                      float* __restrict__ probs, int length, int heads, int head_dim, float scale, Dropout dropout,
                      at::PhiloxCudaState philox, int64_t* __restrict__ rng_used) {
  extern __shared__ float shared[];
  const int dim = heads * head_dim, row = 3 * dim, rows = heads * length;
  const int64_t b = blockIdx.x;
  float* s_qkv = shared;                        // [L][3 * dim]
  float* s_probs = s_qkv + length * row;        // [heads][L][L]: softmax
  float* s_weights = s_probs + rows * length;   // [heads][L][L]: after dropout
  const T* g_qkv = qkv + b * length * row;
  for (int e = threadIdx.x; e < length * row; e += blockDim.x) s_qkv[e] = to_float(g_qkv[e]);
  uint32_t padded = 0;  // bit j: key j is padding
  for (int j = 0; j < length; ++j) padded |= static_cast<uint32_t>(pad[b * length + j]) << j;
  uint64_t seed = 0, offset = 0;
  if (dropout.on) {
    const auto seeds = at::cuda::philox::unpack(philox);
    seed = std::get<0>(seeds), offset = std::get<1>(seeds);
    if (b == 0 && threadIdx.x == 0) {
      rng_used[0] = static_cast<int64_t>(seed);
      rng_used[1] = static_cast<int64_t>(offset);
    }
  }
  __syncthreads();

  for (int r = threadIdx.x; r < rows; r += blockDim.x) {
    const int h = r / length, i = r % length;
    float s[kMaxL];
    row_products<kMaxL>(s_qkv + i * row + h * head_dim, s_qkv + dim + h * head_dim, row, length, head_dim, s);
    float top = -INFINITY;
#pragma unroll
    for (int j = 0; j < kMaxL; ++j) {
      if (j < length && !((padded >> j) & 1u)) top = fmaxf(top, s[j] * scale);
    }
    float sum = 0.f;
#pragma unroll
    for (int j = 0; j < kMaxL; ++j) {
      s[j] = j < length && !((padded >> j) & 1u) ? __expf(s[j] * scale - top) : 0.f;
      sum += s[j];
    }
    const float inv = sum > 0.f ? 1.f / sum : 0.f;  // a row with every key padded attends to nothing
    const uint64_t kept = kept_keys(dropout, seed, offset, static_cast<uint64_t>(b * rows + r) * length, length);
#pragma unroll
    for (int j = 0; j < kMaxL; ++j) {
      if (j < length) {
        const float p = s[j] * inv;
        s_probs[r * length + j] = p;
        s_weights[r * length + j] = (kept >> j) & 1u ? p * dropout.scale : 0.f;
      }
    }
  }
  __syncthreads();

  // out[i][c] = sum_j weights[h][i][j] v[j][c], c in head h
  T* g_out = out + b * length * dim;
  const float* v = s_qkv + 2 * dim;
  for (int e = threadIdx.x; e < length * dim; e += blockDim.x) {
    const int i = e / dim, c = e % dim, h = c / head_dim;
    const float* w = s_weights + (h * length + i) * length;
    float acc = 0.f;
    for (int j = 0; j < length; ++j) acc = fmaf(w[j], v[j * row + c], acc);
    g_out[e] = from_float<T>(acc);
  }
  float* g_probs = probs + b * rows * length;
  for (int e = threadIdx.x; e < rows * length; e += blockDim.x) g_probs[e] = s_probs[e];
}

// One block per sample: per (head, query) row dS = P * (dP - rowsum(P * dP)), dP taken through
// the dropout; then the query, key and value gradients of every element of the sample.
template <typename T, int kMaxL>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm(kMaxL))
    attention_backward(const T* __restrict__ grad_out, const T* __restrict__ qkv, const float* __restrict__ probs,
                       T* __restrict__ grad_qkv, int length, int heads, int head_dim, float scale, Dropout dropout,
                       const int64_t* __restrict__ rng_used) {
  extern __shared__ float shared[];
  const int dim = heads * head_dim, row = 3 * dim, rows = heads * length, square = length * length;
  const int64_t b = blockIdx.x;
  float* s_qkv = shared;                   // [L][3 * dim]
  float* s_grad = s_qkv + length * row;    // [L][dim]
  float* s_ds = s_grad + length * dim;     // [heads][L][L]
  float* s_weights = s_ds + rows * length; // [heads][L][L]: the softmax, then the weights after dropout
  for (int e = threadIdx.x; e < length * row; e += blockDim.x) s_qkv[e] = to_float(qkv[b * length * row + e]);
  for (int e = threadIdx.x; e < length * dim; e += blockDim.x) s_grad[e] = to_float(grad_out[b * length * dim + e]);
  for (int e = threadIdx.x; e < rows * length; e += blockDim.x) s_weights[e] = probs[b * rows * length + e];
  const uint64_t seed = dropout.on ? static_cast<uint64_t>(rng_used[0]) : 0;
  const uint64_t offset = dropout.on ? static_cast<uint64_t>(rng_used[1]) : 0;
  __syncthreads();

  for (int r = threadIdx.x; r < rows; r += blockDim.x) {
    const int h = r / length, i = r % length;
    float dp[kMaxL];  // against the values
    row_products<kMaxL>(s_grad + i * dim + h * head_dim, s_qkv + 2 * dim + h * head_dim, row, length, head_dim, dp);
    // Through dropout: dropped weights pass no gradient, kept ones are scaled.
    const uint64_t kept = kept_keys(dropout, seed, offset, static_cast<uint64_t>(b * rows + r) * length, length);
    float* w = s_weights + r * length;  // this thread's row alone until the barrier
    float p[kMaxL];
    float weighted = 0.f;
#pragma unroll
    for (int j = 0; j < kMaxL; ++j) {
      p[j] = 0.f;
      if (j < length) {
        p[j] = w[j];
        dp[j] = (kept >> j) & 1u ? dp[j] * dropout.scale : 0.f;
        weighted = fmaf(p[j], dp[j], weighted);
      }
    }
#pragma unroll
    for (int j = 0; j < kMaxL; ++j) {
      if (j < length) {
        s_ds[r * length + j] = p[j] * (dp[j] - weighted);
        w[j] = (kept >> j) & 1u ? p[j] * dropout.scale : 0.f;
      }
    }
  }
  __syncthreads();

  T* g_qkv = grad_qkv + b * length * row;
  for (int e = threadIdx.x; e < length * dim; e += blockDim.x) {
    const int n = e / dim, c = e % dim, h = c / head_dim;
    const float* ds_row = s_ds + (h * length + n) * length;  // dS[h][n][*]: n as the query
    const float* ds_col = s_ds + h * square + n;             // dS[h][*][n]: n as the key
    const float* w_col = s_weights + h * square + n;         // weights[h][*][n]
    float dq = 0.f, dk = 0.f, dv = 0.f;
    for (int m = 0; m < length; ++m) {
      dq = fmaf(ds_row[m], s_qkv[m * row + dim + c], dq);      // keys
      dk = fmaf(ds_col[m * length], s_qkv[m * row + c], dk);   // queries
      dv = fmaf(w_col[m * length], s_grad[m * dim + c], dv);   // output gradients
    }
    g_qkv[n * row + c] = from_float<T>(dq * scale);
    g_qkv[n * row + dim + c] = from_float<T>(dk * scale);
    g_qkv[n * row + 2 * dim + c] = from_float<T>(dv);
  }
}

void check_inputs(const at::Tensor& qkv, int64_t heads) {
  TORCH_CHECK(qkv.is_cuda() && (qkv.scalar_type() == at::kFloat || qkv.scalar_type() == at::kBFloat16) &&
                  qkv.dim() == 3 && qkv.is_contiguous(),
              "short attention: qkv must be a contiguous float32 or bfloat16 CUDA tensor [B, L, 3 * dim]");
  TORCH_CHECK(heads >= 1, "short attention: at least one head");
  TORCH_CHECK(qkv.size(2) % (3 * heads) == 0, "short attention: 3 * dim must divide into heads");
  TORCH_CHECK(qkv.size(1) <= kShortAttentionMaxLength, "short attention: at most ", kShortAttentionMaxLength,
              " tokens");
}

// The one choice of instantiation both directions make: calls launch(T*, bound) with the
// kernels' element type for qkv (float or __nv_bfloat16; the pointer only carries the type) and
// the row bound for the window, as std::integral_constant<int, kShortRows or kMaxLength>.
template <typename Launch>
void with_kernel_types(const at::Tensor& qkv, Launch&& launch) {
  auto by_length = [&](auto* type) {
    if (qkv.size(1) <= kShortRows) {
      launch(type, std::integral_constant<int, kShortRows>{});
    } else {
      launch(type, std::integral_constant<int, kMaxLength>{});
    }
  };
  if (qkv.scalar_type() == at::kBFloat16) {
    by_length(static_cast<__nv_bfloat16*>(nullptr));
  } else {
    by_length(static_cast<float*>(nullptr));
  }
}

Dropout dropout_of(double p) {
  Dropout d;
  if (p > 0) {
    const auto sixteen = philox::dropout16(p);
    d.on = true;
    d.threshold = sixteen.threshold;
    d.scale = sixteen.scale;
  }
  return d;
}

}  // namespace

int64_t short_attention_shared_bytes(int64_t length, int64_t dim, int64_t heads) {
  return static_cast<int64_t>(sizeof(float)) *
         std::max(forward_shared_floats(length, dim, heads), backward_shared_floats(length, dim, heads));
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> short_attention_forward_cuda(
    const at::Tensor& qkv, const at::Tensor& pad, int64_t heads, double dropout_p, double scale) {
  check_inputs(qkv, heads);
  TORCH_CHECK(pad.scalar_type() == at::kBool && pad.is_contiguous() && pad.sizes() == qkv.sizes().slice(0, 2),
              "short attention: pad must be a contiguous bool [B, L]");
  check_device(pad, qkv.device(), "short attention", "pad");
  TORCH_CHECK(dropout_p >= 0 && dropout_p < 1, "short attention: dropout must be in [0, 1)");
  const c10::cuda::CUDAGuard guard(qkv.device());
  const int64_t batch = qkv.size(0), length = qkv.size(1), dim = qkv.size(2) / 3, head_dim = dim / heads;
  auto out = at::empty({batch, length, dim}, qkv.options());
  auto probs = at::empty({batch, heads, length, length}, qkv.options().dtype(at::kFloat));
  const Dropout dropout = dropout_of(dropout_p);
  auto rng_used = dropout.on ? at::empty({2}, qkv.options().dtype(at::kLong)) : at::Tensor();  // written by the kernel
  if (batch == 0) return {out, probs, rng_used};

  at::PhiloxCudaState philox;
  if (dropout.on) {
    auto* generator = at::get_generator_or_default<at::CUDAGeneratorImpl>(
        std::nullopt, at::cuda::detail::getDefaultCUDAGenerator());
    std::lock_guard<std::mutex> lock(generator->mutex_);
    philox = generator->philox_cuda_state(4);  // one Philox block per subsequence
  }
  const size_t shared = sizeof(float) * static_cast<size_t>(forward_shared_floats(length, dim, heads));
  with_kernel_types(qkv, [&](auto* type, auto bound) {
    using T = std::remove_pointer_t<decltype(type)>;
    const auto stream = at::cuda::getCurrentCUDAStream();
    attention_forward<T, bound()><<<static_cast<unsigned>(batch), kThreads, shared, stream>>>(
        elements<T>(qkv), pad.data_ptr<bool>(), elements<T>(out), probs.data_ptr<float>(), static_cast<int>(length),
        static_cast<int>(heads), static_cast<int>(head_dim), static_cast<float>(scale), dropout, philox,
        dropout.on ? rng_used.data_ptr<int64_t>() : nullptr);
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {out, probs, rng_used};
}

at::Tensor short_attention_backward_cuda(const at::Tensor& grad_out, const at::Tensor& qkv, const at::Tensor& probs,
                                         const at::Tensor& rng_used, int64_t heads, double dropout_p, double scale) {
  check_inputs(qkv, heads);
  const c10::cuda::CUDAGuard guard(qkv.device());
  const int64_t batch = qkv.size(0), length = qkv.size(1), dim = qkv.size(2) / 3, head_dim = dim / heads;
  // The gradient arrives in the output's type, which is qkv's.
  auto grad = grad_out.to(qkv.scalar_type()).contiguous();
  TORCH_CHECK(grad.sizes() == at::IntArrayRef({batch, length, dim}), "short attention: the gradient must be [B, L, dim]");
  check_device(grad, qkv.device(), "short attention", "the gradient");
  check_device(probs, qkv.device(), "short attention", "probs");
  TORCH_CHECK(probs.scalar_type() == at::kFloat && probs.is_contiguous() &&
                  probs.sizes() == at::IntArrayRef({batch, heads, length, length}),
              "short attention: probs must be the forward's float [B, heads, L, L]");
  const Dropout dropout = dropout_of(dropout_p);
  if (dropout.on) check_rng_used(rng_used, qkv.device(), "short attention");
  auto grad_qkv = at::empty_like(qkv);
  if (batch == 0) return grad_qkv;
  const size_t shared = sizeof(float) * static_cast<size_t>(backward_shared_floats(length, dim, heads));
  with_kernel_types(qkv, [&](auto* type, auto bound) {
    using T = std::remove_pointer_t<decltype(type)>;
    const auto stream = at::cuda::getCurrentCUDAStream();
    attention_backward<T, bound()><<<static_cast<unsigned>(batch), kThreads, shared, stream>>>(
        elements<T>(grad), elements<T>(qkv), probs.data_ptr<float>(), elements<T>(grad_qkv), static_cast<int>(length),
        static_cast<int>(heads), static_cast<int>(head_dim), static_cast<float>(scale), dropout,
        dropout.on ? rng_used.data_ptr<int64_t>() : nullptr);
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return grad_qkv;
}

}  // namespace mlrec::ops::detail
