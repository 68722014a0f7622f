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

// out = in * mask * scale over all elements, in parallel chunks.
torch::Tensor masked(const torch::Tensor& input, const hash_mask::Mask& mask) {
  auto x = input.contiguous();
  auto out = torch::empty_like(x);
  const float* in = x.data_ptr<float>();
  float* o = out.data_ptr<float>();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    apply_mask(in + begin, o + begin, static_cast<uint32_t>(begin), static_cast<uint32_t>(end - begin), mask.seed_a,
               mask.seed_b, mask.threshold, mask.scale);
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
  if (!input.device().is_cpu() || input.scalar_type() != torch::kFloat32 || p >= 1 ||
      input.numel() >= (int64_t(1) << 32)) {
    return torch::dropout(input, p, training);
  }
  return DropoutFunction::apply(input, p);
}

}  // namespace mlrec::ops
