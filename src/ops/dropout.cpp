#include "mlrec/ops/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <mutex>

#include "ops/hash_mask.h"

namespace mlrec::ops {
namespace {

constexpr int64_t kGrain = 1 << 16;

// The loop is kept free of stores of other widths so that GCC vectorises it.
MLREC_CPU_CLONES void apply_mask(const float* __restrict in, float* __restrict out, uint32_t first, uint32_t n,
                                 uint32_t seed_a, uint32_t seed_b, uint32_t threshold, float scale) {
  for (uint32_t j = 0; j < n; ++j) {
    out[j] = hash_mask::keep_hash(first + j, seed_a, seed_b) >= threshold ? in[j] * scale : 0.0f;
  }
}

// bfloat16 (under bf16 autocast) as its bits: widening is a shift; narrowing rounds to nearest
// even, as c10::BFloat16 does (a NaN stays a NaN: widened from bf16, its low bits are zero, so
// the rounding cannot carry into the exponent). Every element is scaled and rounded and the mask
// applied to the bits, so that the loop has no branch and GCC vectorises it.
MLREC_CPU_CLONES void apply_mask_bf16(const uint16_t* __restrict in, uint16_t* __restrict out, uint32_t first,
                                      uint32_t n, uint32_t seed_a, uint32_t seed_b, uint32_t threshold, float scale) {
  for (uint32_t j = 0; j < n; ++j) {
    const float x = __builtin_bit_cast(float, static_cast<uint32_t>(in[j]) << 16);
    const uint32_t bits = __builtin_bit_cast(uint32_t, x * scale);
    const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    const uint32_t keep = 0u - static_cast<uint32_t>(hash_mask::keep_hash(first + j, seed_a, seed_b) >= threshold);
    out[j] = static_cast<uint16_t>(rounded & keep);
  }
}

// out = in * mask * scale over all elements, in parallel chunks; float32 or bfloat16.
torch::Tensor masked(const torch::Tensor& input, const hash_mask::Mask& mask) {
  auto x = input.contiguous();
  auto out = torch::empty_like(x);
  const bool bf16 = x.scalar_type() == torch::kBFloat16;
  const void* in = x.data_ptr();
  void* o = out.data_ptr();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    const auto first = static_cast<uint32_t>(begin), n = static_cast<uint32_t>(end - begin);
    if (bf16) {
      apply_mask_bf16(static_cast<const uint16_t*>(in) + begin, static_cast<uint16_t*>(o) + begin, first, n,
                      mask.seed_a, mask.seed_b, mask.threshold, mask.scale);
    } else {
      apply_mask(static_cast<const float*>(in) + begin, static_cast<float*>(o) + begin, first, n, mask.seed_a,
                 mask.seed_b, mask.threshold, mask.scale);
    }
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
