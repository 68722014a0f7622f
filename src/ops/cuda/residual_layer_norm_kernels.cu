// The encoder's residual step, LayerNorm(x + dropout(a)), as one kernel each way. Separately it
// is five kernels (torch's dropout, which also writes a byte mask; the add of a float32 and a
// bf16 tensor; mlrec's LayerNorm) forward and, backward, the LayerNorm's, a conversion of the
// gradient to the sublayer's type and the dropout's masked scale: over 10,240 x 120 rows, twice
// per layer. Here forward reads x and a once and writes y and the sum s (LayerNorm's backward
// needs it); backward reads the gradient and s and writes both inputs' gradients, the sublayer's
// already masked, scaled and in its type.
//
// Layout: one warp per row, lane l holding the row's features 8l .. 8l+7 in registers (rows of
// up to 256 features), so that a lane's elements are one Philox group (two where the row's
// start is not a multiple of 8): the mask is drawn as the GELU + dropout kernels draw theirs
// (src/ops/philox.h, torch's generator's seed and offset; element e kept by bit e % 8 of group
// e / 8's block), a function of (seed, offset, element index) alone. Forward writes the seed and
// offset it used to the device (graph replays draw new ones there); backward reads them.
// Weight and bias gradients: per-block partial sums without atomics, added up by
// column_sums_cuda, as in layer_norm_kernels.cu.
#include "ops/cuda/residual_layer_norm_kernels.h"

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

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = 8;
constexpr int kPerLane = 8;  // adjacent features of a row per lane: a Philox group
constexpr int kBackwardBlocks = 264;  // 2 per SM of an H100/H200
static_assert(kWarp * kPerLane == kResidualNormMaxDim, "a warp holds the widest row");

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <typename T>
__global__ void dropout_add_layer_norm_forward(const float* __restrict__ x, const T* __restrict__ a,
                                               const float* __restrict__ weight, const float* __restrict__ bias,
                                               float* __restrict__ y, float* __restrict__ s_out,
                                               float* __restrict__ mean_out, float* __restrict__ rstd_out,
                                               int64_t rows, int dim, float eps, bool dropout, uint32_t threshold,
                                               float scale, at::PhiloxCudaState philox,
                                               int64_t* __restrict__ rng_used) {
  uint64_t seed = 0, offset = 0;
  if (dropout) {
    const auto seeds = at::cuda::philox::unpack(philox);
    seed = std::get<0>(seeds), offset = std::get<1>(seeds);
    if (blockIdx.x == 0 && threadIdx.x == 0) {
      rng_used[0] = static_cast<int64_t>(seed);
      rng_used[1] = static_cast<int64_t>(offset);
    }
  }
  const int lane = threadIdx.x % kWarp;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (row >= rows) return;
  const int first = lane * kPerLane;
  const int64_t base = row * dim;
  // bit t: element first + t is kept
  const uint32_t keep =
      dropout && first < dim
          ? static_cast<uint32_t>(philox::keep_bits(seed, offset, base + first, kPerLane, threshold))
          : 0xFFu;
  float v[kPerLane];
  float sum = 0.f;
#pragma unroll
  for (int t = 0; t < kPerLane; ++t) {
    const int j = first + t;
    // (a dropped NaN stays NaN, as torch's dropout multiplies by the mask)
    v[t] = j < dim ? x[base + j] + to_float(a[base + j]) * ((keep >> t) & 1u ? scale : 0.f) : 0.f;
    sum += v[t];
  }
  const float mean = warp_sum(sum) / dim;
  float squares = 0.f;
#pragma unroll
  for (int t = 0; t < kPerLane; ++t) {
    const float d = first + t < dim ? v[t] - mean : 0.f;
    squares += d * d;
  }
  const float rstd = rsqrtf(warp_sum(squares) / dim + eps);  // biased variance, as torch's
#pragma unroll
  for (int t = 0; t < kPerLane; ++t) {
    const int j = first + t;
    if (j < dim) {
      s_out[base + j] = v[t];
      y[base + j] = (v[t] - mean) * rstd * weight[j] + bias[j];
    }
  }
  if (lane == 0) {
    mean_out[row] = mean;
    rstd_out[row] = rstd;
  }
}

// grad_s = rstd (g - mean(g) - xhat mean(g xhat)) with g = grad_y * weight, per row; grad_x =
// grad_s (the residual), grad_a = grad_s * mask * scale in a's type; and each block's partial
// sums of grad_y * xhat (weight) and grad_y (bias) per column.
template <typename T>
__global__ void dropout_add_layer_norm_backward(const float* __restrict__ grad_y, const float* __restrict__ s,
                                                const float* __restrict__ weight, const float* __restrict__ mean_in,
                                                const float* __restrict__ rstd_in, float* __restrict__ grad_x,
                                                T* __restrict__ grad_a, float* __restrict__ partial, int64_t rows,
                                                int dim, bool dropout, uint32_t threshold, float scale,
                                                const int64_t* __restrict__ rng_used) {
  __shared__ float s_partial[kWarpsPerBlock][2][kResidualNormMaxDim];
  const uint64_t seed = dropout ? static_cast<uint64_t>(rng_used[0]) : 0;
  const uint64_t offset = dropout ? static_cast<uint64_t>(rng_used[1]) : 0;
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  const int first = lane * kPerLane;
  float w[kPerLane], grad_weight[kPerLane], grad_bias[kPerLane];
#pragma unroll
  for (int t = 0; t < kPerLane; ++t) {
    w[t] = first + t < dim ? weight[first + t] : 0.f;
    grad_weight[t] = grad_bias[t] = 0.f;
  }
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + warp; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {
    const int64_t base = row * dim;
    const float mean = mean_in[row], rstd = rstd_in[row];
    float xhat[kPerLane], g[kPerLane];
    float sum_g = 0.f, sum_g_xhat = 0.f;
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) {
      const int j = first + t;
      const float dy = j < dim ? grad_y[base + j] : 0.f;
      xhat[t] = j < dim ? (s[base + j] - mean) * rstd : 0.f;
      g[t] = dy * w[t];
      grad_weight[t] += dy * xhat[t];
      grad_bias[t] += dy;
      sum_g += g[t];
      sum_g_xhat += g[t] * xhat[t];
    }
    const float mean_g = warp_sum(sum_g) / dim, mean_g_xhat = warp_sum(sum_g_xhat) / dim;
    // bit t: element first + t is kept
    const uint32_t keep =
        dropout && first < dim
            ? static_cast<uint32_t>(philox::keep_bits(seed, offset, base + first, kPerLane, threshold))
            : 0xFFu;
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) {
      const int j = first + t;
      if (j < dim) {
        const float grad_s = rstd * (g[t] - mean_g - xhat[t] * mean_g_xhat);
        grad_x[base + j] = grad_s;
        grad_a[base + j] = from_float<T>(grad_s * ((keep >> t) & 1u ? scale : 0.f));
      }
    }
  }
#pragma unroll
  for (int t = 0; t < kPerLane; ++t) {
    const int j = first + t;
    if (j < dim) {
      s_partial[warp][0][j] = grad_weight[t];
      s_partial[warp][1][j] = grad_bias[t];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < 2 * dim; e += blockDim.x) {
    const int which = e / dim, j = e % dim;
    float total = 0.f;
    for (int k = 0; k < kWarpsPerBlock; ++k) total += s_partial[k][which][j];
    partial[(static_cast<int64_t>(blockIdx.x) * 2 + which) * dim + j] = total;
  }
}

constexpr const char* kOp = "dropout_add_layer_norm";

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> dropout_add_layer_norm_forward_cuda(
    const at::Tensor& x, const at::Tensor& a, const at::Tensor& weight, const at::Tensor& bias, double p, double eps) {
  check_float_cuda(x, kOp, "input");
  check_activation_cuda(a, kOp, "sublayer output");
  check_float_cuda(weight, kOp, "weight");
  check_float_cuda(bias, kOp, "bias");
  TORCH_CHECK(a.sizes() == x.sizes(), "dropout_add_layer_norm: the input and the sublayer output differ in shape");
  for (const auto* t : {&a, &weight, &bias}) check_device(*t, x.device(), kOp, "the sublayer output, weight or bias");
  TORCH_CHECK(p >= 0 && p < 1, "dropout_add_layer_norm: p must be in [0, 1)");
  const int64_t dim = x.size(-1), rows = x.numel() / std::max<int64_t>(1, dim);
  TORCH_CHECK(dim >= 1 && dim <= kResidualNormMaxDim && weight.numel() == dim && bias.numel() == dim,
              "dropout_add_layer_norm: rows of 1 to ", kResidualNormMaxDim, " features, weight and bias of that size");
  const c10::cuda::CUDAGuard guard(x.device());
  auto y = at::empty_like(x);
  auto s = at::empty_like(x);
  auto mean = at::empty({rows}, x.options());
  auto rstd = at::empty({rows}, x.options());
  const bool dropout = p > 0;
  at::Tensor rng_used;
  at::PhiloxCudaState philox;
  const auto mask = philox::dropout16(p);
  if (dropout) {
    rng_used = at::empty({2}, x.options().dtype(at::kLong));  // written by the kernel
    auto* generator = at::get_generator_or_default<at::CUDAGeneratorImpl>(
        std::nullopt, at::cuda::detail::getDefaultCUDAGenerator());
    std::lock_guard<std::mutex> lock(generator->mutex_);
    philox = generator->philox_cuda_state(4);  // one Philox block per subsequence (group)
  }
  if (rows == 0) return {y, s, mean, rstd, rng_used};
  const auto blocks = static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  const auto stream = at::cuda::getCurrentCUDAStream();
  int64_t* used = dropout ? rng_used.data_ptr<int64_t>() : nullptr;
  auto launch = [&](auto* a_elements) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(a_elements)>>;
    dropout_add_layer_norm_forward<T><<<blocks, kWarp * kWarpsPerBlock, 0, stream>>>(
        x.data_ptr<float>(), a_elements, weight.data_ptr<float>(), bias.data_ptr<float>(), y.data_ptr<float>(),
        s.data_ptr<float>(), mean.data_ptr<float>(), rstd.data_ptr<float>(), rows, static_cast<int>(dim),
        static_cast<float>(eps), dropout, mask.threshold, dropout ? mask.scale : 1.f, philox, used);
  };
  if (a.scalar_type() == at::kBFloat16) launch(elements<const __nv_bfloat16>(a));
  else launch(elements<const float>(a));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {y, s, mean, rstd, rng_used};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> dropout_add_layer_norm_backward_cuda(
    const at::Tensor& grad_y, const at::Tensor& s, const at::Tensor& weight, const at::Tensor& mean,
    const at::Tensor& rstd, const at::Tensor& rng_used, double p, at::ScalarType a_type) {
  const auto grad = grad_y.to(at::kFloat).contiguous();
  check_float_cuda(grad, kOp, "gradient");
  check_float_cuda(s, kOp, "sum");
  TORCH_CHECK(grad.sizes() == s.sizes(), "dropout_add_layer_norm: gradient and input differ in shape");
  TORCH_CHECK(a_type == at::kFloat || a_type == at::kBFloat16, "dropout_add_layer_norm: float32 or bf16 sublayer");
  const bool dropout = p > 0;
  if (dropout) check_rng_used(rng_used, s.device(), kOp);
  const int64_t dim = s.size(-1), rows = s.numel() / std::max<int64_t>(1, dim);
  for (const auto* t : {&weight, &mean, &rstd}) check_float_cuda_on(*t, s.device(), kOp, "weight or saved statistics");
  TORCH_CHECK(weight.numel() == dim && mean.numel() == rows && rstd.numel() == rows,
              "dropout_add_layer_norm: weight of the features, statistics of the rows");
  const c10::cuda::CUDAGuard guard(s.device());
  auto grad_x = at::empty_like(s);
  auto grad_a = at::empty_like(s, s.options().dtype(a_type));
  if (rows == 0) return {grad_x, grad_a, at::zeros_like(weight), at::zeros_like(weight)};
  const int64_t blocks = std::min<int64_t>(kBackwardBlocks, (rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  auto partial = at::empty({blocks, 2, dim}, s.options());
  const auto mask = philox::dropout16(p);
  const auto stream = at::cuda::getCurrentCUDAStream();
  const int64_t* used = dropout ? rng_used.data_ptr<int64_t>() : nullptr;
  auto launch = [&](auto* a_elements) {
    using T = std::remove_pointer_t<decltype(a_elements)>;
    dropout_add_layer_norm_backward<T><<<static_cast<unsigned>(blocks), kWarp * kWarpsPerBlock, 0, stream>>>(
        grad.data_ptr<float>(), s.data_ptr<float>(), weight.data_ptr<float>(), mean.data_ptr<float>(),
        rstd.data_ptr<float>(), grad_x.data_ptr<float>(), a_elements, partial.data_ptr<float>(), rows,
        static_cast<int>(dim), dropout, mask.threshold, dropout ? mask.scale : 1.f, used);
  };
  if (a_type == at::kBFloat16) launch(elements<__nv_bfloat16>(grad_a));
  else launch(elements<float>(grad_a));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  auto sums = column_sums_cuda(partial.view({blocks, 2 * dim})).view({2, dim});
  return {grad_x, grad_a, sums[0], sums[1]};
}

}  // namespace mlrec::ops::detail
