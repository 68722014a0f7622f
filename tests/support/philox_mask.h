// The dropout masks mlrec's CUDA kernels must draw, computed on the host (src/ops/philox.h):
// what the GPU tests of the residual step and the attention compare against.
#pragma once

#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdint>
#include <mutex>
#include <utility>

#include "ops/philox.h"

namespace mlrec::test_support {

// The default CUDA generator's seed and the offset its next draw hands out: what the next
// kernel with dropout takes.
inline std::pair<uint64_t, uint64_t> next_philox() {
  auto generator = at::cuda::detail::getDefaultCUDAGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  auto* impl = generator.get<at::CUDAGeneratorImpl>();
  return {impl->current_seed(), impl->get_offset()};
}

// The mask times the keep scale over n elements (float64, on the CPU): element e is kept by bit
// e % 8 of the Philox block of group e / 8.
inline torch::Tensor expected_mask(uint64_t seed, uint64_t offset, int64_t n, double p) {
  const auto dropout = ops::philox::dropout16(p);
  auto mask = torch::empty({n}, torch::kFloat64);
  double* m = mask.data_ptr<double>();
  for (int64_t group = 0; group * 8 < n; ++group) {
    const uint32_t bits = ops::philox::keep_bits8(seed, offset, static_cast<uint64_t>(group), dropout.threshold);
    for (int64_t j = 0; j < 8 && group * 8 + j < n; ++j) m[group * 8 + j] = (bits >> j) & 1u ? dropout.scale : 0.0;
  }
  return mask;
}

}  // namespace mlrec::test_support
