// The feed-forward activation on CUDA, dropout(gelu(t)), as one kernel each way (behind
// ops::linear_gelu_dropout), in float32 or, under bf16 autocast, bfloat16. torch runs it as
// four elementwise kernels over the BST's 10,240 x 2,048 activations (their cost on an H200:
// BENCHMARKS.md, "Why each kernel exists"), and its dropout also writes and reads a byte mask. Here
// forward reads t and writes y; backward reads the upstream gradient and t and writes the
// gradient: no mask is stored, backward draws the forward's numbers again. Backward can also
// add up the gradient's columns on the way (the bias gradient of the linear layer that made t),
// which saves reading those 84 MB once more.
//
// The numbers: Philox from torch's CUDA generator's seed and offset, so seeds and graph capture
// behave as torch's dropout does. Element group g (elements 8g .. 8g+7) takes one Philox block
// (subsequence g at the call's offset, src/ops/philox.h) and splits it into eight 16-bit
// uniforms: the mask is a function of (seed, offset, element index) alone, whatever the launch
// shape. (The first version drew curand_uniform4 per 4 elements: two Philox evaluations per
// four elements, and the kernels were compute-bound on them.) Forward writes the seed and
// offset it used into a two-element device tensor (as torch's fused attention does), which
// backward reads: inside a captured graph they are only known on the device, at replay.
#include "ops/cuda/gelu_dropout_kernels.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/cuda/PhiloxUtils.cuh>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "ops/cuda/column_sums_kernels.h"
#include "ops/cuda/cuda_types.cuh"
#include "ops/philox.h"

namespace mlrec::ops::detail {
namespace {

constexpr int kGroup = 8;  // elements per Philox block
constexpr int kThreads = 256;
constexpr float kSqrtHalf = 0.70710678118654752f;    // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143268f;  // 1 / sqrt(2 pi)

__device__ __forceinline__ float gelu(float v) { return 0.5f * v * (1.f + erff(v * kSqrtHalf)); }

__device__ __forceinline__ float gelu_derivative(float v) {
  return 0.5f * (1.f + erff(v * kSqrtHalf)) + v * kInvSqrt2Pi * __expf(-0.5f * v * v);
}

// The 8 elements of group g as floats (zeros past n). kVector: the tensor is 16-byte aligned
// and n a multiple of 8, so a group is two float4 loads, or one 16-byte load of 8 bf16.
template <typename T, bool kVector>
__device__ __forceinline__ void load8(const T* __restrict__ p, int64_t g, int64_t n, float (&v)[kGroup]) {
  if constexpr (kVector && sizeof(T) == 4) {
    const float4 a = reinterpret_cast<const float4*>(p)[2 * g], b = reinterpret_cast<const float4*>(p)[2 * g + 1];
    v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
  } else if constexpr (kVector) {
    const uint4 raw = reinterpret_cast<const uint4*>(p)[g];
    const uint32_t halves[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      __nv_bfloat162 pair;
      memcpy(&pair, &halves[k], sizeof(pair));
      const float2 f = __bfloat1622float2(pair);
      v[2 * k] = f.x, v[2 * k + 1] = f.y;
    }
  } else {
#pragma unroll
    for (int j = 0; j < kGroup; ++j) {
      const int64_t i = kGroup * g + j;
      v[j] = i < n ? to_float(p[i]) : 0.f;
    }
  }
}

template <typename T, bool kVector>
__device__ __forceinline__ void store8(T* __restrict__ p, int64_t g, int64_t n, const float (&v)[kGroup]) {
  if constexpr (kVector && sizeof(T) == 4) {
    reinterpret_cast<float4*>(p)[2 * g] = make_float4(v[0], v[1], v[2], v[3]);
    reinterpret_cast<float4*>(p)[2 * g + 1] = make_float4(v[4], v[5], v[6], v[7]);
  } else if constexpr (kVector) {
    uint32_t halves[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const __nv_bfloat162 pair = __floats2bfloat162_rn(v[2 * k], v[2 * k + 1]);
      memcpy(&halves[k], &pair, sizeof(pair));
    }
    reinterpret_cast<uint4*>(p)[g] = make_uint4(halves[0], halves[1], halves[2], halves[3]);
  } else {
#pragma unroll
    for (int j = 0; j < kGroup; ++j) {
      const int64_t i = kGroup * g + j;
      if (i < n) p[i] = from_float<T>(v[j]);
    }
  }
}

template <typename T, bool kVector>
__global__ void gelu_dropout_forward(const T* __restrict__ t, T* __restrict__ y, int64_t n, uint32_t threshold,
                                     float scale, at::PhiloxCudaState philox, int64_t* __restrict__ rng_used) {
  const auto seeds = at::cuda::philox::unpack(philox);
  const uint64_t seed = std::get<0>(seeds), offset = std::get<1>(seeds);
  const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g == 0) {
    rng_used[0] = static_cast<int64_t>(seed);
    rng_used[1] = static_cast<int64_t>(offset);
  }
  if (kGroup * g >= n) return;
  const uint32_t keep = philox::keep_bits8(seed, offset, static_cast<uint64_t>(g), threshold);
  float v[kGroup];
  load8<T, kVector>(t, g, n, v);
#pragma unroll
  for (int j = 0; j < kGroup; ++j) v[j] = gelu(v[j]) * ((keep >> j) & 1u ? scale : 0.f);  // (NaN stays NaN, as in torch)
  store8<T, kVector>(y, g, n, v);
}

// The gradient with respect to t of group g, into d (which holds the upstream gradient).
template <typename T, bool kVector>
__device__ __forceinline__ void backward_group(const T* __restrict__ grad_y, const T* __restrict__ t, int64_t g,
                                               int64_t n, uint64_t seed, uint64_t offset, uint32_t threshold,
                                               float scale, float (&d)[kGroup]) {
  const uint32_t keep = philox::keep_bits8(seed, offset, static_cast<uint64_t>(g), threshold);
  float v[kGroup];
  load8<T, kVector>(t, g, n, v);
  load8<T, kVector>(grad_y, g, n, d);
#pragma unroll
  for (int j = 0; j < kGroup; ++j) d[j] *= ((keep >> j) & 1u ? scale : 0.f) * gelu_derivative(v[j]);
}

template <typename T, bool kVector>
__global__ void gelu_dropout_backward(const T* __restrict__ grad_y, const T* __restrict__ t, T* __restrict__ grad_t,
                                      int64_t n, uint32_t threshold, float scale,
                                      const int64_t* __restrict__ rng_used) {
  const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (kGroup * g >= n) return;
  float d[kGroup];
  backward_group<T, kVector>(grad_y, t, g, n, static_cast<uint64_t>(rng_used[0]), static_cast<uint64_t>(rng_used[1]),
                             threshold, scale, d);
  store8<T, kVector>(grad_t, g, n, d);
}

// Backward over t [rows, cols] (cols a multiple of 8, aligned) that also sums the gradient's
// columns: a block is 32 column groups (256 columns) x 8 row phases, and down the rows each
// thread keeps the sums of its 8 columns; the block's phases are added in shared memory into
// one row of `partial` [gridDim.y, cols], which column_sums_cuda then adds up. The group of
// (row r, column group c) is r * cols / 8 + c, as in the forward's flat indexing.
constexpr int kColumnGroupsPerBlock = 32;
constexpr int kRowPhases = 8;
constexpr int kRowsPerThread = 8;  // the target before the row blocks run out
constexpr int kMaxRowBlocks = 1024;

// (at most 64 registers: 4 blocks, half the SM's threads, in flight; 95 without the bound)
template <typename T>
__global__ void __launch_bounds__(kColumnGroupsPerBlock * kRowPhases, 4) gelu_dropout_backward_column_sums(const T* __restrict__ grad_y, const T* __restrict__ t,
                                                  T* __restrict__ grad_t, float* __restrict__ partial, int64_t rows,
                                                  int64_t cols, uint32_t threshold, float scale,
                                                  const int64_t* __restrict__ rng_used) {
  __shared__ float s_sum[kRowPhases][kGroup][kColumnGroupsPerBlock];
  const uint64_t seed = static_cast<uint64_t>(rng_used[0]), offset = static_cast<uint64_t>(rng_used[1]);
  const int64_t groups_per_row = cols / kGroup;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColumnGroupsPerBlock + threadIdx.x;
  const int64_t n = rows * cols;
  float sums[kGroup] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  if (c < groups_per_row) {
    const int64_t stride = static_cast<int64_t>(gridDim.y) * kRowPhases;
    for (int64_t r = static_cast<int64_t>(blockIdx.y) * kRowPhases + threadIdx.y; r < rows; r += stride) {
      const int64_t g = r * groups_per_row + c;
      float d[kGroup];
      backward_group<T, true>(grad_y, t, g, n, seed, offset, threshold, scale, d);
      store8<T, true>(grad_t, g, n, d);
#pragma unroll
      for (int j = 0; j < kGroup; ++j) sums[j] += d[j];
    }
  }
#pragma unroll
  for (int j = 0; j < kGroup; ++j) s_sum[threadIdx.y][j][threadIdx.x] = sums[j];
  __syncthreads();
  // Thread k of the block's 256 adds up one column over the phases: column group k % 32,
  // element k / 32 (conflict-free shared reads).
  const int k = threadIdx.y * kColumnGroupsPerBlock + threadIdx.x;
  const int group_in_block = k % kColumnGroupsPerBlock, j = k / kColumnGroupsPerBlock;
  const int64_t column = (static_cast<int64_t>(blockIdx.x) * kColumnGroupsPerBlock + group_in_block) * kGroup + j;
  if (column < cols) {
    float total = 0.f;
#pragma unroll
    for (int phase = 0; phase < kRowPhases; ++phase) total += s_sum[phase][j][group_in_block];
    partial[static_cast<int64_t>(blockIdx.y) * cols + column] = total;
  }
}
static_assert(kRowPhases == kGroup, "the final sum takes one thread per column of the block");

constexpr const char* kOp = "gelu_dropout";

bool aligned(const at::Tensor& x) { return reinterpret_cast<uintptr_t>(x.data_ptr()) % 16 == 0; }

unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>(((n + kGroup - 1) / kGroup + kThreads - 1) / kThreads);
}

template <typename T>
void launch_forward(const at::Tensor& t, at::Tensor& y, const philox::Dropout16& d, const at::PhiloxCudaState& philox,
                    at::Tensor& rng_used) {
  const int64_t n = t.numel();
  const auto stream = at::cuda::getCurrentCUDAStream();
  if (n % kGroup == 0 && aligned(t) && aligned(y)) {
    gelu_dropout_forward<T, true><<<blocks_for(n), kThreads, 0, stream>>>(
        elements<T>(t), elements<T>(y), n, d.threshold, d.scale, philox, rng_used.data_ptr<int64_t>());
  } else {
    gelu_dropout_forward<T, false><<<blocks_for(n), kThreads, 0, stream>>>(
        elements<T>(t), elements<T>(y), n, d.threshold, d.scale, philox, rng_used.data_ptr<int64_t>());
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename T>
void launch_backward(const at::Tensor& grad, const at::Tensor& t, at::Tensor& grad_t, const philox::Dropout16& d,
                     const at::Tensor& rng_used) {
  const int64_t n = t.numel();
  const auto stream = at::cuda::getCurrentCUDAStream();
  if (n % kGroup == 0 && aligned(t) && aligned(grad) && aligned(grad_t)) {
    gelu_dropout_backward<T, true><<<blocks_for(n), kThreads, 0, stream>>>(
        elements<T>(grad), elements<T>(t), elements<T>(grad_t), n, d.threshold, d.scale, rng_used.data_ptr<int64_t>());
  } else {
    gelu_dropout_backward<T, false><<<blocks_for(n), kThreads, 0, stream>>>(
        elements<T>(grad), elements<T>(t), elements<T>(grad_t), n, d.threshold, d.scale, rng_used.data_ptr<int64_t>());
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename T>
at::Tensor launch_backward_column_sums(const at::Tensor& grad, const at::Tensor& t, at::Tensor& grad_t,
                                       const philox::Dropout16& d, const at::Tensor& rng_used) {
  const int64_t rows = t.size(0), cols = t.size(1);
  const int64_t groups_per_row = cols / kGroup;
  const auto column_blocks =
      static_cast<unsigned>((groups_per_row + kColumnGroupsPerBlock - 1) / kColumnGroupsPerBlock);
  const int64_t row_blocks = std::clamp<int64_t>(rows / (kRowPhases * kRowsPerThread), 1, kMaxRowBlocks);
  auto partial = at::empty({row_blocks, cols}, t.options().dtype(at::kFloat));
  gelu_dropout_backward_column_sums<T>
      <<<dim3(column_blocks, static_cast<unsigned>(row_blocks)), dim3(kColumnGroupsPerBlock, kRowPhases), 0,
         at::cuda::getCurrentCUDAStream()>>>(elements<T>(grad), elements<T>(t), elements<T>(grad_t),
                                             partial.data_ptr<float>(), rows, cols, d.threshold, d.scale,
                                             rng_used.data_ptr<int64_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return row_blocks == 1 ? partial.view({cols}) : column_sums_cuda(partial);
}

// The upstream gradient in t's layout and type (autograd may hand it over as another float type
// or non-contiguous).
at::Tensor gradient_like(const at::Tensor& grad_y, const at::Tensor& t) {
  TORCH_CHECK(grad_y.sizes() == t.sizes(), "gelu_dropout: gradient and input differ in shape");
  auto grad = grad_y.to(t.scalar_type()).contiguous();
  check_activation_cuda(grad, kOp, "gradient");
  return grad;
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> gelu_dropout_forward_cuda(const at::Tensor& t, double p) {
  check_activation_cuda(t, kOp, "input");
  TORCH_CHECK(p > 0 && p < 1, "gelu_dropout: p must be in (0, 1)");
  const c10::cuda::CUDAGuard guard(t.device());
  auto y = at::empty_like(t);
  auto rng_used = at::empty({2}, t.options().dtype(at::kLong));  // written by the kernel
  if (t.numel() == 0) return {y, rng_used};
  at::PhiloxCudaState philox;
  {
    auto* generator = at::get_generator_or_default<at::CUDAGeneratorImpl>(
        std::nullopt, at::cuda::detail::getDefaultCUDAGenerator());
    std::lock_guard<std::mutex> lock(generator->mutex_);
    philox = generator->philox_cuda_state(4);  // one Philox block per subsequence
  }
  const auto dropout = philox::dropout16(p);
  if (t.scalar_type() == at::kBFloat16) {
    launch_forward<__nv_bfloat16>(t, y, dropout, philox, rng_used);
  } else {
    launch_forward<float>(t, y, dropout, philox, rng_used);
  }
  return {y, rng_used};
}

at::Tensor gelu_dropout_backward_cuda(const at::Tensor& grad_y, const at::Tensor& t, const at::Tensor& rng_used,
                                      double p) {
  check_activation_cuda(t, kOp, "input");
  check_rng_used(rng_used, t.device(), kOp);
  const auto grad = gradient_like(grad_y, t);
  const c10::cuda::CUDAGuard guard(t.device());
  auto grad_t = at::empty_like(t);
  if (t.numel() == 0) return grad_t;
  const auto dropout = philox::dropout16(p);
  if (t.scalar_type() == at::kBFloat16) {
    launch_backward<__nv_bfloat16>(grad, t, grad_t, dropout, rng_used);
  } else {
    launch_backward<float>(grad, t, grad_t, dropout, rng_used);
  }
  return grad_t;
}

std::tuple<at::Tensor, at::Tensor> gelu_dropout_backward_with_column_sums_cuda(const at::Tensor& grad_y,
                                                                              const at::Tensor& t,
                                                                              const at::Tensor& rng_used, double p) {
  check_activation_cuda(t, kOp, "input");
  TORCH_CHECK(t.dim() == 2, "gelu_dropout: the input of the column sums must be a matrix");
  check_rng_used(rng_used, t.device(), kOp);
  const auto grad = gradient_like(grad_y, t);
  const c10::cuda::CUDAGuard guard(t.device());
  const int64_t rows = t.size(0), cols = t.size(1);
  auto grad_t = at::empty_like(t);
  if (t.numel() == 0 || cols % kGroup != 0 || !aligned(t) || !aligned(grad) || !aligned(grad_t)) {
    // the odd shapes: backward, then the sums as a second pass
    grad_t = gelu_dropout_backward_cuda(grad, t, rng_used, p);
    return {grad_t, column_sums_cuda(grad_t)};
  }
  const auto dropout = philox::dropout16(p);
  auto sums = t.scalar_type() == at::kBFloat16
                  ? launch_backward_column_sums<__nv_bfloat16>(grad, t, grad_t, dropout, rng_used)
                  : launch_backward_column_sums<float>(grad, t, grad_t, dropout, rng_used);
  return {grad_t, sums};
}

}  // namespace mlrec::ops::detail
