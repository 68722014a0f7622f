// Column sums of a [rows, cols] float32 or bfloat16 matrix on CUDA, in float32: the bias gradients of the BST's linear
// layers (10,240 x 120 .. 2,048 and 1,024 x 256 .. 1,024). torch's reduction kernel ran them on
// grids as small as 2 x 80 blocks, several times slower than the memory allows (on an H200:
// BENCHMARKS.md, "Why each kernel exists"). Here, a first kernel has 32 columns x 8 row phases per block
// and up to 128 blocks down the rows, each thread adding ~10 rows; a second adds the blocks'
// partial rows. No atomics: the result does not depend on scheduling.
#include "ops/cuda/column_sums_kernels.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>

#include "ops/cuda/cuda_types.cuh"

namespace mlrec::ops::detail {
namespace {

constexpr int kColumnsPerBlock = 32;
constexpr int kPhases = 8;            // threads per column in a block
constexpr int kMaxRowBlocks = 128;
constexpr int kRowsPerThread = 8;     // the target before the row blocks run out

// partial[blockIdx.y][c] = the sum of rows r = (blockIdx.y * kPhases + phase) + k * stride.
template <typename T>
__global__ void partial_column_sums(const T* __restrict__ x, float* __restrict__ partial, int64_t rows,
                                    int64_t cols) {
  __shared__ float s_sum[kPhases][kColumnsPerBlock + 1];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColumnsPerBlock + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.y) * kPhases;
  float acc = 0.f;
  if (c < cols) {
    for (int64_t r = static_cast<int64_t>(blockIdx.y) * kPhases + threadIdx.y; r < rows; r += stride) {
      acc += to_float(x[r * cols + c]);
    }
  }
  s_sum[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float total = 0.f;
    for (int p = 0; p < kPhases; ++p) total += s_sum[p][threadIdx.x];
    partial[static_cast<int64_t>(blockIdx.y) * cols + c] = total;
  }
}

template <typename T>
void sum_columns(const at::Tensor& x, at::Tensor& total) {
  const int64_t rows = x.size(0), cols = x.size(1);
  const T* data = elements<T>(x);
  const auto stream = at::cuda::getCurrentCUDAStream();
  const auto column_blocks = static_cast<unsigned>((cols + kColumnsPerBlock - 1) / kColumnsPerBlock);
  const dim3 threads(kColumnsPerBlock, kPhases);
  const int64_t row_blocks =
      std::clamp<int64_t>(rows / (kPhases * kRowsPerThread), 1, kMaxRowBlocks);
  if (row_blocks == 1) {
    partial_column_sums<T><<<dim3(column_blocks, 1), threads, 0, stream>>>(data, total.data_ptr<float>(), rows, cols);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return;
  }
  auto partial = at::empty({row_blocks, cols}, total.options());
  partial_column_sums<T><<<dim3(column_blocks, static_cast<unsigned>(row_blocks)), threads, 0, stream>>>(
      data, partial.data_ptr<float>(), rows, cols);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  // the blocks' partial rows, summed by the same kernel in one row block
  partial_column_sums<float><<<dim3(column_blocks, 1), threads, 0, stream>>>(partial.data_ptr<float>(),
                                                                             total.data_ptr<float>(), row_blocks, cols);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace

at::Tensor column_sums_cuda(const at::Tensor& x) {
  check_activation_cuda(x, "column_sums", "x");
  TORCH_CHECK(x.dim() == 2, "column_sums: x must be a matrix");
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t rows = x.size(0), cols = x.size(1);
  auto total = at::empty({cols}, x.options().dtype(at::kFloat));
  if (cols == 0) return total;
  if (rows == 0) return total.zero_();
  if (x.scalar_type() == at::kBFloat16) {
    sum_columns<__nv_bfloat16>(x, total);
  } else {
    sum_columns<float>(x, total);
  }
  return total;
}

}  // namespace mlrec::ops::detail
