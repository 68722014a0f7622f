// The sequence models' MLP blocks, mish(batch_norm(x)) in training, on CUDA: one kernel forward
// (batch statistics, running statistics, normalisation, Mish) and one backward, where torch
// runs BatchNorm as 5 kernels and Mish as 2, each a few microseconds on the MLP's 1,024 x
// (1,024 | 512 | 256) activations (their cost on an H200: BENCHMARKS.md, "Why each kernel exists").
//
// A block owns kColumns columns and every row of them: the batch statistics need no second
// kernel and no atomics. Its threads stand in kColumns-wide groups (a 32-byte segment of a
// row per group, one memory sector), each thread taking every (kThreads / kColumns)-th row of
// its column, 8 of the MLP's 1,024; partial sums meet through warp shuffles and shared memory.
// The block's columns (32 KB for 1,024 rows) stay in L1/L2 between its passes. (A first
// version with 256 threads per block, 32 rows per thread, was latency-bound, with only 32-128
// blocks in flight: BENCHMARKS.md, "Why each kernel exists".) Activations are float32 or, under bf16
// autocast (after a bf16 linear layer), bfloat16; statistics and parameters are float32.
#include "ops/cuda/batch_norm_mish_kernels.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops/cuda/cuda_types.cuh"

namespace mlrec::ops::detail {
namespace {

constexpr int kColumns = 8;
constexpr int kThreads = 1024;
constexpr int kRowGroups = kThreads / kColumns;  // rows a block reads at once
constexpr int kWarps = kThreads / 32;

// Sum over the block's row groups, per column: every thread of column c gets the total. Every
// thread of the block must call it. A warp holds 4 row groups of the 8 columns (lane = 8 *
// group + column): two shuffles sum them, then the warps' sums meet in shared memory.
__device__ float column_sum(float v, float (*shared)[kColumns]) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, c = threadIdx.x % kColumns;
  v += __shfl_xor_sync(0xffffffffu, v, 8);
  v += __shfl_xor_sync(0xffffffffu, v, 16);
  __syncthreads();  // the shared buffer may still be read from the previous call
  if (lane < kColumns) shared[warp][lane] = v;
  __syncthreads();
  float total = 0.f;
  for (int w = 0; w < kWarps; ++w) total += shared[w][c];
  return total;
}

// torch's Mish and its derivative (aten/src/ATen/native/cuda/ActivationMishKernel.cu).
__device__ __forceinline__ float mish(float y) { return y * tanhf(log1pf(expf(y))); }

__device__ __forceinline__ float mish_derivative(float y) {
  const float sigmoid = 1.f / (1.f + expf(-y));
  const float tanh_softplus = tanhf(log1pf(expf(y)));
  return tanh_softplus + y * sigmoid * (1.f - tanh_softplus * tanh_softplus);
}

template <typename T>
__global__ void __launch_bounds__(kThreads) batch_norm_mish_forward(const T* __restrict__ x, const float* __restrict__ weight,
                                        const float* __restrict__ bias, T* __restrict__ out,
                                        float* __restrict__ mean_out, float* __restrict__ rstd_out,
                                        float* __restrict__ running_mean, float* __restrict__ running_var,
                                        int rows, int cols, float momentum, float eps) {
  __shared__ float shared[kWarps][kColumns];
  const int c = blockIdx.x * kColumns + threadIdx.x % kColumns, group = threadIdx.x / kColumns;
  const bool active = c < cols;  // the last block may hang over the edge; it still syncs
  float sum = 0.f;
  if (active) {
    for (int r = group; r < rows; r += kRowGroups) sum += to_float(x[static_cast<int64_t>(r) * cols + c]);
  }
  const float mean = column_sum(sum, shared) / rows;
  float squares = 0.f;  // two passes: no cancellation in E[x^2] - E[x]^2
  if (active) {
    for (int r = group; r < rows; r += kRowGroups) {
      const float d = to_float(x[static_cast<int64_t>(r) * cols + c]) - mean;
      squares += d * d;
    }
  }
  const float var = column_sum(squares, shared) / rows;  // biased, for normalising
  const float rstd = rsqrtf(var + eps);
  if (!active) return;
  const float w = weight[c] * rstd, b = bias[c] - mean * w;
  for (int r = group; r < rows; r += kRowGroups) {
    const int64_t i = static_cast<int64_t>(r) * cols + c;
    out[i] = from_float<T>(mish(to_float(x[i]) * w + b));
  }
  if (group == 0) {
    mean_out[c] = mean;
    rstd_out[c] = rstd;
    if (running_mean != nullptr) {
      // torch's update: the unbiased variance goes into the running estimate
      running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * mean;
      const float unbiased = rows > 1 ? var * rows / (rows - 1) : var;
      running_var[c] = (1.f - momentum) * running_var[c] + momentum * unbiased;
    }
  }
}

// With y = xhat * weight + bias and dy = grad * mish'(y):
//   grad_weight = sum(dy * xhat), grad_bias = sum(dy),
//   grad_x = weight * rstd * (dy - grad_bias / N - xhat * grad_weight / N).
template <typename T>
__global__ void __launch_bounds__(kThreads) batch_norm_mish_backward(const T* __restrict__ grad, const T* __restrict__ x,
                                         const float* __restrict__ weight, const float* __restrict__ bias,
                                         const float* __restrict__ mean_in, const float* __restrict__ rstd_in,
                                         T* __restrict__ grad_x, float* __restrict__ grad_weight,
                                         float* __restrict__ grad_bias, int rows, int cols) {
  __shared__ float shared[kWarps][kColumns];
  const int c = blockIdx.x * kColumns + threadIdx.x % kColumns, group = threadIdx.x / kColumns;
  const bool active = c < cols;
  const float mean = active ? mean_in[c] : 0.f, rstd = active ? rstd_in[c] : 0.f;
  const float w = active ? weight[c] : 0.f, b = active ? bias[c] : 0.f;
  float sum_dy = 0.f, sum_dy_xhat = 0.f;
  if (active) {
    for (int r = group; r < rows; r += kRowGroups) {
      const int64_t i = static_cast<int64_t>(r) * cols + c;
      const float xhat = (to_float(x[i]) - mean) * rstd;
      const float dy = to_float(grad[i]) * mish_derivative(xhat * w + b);
      sum_dy += dy;
      sum_dy_xhat += dy * xhat;
    }
  }
  const float total_dy = column_sum(sum_dy, shared);
  const float total_dy_xhat = column_sum(sum_dy_xhat, shared);
  if (!active) return;
  const float mean_dy = total_dy / rows, mean_dy_xhat = total_dy_xhat / rows, scale = w * rstd;
  for (int r = group; r < rows; r += kRowGroups) {
    const int64_t i = static_cast<int64_t>(r) * cols + c;
    const float xhat = (to_float(x[i]) - mean) * rstd;
    const float dy = to_float(grad[i]) * mish_derivative(xhat * w + b);
    grad_x[i] = from_float<T>(scale * (dy - mean_dy - xhat * mean_dy_xhat));
  }
  if (group == 0) {
    grad_weight[c] = total_dy_xhat;
    grad_bias[c] = total_dy;
  }
}

unsigned blocks_for(int64_t cols) { return static_cast<unsigned>((cols + kColumns - 1) / kColumns); }

constexpr const char* kOp = "batch_norm_mish";

template <typename T>
void launch_forward(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, at::Tensor& out,
                    at::Tensor& mean, at::Tensor& rstd, const at::Tensor& running_mean, const at::Tensor& running_var,
                    double momentum, double eps) {
  const bool track = running_mean.defined();
  batch_norm_mish_forward<T><<<blocks_for(x.size(1)), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
      elements<T>(x), weight.data_ptr<float>(), bias.data_ptr<float>(), elements<T>(out), mean.data_ptr<float>(),
      rstd.data_ptr<float>(), track ? running_mean.data_ptr<float>() : nullptr,
      track ? running_var.data_ptr<float>() : nullptr, static_cast<int>(x.size(0)), static_cast<int>(x.size(1)),
      static_cast<float>(momentum), static_cast<float>(eps));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename T>
void launch_backward(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                     const at::Tensor& mean, const at::Tensor& rstd, at::Tensor& grad_x, at::Tensor& grad_weight,
                     at::Tensor& grad_bias) {
  batch_norm_mish_backward<T><<<blocks_for(x.size(1)), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
      elements<T>(grad), elements<T>(x), weight.data_ptr<float>(), bias.data_ptr<float>(), mean.data_ptr<float>(),
      rstd.data_ptr<float>(), elements<T>(grad_x), grad_weight.data_ptr<float>(), grad_bias.data_ptr<float>(),
      static_cast<int>(x.size(0)), static_cast<int>(x.size(1)));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor> batch_norm_mish_forward_cuda(
    const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& running_mean,
    const at::Tensor& running_var, double momentum, double eps) {
  check_activation_cuda(x, kOp, "input");
  check_float_cuda(weight, kOp, "weight");
  check_float_cuda(bias, kOp, "bias");
  TORCH_CHECK(x.dim() == 2 && x.size(0) >= 1 && x.size(0) < (int64_t(1) << 31) && x.size(1) < (int64_t(1) << 31),
              "batch_norm_mish: input must be [rows, columns]");
  const int64_t cols = x.size(1);
  TORCH_CHECK(weight.numel() == cols && bias.numel() == cols, "batch_norm_mish: ", cols,
              " input columns, a weight and a bias of each");
  check_device(weight, x.device(), kOp, "weight");
  check_device(bias, x.device(), kOp, "bias");
  TORCH_CHECK(running_mean.defined() == running_var.defined(), "batch_norm_mish: running_mean and running_var together");
  if (running_mean.defined()) {
    check_float_cuda_on(running_mean, x.device(), kOp, "running_mean");
    check_float_cuda_on(running_var, x.device(), kOp, "running_var");
    TORCH_CHECK(running_mean.numel() == cols && running_var.numel() == cols, "batch_norm_mish: ", cols,
                " input columns, running statistics of each");
  }
  const c10::cuda::CUDAGuard guard(x.device());
  auto out = at::empty_like(x);
  auto mean = at::empty({cols}, x.options().dtype(at::kFloat));
  auto rstd = at::empty({cols}, x.options().dtype(at::kFloat));
  if (cols == 0) return {out, mean, rstd};
  if (x.scalar_type() == at::kBFloat16) {
    launch_forward<__nv_bfloat16>(x, weight, bias, out, mean, rstd, running_mean, running_var, momentum, eps);
  } else {
    launch_forward<float>(x, weight, bias, out, mean, rstd, running_mean, running_var, momentum, eps);
  }
  return {out, mean, rstd};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> batch_norm_mish_backward_cuda(
    const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
    const at::Tensor& mean, const at::Tensor& rstd) {
  check_activation_cuda(x, kOp, "input");
  const auto grad = grad_out.to(x.scalar_type()).contiguous();
  TORCH_CHECK(grad.sizes() == x.sizes() && x.dim() == 2, "batch_norm_mish: gradient and input differ in shape");
  for (const auto* t : {&weight, &bias, &mean, &rstd}) {
    check_float_cuda_on(*t, x.device(), kOp, "a parameter or saved statistic");
    TORCH_CHECK(t->numel() == x.size(1), "batch_norm_mish: ", x.size(1), " input columns, parameters and statistics of each");
  }
  const c10::cuda::CUDAGuard guard(x.device());
  auto grad_x = at::empty_like(x);
  auto grad_weight = at::empty_like(weight);
  auto grad_bias = at::empty_like(bias);
  if (x.size(1) == 0) return {grad_x, grad_weight, grad_bias};
  if (x.scalar_type() == at::kBFloat16) {
    launch_backward<__nv_bfloat16>(grad, x, weight, bias, mean, rstd, grad_x, grad_weight, grad_bias);
  } else {
    launch_backward<float>(grad, x, weight, bias, mean, rstd, grad_x, grad_weight, grad_bias);
  }
  return {grad_x, grad_weight, grad_bias};
}

}  // namespace mlrec::ops::detail
