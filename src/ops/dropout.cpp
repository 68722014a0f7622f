#include "mlrec/ops/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <mutex>
#include <type_traits>

#include "ops/cpu/bf16_elements.h"
#include "ops/cpu_elements.h"
#include "ops/hash_mask.h"

namespace mlrec::ops {
namespace {

constexpr int64_t kGrain = 1 << 16;

// in * scale where the mask keeps an element, else 0; float32 or bfloat16 (its bits), computed
// in float32. x * scale is computed for every element and the mask applied by the store, so that
// the loop has no branch and GCC vectorises it.
template <typename T>
MLREC_ELEMENT_INLINE void mask_elements(const T* __restrict in, T* __restrict out, uint32_t first, uint32_t n,
                                        const hash_mask::Mask& mask) {
  const uint32_t seed_a = mask.seed_a, seed_b = mask.seed_b, threshold = mask.threshold;  // (not reloaded per store)
  const float scale = mask.scale;
  for (uint32_t j = 0; j < n; ++j) {
    const bool keep = hash_mask::keep_hash(first + j, seed_a, seed_b) >= threshold;
    elements::store(out + j, elements::widen(in[j]) * scale, keep);
  }
}

MLREC_CPU_CLONES void apply_mask(const float* in, float* out, uint32_t first, uint32_t n,
                                 const hash_mask::Mask& mask) {
  mask_elements(in, out, first, n, mask);
}

MLREC_CPU_CLONES void apply_mask(const uint16_t* in, uint16_t* out, uint32_t first, uint32_t n,
                                 const hash_mask::Mask& mask) {
  mask_elements(in, out, first, n, mask);
}

// out = in * mask * scale over all elements, in parallel chunks; float32 or bfloat16.
torch::Tensor masked(const torch::Tensor& input, const hash_mask::Mask& mask) {
  auto x = input.contiguous();
  auto out = torch::empty_like(x);
  elements::with_type(x, [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    const T* in = elements::of<T>(x);
    T* o = elements::of<T>(out);
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
      apply_mask(in + begin, o + begin, static_cast<uint32_t>(begin), static_cast<uint32_t>(end - begin), mask);
    });
  });
  return out;
}

class DropoutFunction : public torch::autograd::Function<DropoutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input, double p) {
    const auto mask = hash_mask::draw(p);
    hash_mask::save(ctx, mask);
    return masked(input, mask);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    return {masked(grads[0], hash_mask::load(ctx)), torch::Tensor()};
  }
};

}  // namespace

hash_mask::Mask hash_mask::draw(double p) {
  if (p <= 0) return {};
  auto generator = at::detail::getDefaultCPUGenerator();
  uint64_t r;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    r = generator.get<at::CPUGeneratorImpl>()->random64();
  }
  return {static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32),
          static_cast<uint32_t>(std::min(p * 4294967296.0, 4294967295.0)), static_cast<float>(1.0 / (1.0 - p))};
}

void hash_mask::save(torch::autograd::AutogradContext* ctx, const Mask& mask) {
  ctx->saved_data["mask_seed_a"] = static_cast<int64_t>(mask.seed_a);
  ctx->saved_data["mask_seed_b"] = static_cast<int64_t>(mask.seed_b);
  ctx->saved_data["mask_threshold"] = static_cast<int64_t>(mask.threshold);
  ctx->saved_data["mask_scale"] = static_cast<double>(mask.scale);
}

hash_mask::Mask hash_mask::load(torch::autograd::AutogradContext* ctx) {
  return {static_cast<uint32_t>(ctx->saved_data["mask_seed_a"].toInt()),
          static_cast<uint32_t>(ctx->saved_data["mask_seed_b"].toInt()),
          static_cast<uint32_t>(ctx->saved_data["mask_threshold"].toInt()),
          static_cast<float>(ctx->saved_data["mask_scale"].toDouble())};
}

torch::Tensor dropout(const torch::Tensor& input, double p, bool training) {
  RECORD_FUNCTION("mlrec::dropout", std::vector<c10::IValue>({input}));
  if (!training || p <= 0) return input;
  const bool type = input.scalar_type() == torch::kFloat32 || input.scalar_type() == torch::kBFloat16;
  if (!input.device().is_cpu() || !type || p >= 1 ||
      input.numel() >= (int64_t(1) << 32)) {
    return torch::dropout(input, p, training);
  }
  return DropoutFunction::apply(input, p);
}

}  // namespace mlrec::ops
