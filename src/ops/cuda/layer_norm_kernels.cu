// LayerNorm over narrow rows (the BST's 120 features) on CUDA: one warp per row, the row in
// registers. torch's kernels are built for wide rows, and on 10,240 x 120 floats (4.9 MB) they
// took many times what the GPU's memory needs to stream them (on an H200:
// BENCHMARKS.md, "Why each kernel exists").
//
// Backward sums the weight and bias gradients over rows in two steps, without atomics (so the
// result does not depend on scheduling): each block adds up the rows it handled, every lane the
// columns it owns, into one row of a [blocks, 2, dim] buffer, which column_sums_cuda adds up
// (torch's sum over that dimension ran on 2 blocks).
#include "ops/cuda/layer_norm_kernels.h"

#include "ops/cuda/column_sums_kernels.h"
#include "ops/cuda/cuda_types.cuh"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>

namespace mlrec::ops::detail {
namespace {

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = 8;
constexpr int kPerLane = static_cast<int>(kLayerNormMaxDim) / kWarp;  // elements of a row per lane
constexpr int kBackwardBlocks = 264;                                  // 2 per SM of an H100/H200

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Lane l owns columns l, l + 32, l + 64, ...: loads are coalesced, and every row's column j is
// in the same lane, which the column sums of backward rely on.
__global__ void layer_norm_forward(const float* __restrict__ x, const float* __restrict__ weight,
                                   const float* __restrict__ bias, float* __restrict__ y, float* __restrict__ mean_out,
                                   float* __restrict__ rstd_out, int64_t rows, int dim, float eps) {
  const int lane = threadIdx.x % kWarp;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (row >= rows) return;
  const float* in = x + row * dim;
  float v[kPerLane];
  float sum = 0.f;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int j = lane + k * kWarp;
    v[k] = j < dim ? in[j] : 0.f;
    sum += v[k];
  }
  const float mean = warp_sum(sum) / dim;
  float squares = 0.f;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int j = lane + k * kWarp;
    const float d = j < dim ? v[k] - mean : 0.f;
    squares += d * d;
  }
  const float rstd = rsqrtf(warp_sum(squares) / dim + eps);  // biased variance, as torch's
  float* out = y + row * dim;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int j = lane + k * kWarp;
    if (j < dim) out[j] = (v[k] - mean) * rstd * weight[j] + bias[j];
  }
  if (lane == 0) {
    mean_out[row] = mean;
    rstd_out[row] = rstd;
  }
}

// grad_x = rstd (g - mean(g) - xhat mean(g xhat)) with g = grad_y * weight, per row; and each
// block's partial sums of grad_y * xhat (weight) and grad_y (bias) per column.
__global__ void layer_norm_backward(const float* __restrict__ grad_y, const float* __restrict__ x,
                                    const float* __restrict__ weight, const float* __restrict__ mean_in,
                                    const float* __restrict__ rstd_in, float* __restrict__ grad_x,
                                    float* __restrict__ partial, int64_t rows, int dim) {
  __shared__ float s_partial[kWarpsPerBlock][2][kLayerNormMaxDim];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  float w[kPerLane], grad_weight[kPerLane], grad_bias[kPerLane];
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int j = lane + k * kWarp;
    w[k] = j < dim ? weight[j] : 0.f;
    grad_weight[k] = grad_bias[k] = 0.f;
  }
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + warp; row < rows;
       row += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {
    const float mean = mean_in[row], rstd = rstd_in[row];
    float xhat[kPerLane], g[kPerLane];
    float sum_g = 0.f, sum_g_xhat = 0.f;
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) {
      const int j = lane + k * kWarp;
      const float dy = j < dim ? grad_y[row * dim + j] : 0.f;
      xhat[k] = j < dim ? (x[row * dim + j] - mean) * rstd : 0.f;
      g[k] = dy * w[k];
      grad_weight[k] += dy * xhat[k];
      grad_bias[k] += dy;
      sum_g += g[k];
      sum_g_xhat += g[k] * xhat[k];
    }
    const float mean_g = warp_sum(sum_g) / dim, mean_g_xhat = warp_sum(sum_g_xhat) / dim;
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) {
      const int j = lane + k * kWarp;
      if (j < dim) grad_x[row * dim + j] = rstd * (g[k] - mean_g - xhat[k] * mean_g_xhat);
    }
  }
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int j = lane + k * kWarp;
    if (j < dim) {
      s_partial[warp][0][j] = grad_weight[k];
      s_partial[warp][1][j] = grad_bias[k];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < 2 * dim; e += blockDim.x) {
    const int which = e / dim, j = e % dim;
    float total = 0.f;
    for (int w = 0; w < kWarpsPerBlock; ++w) total += s_partial[w][which][j];
    partial[(static_cast<int64_t>(blockIdx.x) * 2 + which) * dim + j] = total;
  }
}

constexpr const char* kOp = "layer_norm";

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor> layer_norm_forward_cuda(const at::Tensor& x, const at::Tensor& weight,
                                                                       const at::Tensor& bias, double eps) {
  check_float_cuda(x, kOp, "input");
  check_float_cuda(weight, kOp, "weight");
  check_float_cuda(bias, kOp, "bias");
  const int64_t dim = x.size(-1), rows = x.numel() / std::max<int64_t>(1, dim);
  TORCH_CHECK(dim >= 1 && dim <= kLayerNormMaxDim && weight.numel() == dim && bias.numel() == dim,
              "layer_norm: rows of 1 to ", kLayerNormMaxDim, " features, weight and bias of that size");
  check_device(weight, x.device(), kOp, "weight");
  check_device(bias, x.device(), kOp, "bias");
  const c10::cuda::CUDAGuard guard(x.device());
  auto y = at::empty_like(x);
  auto mean = at::empty({rows}, x.options());
  auto rstd = at::empty({rows}, x.options());
  if (rows == 0) return {y, mean, rstd};
  const auto blocks = static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  layer_norm_forward<<<blocks, kWarp * kWarpsPerBlock, 0, at::cuda::getCurrentCUDAStream()>>>(
      x.data_ptr<float>(), weight.data_ptr<float>(), bias.data_ptr<float>(), y.data_ptr<float>(),
      mean.data_ptr<float>(), rstd.data_ptr<float>(), rows, static_cast<int>(dim), static_cast<float>(eps));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {y, mean, rstd};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> layer_norm_backward_cuda(const at::Tensor& grad_y, const at::Tensor& x,
                                                                        const at::Tensor& weight, const at::Tensor& mean,
                                                                        const at::Tensor& rstd) {
  const auto grad = grad_y.contiguous();
  check_float_cuda(grad, kOp, "gradient");
  check_float_cuda(x, kOp, "input");
  TORCH_CHECK(grad.sizes() == x.sizes(), "layer_norm: gradient and input differ in shape");
  const int64_t dim = x.size(-1), rows = x.numel() / std::max<int64_t>(1, dim);
  check_device(grad, x.device(), kOp, "gradient");
  for (const auto* t : {&weight, &mean, &rstd}) check_float_cuda_on(*t, x.device(), kOp, "weight or saved statistics");
  TORCH_CHECK(weight.numel() == dim && mean.numel() == rows && rstd.numel() == rows,
              "layer_norm: weight of the features, statistics of the rows");
  const c10::cuda::CUDAGuard guard(x.device());
  auto grad_x = at::empty_like(x);
  if (rows == 0) return {grad_x, at::zeros_like(weight), at::zeros_like(weight)};
  const int64_t blocks = std::min<int64_t>(kBackwardBlocks, (rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  auto partial = at::empty({blocks, 2, dim}, x.options());
  layer_norm_backward<<<static_cast<unsigned>(blocks), kWarp * kWarpsPerBlock, 0, at::cuda::getCurrentCUDAStream()>>>(
      grad.data_ptr<float>(), x.data_ptr<float>(), weight.data_ptr<float>(), mean.data_ptr<float>(),
      rstd.data_ptr<float>(), grad_x.data_ptr<float>(), partial.data_ptr<float>(), rows, static_cast<int>(dim));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  auto sums = column_sums_cuda(partial.view({blocks, 2 * dim})).view({2, dim});
  return {grad_x, sums[0], sums[1]};
}

}  // namespace mlrec::ops::detail
