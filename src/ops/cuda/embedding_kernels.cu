// An embedding table's gradient from its lookups' gradients: the rows added into a zeroed table
// with atomic additions, as ATen's index_add_ does, but in one kernel launch after a memset
// where index_add_ takes a fill, its kernel and, with a padding row, a second fill to zero that
// row (BENCHMARKS.md: the BST's bf16 step spends ~60 us in its six index_add_ kernels).
//
// - Large tables (the movies', the users'): a warp per looked-up row; on sm_90 each lane adds
//   four floats with one vector atomic (red.global.add.v4.f32), a quarter of index_add_'s
//   scalar atomics.
// - Small tables (the ratings' 6 rows, the demographics'): thousands of lookups land on a few
//   hundred addresses, and atomics to one address serialise. Each block first adds its share of
//   the lookups into a copy of the table in shared memory, then adds that copy to the table once.
//
// The order of the additions varies from run to run, as with index_add_: not bit-reproducible.
#include "ops/cuda/embedding_kernels.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "ops/cuda/cuda_types.cuh"

namespace mlrec::ops::detail {
namespace {

constexpr int kThreads = 256;
constexpr int kWarp = 32;
constexpr int64_t kSharedTableFloats = 4096;  // 16 KB: tables up to this size take the shared path

// Whether row `row` of a `rows`-row table takes a gradient: in range (the forward's lookup
// checked that already) and not the padding row.
__device__ __forceinline__ bool takes_gradient(int64_t row, int64_t rows, int64_t padding) {
  return row >= 0 && row < rows && row != padding;
}

template <typename Index>
__global__ void __launch_bounds__(kThreads)
    add_rows(const float* __restrict__ grad, const Index* __restrict__ indices, int64_t n, int dim, int64_t rows,
             int64_t padding, float* __restrict__ table, bool by_four) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (kThreads / kWarp);
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x) / kWarp; i < n; i += warps) {
    const int64_t row = static_cast<int64_t>(indices[i]);
    if (!takes_gradient(row, rows, padding)) continue;
    const float* g = grad + i * dim;
    float* t = table + row * dim;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (by_four) {
      for (int c = lane; c < dim / 4; c += kWarp) {
        atomicAdd(reinterpret_cast<float4*>(t) + c, reinterpret_cast<const float4*>(g)[c]);
      }
      continue;
    }
#endif
    for (int c = lane; c < dim; c += kWarp) atomicAdd(t + c, g[c]);
  }
}

template <typename Index>
__global__ void __launch_bounds__(kThreads)
    add_rows_through_shared(const float* __restrict__ grad, const Index* __restrict__ indices, int64_t n, int dim,
                            int64_t rows, int64_t padding, float* __restrict__ table) {
  extern __shared__ float local[];  // [rows][dim]
  const int64_t size = rows * dim;
  for (int64_t e = threadIdx.x; e < size; e += kThreads) local[e] = 0.f;
  __syncthreads();
  const int64_t elements = n * dim, stride = static_cast<int64_t>(gridDim.x) * kThreads;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; k < elements; k += stride) {
    const int64_t i = k / dim;
    const int64_t row = static_cast<int64_t>(indices[i]);
    if (takes_gradient(row, rows, padding)) atomicAdd(&local[row * dim + k % dim], grad[k]);
  }
  __syncthreads();
  for (int64_t e = threadIdx.x; e < size; e += kThreads) {
    const float v = local[e];
    if (v != 0.f) atomicAdd(&table[e], v);  // (a block that added nothing here adds nothing)
  }
}

}  // namespace

at::Tensor embedding_backward_cuda(const at::Tensor& grad, const at::Tensor& indices, int64_t rows,
                                   int64_t padding_idx) {
  TORCH_CHECK(grad.is_cuda() && grad.scalar_type() == at::kFloat, "embedding backward: a float32 CUDA gradient");
  TORCH_CHECK(indices.scalar_type() == at::kLong || indices.scalar_type() == at::kInt,
              "embedding backward: int32 or int64 indices");
  check_device(indices, grad.device(), "embedding backward", "indices");
  const c10::cuda::CUDAGuard guard(grad.device());
  TORCH_CHECK(grad.dim() == indices.dim() + 1, "embedding backward: the gradient of a lookup, indices' shape + [dim]");
  const int64_t dim = grad.size(-1);
  const auto g = grad.reshape({-1, dim}).contiguous();
  const auto index = indices.reshape({-1}).contiguous();
  const int64_t n = index.numel();
  TORCH_CHECK(g.size(0) == n, "embedding backward: ", g.size(0), " gradient rows for ", n, " indices");
  auto table = at::empty({rows, dim}, grad.options());
  const auto stream = at::cuda::getCurrentCUDAStream();
  // A memset, not a fill kernel: inside a CUDA graph, a memset node.
  C10_CUDA_CHECK(cudaMemsetAsync(table.data_ptr<float>(), 0, sizeof(float) * static_cast<size_t>(table.numel()), stream));
  if (n == 0 || dim == 0) return table;
  const int sms = at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
  auto launch = [&](auto* index_type) {
    using Index = std::remove_const_t<std::remove_pointer_t<decltype(index_type)>>;
    const Index* idx = index.data_ptr<Index>();
    if (rows * dim <= kSharedTableFloats) {
      // about 4,096 elements per block, at most one block per SM: each block adds its table once
      const int64_t blocks = std::clamp<int64_t>((n * dim + 4095) / 4096, 1, sms);
      add_rows_through_shared<Index><<<static_cast<unsigned>(blocks), kThreads, sizeof(float) * rows * dim, stream>>>(
          g.data_ptr<float>(), idx, n, static_cast<int>(dim), rows, padding_idx, table.data_ptr<float>());
    } else {
      // float4 atomics need rows of whole, 16-byte-aligned float4s (the allocations are aligned)
      const bool by_four = dim % 4 == 0 && reinterpret_cast<uintptr_t>(g.data_ptr()) % 16 == 0;
      const int64_t blocks = std::clamp<int64_t>((n + kThreads / kWarp - 1) / (kThreads / kWarp), 1, 8 * sms);
      add_rows<Index><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
          g.data_ptr<float>(), idx, n, static_cast<int>(dim), rows, padding_idx, table.data_ptr<float>(), by_four);
    }
  };
  if (index.scalar_type() == at::kLong) {
    launch(static_cast<int64_t*>(nullptr));
  } else {
    launch(static_cast<int32_t*>(nullptr));
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return table;
}

}  // namespace mlrec::ops::detail
