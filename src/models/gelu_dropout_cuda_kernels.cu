// The feed-forward activation on CUDA, dropout(gelu(t)), as one kernel each way (behind
// models::linear_gelu_dropout). torch runs it as four elementwise kernels over the BST's
// 10,240 x 2,048 activations (GELU and dropout, forward and backward: 197 us of a 2.1 ms step
// in the H200 profile, BENCHMARKS.md), and its dropout also writes and reads a byte mask. Here
// forward reads t and writes y; backward reads the upstream gradient and t and writes the
// gradient: no mask is stored, backward draws the forward's numbers again.
//
// The numbers: Philox from torch's CUDA generator, as torch's own dropout draws them, so seeds
// and graph capture behave alike. Element group g (elements 4g .. 4g+3) takes one
// curand_uniform4 from subsequence g at the call's offset: the mask is a function of (seed,
// offset, element index) alone, whatever the launch shape. Forward writes the seed and offset
// it used into a two-element device tensor (as torch's fused attention does), which backward
// reads: inside a captured graph they are only known on the device, at replay.
#include "gelu_dropout_cuda_kernels.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/cuda/PhiloxUtils.cuh>
#include <c10/cuda/CUDAGuard.h>
#include <curand_kernel.h>

#include <cstdint>
#include <mutex>

namespace mlrec::models::detail {
namespace {

constexpr int kThreads = 256;
constexpr float kSqrtHalf = 0.70710678118654752f;    // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143268f;  // 1 / sqrt(2 pi)

__device__ __forceinline__ float gelu(float v) { return 0.5f * v * (1.f + erff(v * kSqrtHalf)); }

__device__ __forceinline__ float gelu_derivative(float v) {
  return 0.5f * (1.f + erff(v * kSqrtHalf)) + v * kInvSqrt2Pi * __expf(-0.5f * v * v);
}

// The four uniforms of element group g, in (0, 1].
__device__ __forceinline__ float4 group_uniforms(uint64_t seed, uint64_t offset, int64_t g) {
  curandStatePhilox4_32_10_t state;
  curand_init(seed, static_cast<uint64_t>(g), offset, &state);
  return curand_uniform4(&state);
}

// Loads the 4 elements of group g (fewer at the end of the tensor); `vector` when the tensor
// is 16-byte aligned and n a multiple of 4.
template <bool kVector>
__device__ __forceinline__ float4 load4(const float* __restrict__ p, int64_t g, int64_t n) {
  if (kVector) return reinterpret_cast<const float4*>(p)[g];
  float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
  const int64_t i = 4 * g;
  v.x = p[i];
  if (i + 1 < n) v.y = p[i + 1];
  if (i + 2 < n) v.z = p[i + 2];
  if (i + 3 < n) v.w = p[i + 3];
  return v;
}

template <bool kVector>
__device__ __forceinline__ void store4(float* __restrict__ p, int64_t g, int64_t n, float4 v) {
  if (kVector) {
    reinterpret_cast<float4*>(p)[g] = v;
    return;
  }
  const int64_t i = 4 * g;
  p[i] = v.x;
  if (i + 1 < n) p[i + 1] = v.y;
  if (i + 2 < n) p[i + 2] = v.z;
  if (i + 3 < n) p[i + 3] = v.w;
}

__device__ __forceinline__ float kept(float u, float p, float scale) { return u > p ? scale : 0.f; }

template <bool kVector>
__global__ void gelu_dropout_forward(const float* __restrict__ t, float* __restrict__ y, int64_t n, float p,
                                     at::PhiloxCudaState philox, int64_t* __restrict__ rng_used) {
  const auto seeds = at::cuda::philox::unpack(philox);
  const uint64_t seed = std::get<0>(seeds), offset = std::get<1>(seeds);
  const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g == 0) {
    rng_used[0] = static_cast<int64_t>(seed);
    rng_used[1] = static_cast<int64_t>(offset);
  }
  if (4 * g >= n) return;
  const float scale = 1.f / (1.f - p);
  const float4 u = group_uniforms(seed, offset, g);
  const float4 v = load4<kVector>(t, g, n);
  const float4 out = make_float4(gelu(v.x) * kept(u.x, p, scale), gelu(v.y) * kept(u.y, p, scale),
                                 gelu(v.z) * kept(u.z, p, scale), gelu(v.w) * kept(u.w, p, scale));
  store4<kVector>(y, g, n, out);
}

template <bool kVector>
__global__ void gelu_dropout_backward(const float* __restrict__ grad_y, const float* __restrict__ t,
                                      float* __restrict__ grad_t, int64_t n, float p,
                                      const int64_t* __restrict__ rng_used) {
  const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (4 * g >= n) return;
  const float scale = 1.f / (1.f - p);
  const float4 u = group_uniforms(static_cast<uint64_t>(rng_used[0]), static_cast<uint64_t>(rng_used[1]), g);
  const float4 v = load4<kVector>(t, g, n);
  const float4 d = load4<kVector>(grad_y, g, n);
  const float4 out = make_float4(d.x * kept(u.x, p, scale) * gelu_derivative(v.x),
                                 d.y * kept(u.y, p, scale) * gelu_derivative(v.y),
                                 d.z * kept(u.z, p, scale) * gelu_derivative(v.z),
                                 d.w * kept(u.w, p, scale) * gelu_derivative(v.w));
  store4<kVector>(grad_t, g, n, out);
}

void check_float_cuda(const at::Tensor& x, const char* what) {
  TORCH_CHECK(x.is_cuda() && x.scalar_type() == at::kFloat && x.is_contiguous(), "gelu_dropout: ", what,
              " must be a contiguous float CUDA tensor");
}

bool aligned(const at::Tensor& x) { return reinterpret_cast<uintptr_t>(x.data_ptr()) % 16 == 0; }

unsigned blocks_for(int64_t n) { return static_cast<unsigned>(((n + 3) / 4 + kThreads - 1) / kThreads); }

}  // namespace

std::tuple<at::Tensor, at::Tensor> gelu_dropout_forward_cuda(const at::Tensor& t, double p) {
  check_float_cuda(t, "input");
  TORCH_CHECK(p > 0 && p < 1, "gelu_dropout: p must be in (0, 1)");
  const c10::cuda::CUDAGuard guard(t.device());
  auto y = at::empty_like(t);
  auto rng_used = at::empty({2}, t.options().dtype(at::kLong));  // written by the kernel
  const int64_t n = t.numel();
  if (n == 0) return {y, rng_used};
  at::PhiloxCudaState philox;
  {
    auto* generator = at::get_generator_or_default<at::CUDAGeneratorImpl>(
        std::nullopt, at::cuda::detail::getDefaultCUDAGenerator());
    std::lock_guard<std::mutex> lock(generator->mutex_);
    philox = generator->philox_cuda_state(4);  // one curand_uniform4 per subsequence
  }
  const auto stream = at::cuda::getCurrentCUDAStream();
  if (n % 4 == 0 && aligned(t) && aligned(y)) {
    gelu_dropout_forward<true><<<blocks_for(n), kThreads, 0, stream>>>(
        t.data_ptr<float>(), y.data_ptr<float>(), n, static_cast<float>(p), philox, rng_used.data_ptr<int64_t>());
  } else {
    gelu_dropout_forward<false><<<blocks_for(n), kThreads, 0, stream>>>(
        t.data_ptr<float>(), y.data_ptr<float>(), n, static_cast<float>(p), philox, rng_used.data_ptr<int64_t>());
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {y, rng_used};
}

at::Tensor gelu_dropout_backward_cuda(const at::Tensor& grad_y, const at::Tensor& t, const at::Tensor& rng_used,
                                      double p) {
  check_float_cuda(t, "input");
  const auto grad = grad_y.contiguous();
  check_float_cuda(grad, "gradient");
  TORCH_CHECK(grad.sizes() == t.sizes(), "gelu_dropout: gradient and input differ in shape");
  const c10::cuda::CUDAGuard guard(t.device());
  auto grad_t = at::empty_like(t);
  const int64_t n = t.numel();
  if (n == 0) return grad_t;
  const auto stream = at::cuda::getCurrentCUDAStream();
  if (n % 4 == 0 && aligned(t) && aligned(grad) && aligned(grad_t)) {
    gelu_dropout_backward<true><<<blocks_for(n), kThreads, 0, stream>>>(
        grad.data_ptr<float>(), t.data_ptr<float>(), grad_t.data_ptr<float>(), n, static_cast<float>(p),
        rng_used.data_ptr<int64_t>());
  } else {
    gelu_dropout_backward<false><<<blocks_for(n), kThreads, 0, stream>>>(
        grad.data_ptr<float>(), t.data_ptr<float>(), grad_t.data_ptr<float>(), n, static_cast<float>(p),
        rng_used.data_ptr<int64_t>());
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return grad_t;
}

}  // namespace mlrec::models::detail
