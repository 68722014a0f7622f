#include "mlrec/models/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <mutex>

#include "hash_mask.h"

namespace mlrec::models {
namespace {

using hash_mask::Seed;

constexpr int64_t kGrain = 1 << 16;

// The loop is kept free of stores of other widths so that GCC vectorises it.
MLREC_CPU_CLONES void apply_mask(const float* __restrict in, float* __restrict out, uint32_t first, uint32_t n,
                                 uint32_t seed_a, uint32_t seed_b, uint32_t threshold, float scale) {
  for (uint32_t j = 0; j < n; ++j) {
    out[j] = hash_mask::keep_hash(first + j, seed_a, seed_b) >= threshold ? in[j] * scale : 0.0f;
  }
}

// out = in * mask * scale over all elements, in parallel chunks.
torch::Tensor masked(const torch::Tensor& input, Seed seed, uint32_t threshold, float scale) {
  auto x = input.contiguous();
  auto out = torch::empty_like(x);
  const float* in = x.data_ptr<float>();
  float* o = out.data_ptr<float>();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    apply_mask(in + begin, o + begin, static_cast<uint32_t>(begin), static_cast<uint32_t>(end - begin), seed.a,
               seed.b, threshold, scale);
  });
  return out;
}

class DropoutFunction : public torch::autograd::Function<DropoutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input, double p) {
    const Seed seed = hash_mask::draw_seed();
    const auto threshold = hash_mask::threshold(p);
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    ctx->saved_data["seed_a"] = static_cast<int64_t>(seed.a);
    ctx->saved_data["seed_b"] = static_cast<int64_t>(seed.b);
    ctx->saved_data["threshold"] = static_cast<int64_t>(threshold);
    ctx->saved_data["scale"] = static_cast<double>(scale);
    return masked(input, seed, threshold, scale);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const Seed seed{static_cast<uint32_t>(ctx->saved_data["seed_a"].toInt()),
                    static_cast<uint32_t>(ctx->saved_data["seed_b"].toInt())};
    const auto threshold = static_cast<uint32_t>(ctx->saved_data["threshold"].toInt());
    const float scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    return {masked(grads[0], seed, threshold, scale), torch::Tensor()};
  }
};

}  // namespace

hash_mask::Seed hash_mask::draw_seed() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  const uint64_t r = generator.get<at::CPUGeneratorImpl>()->random64();
  return {static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32)};
}

torch::Tensor dropout(const torch::Tensor& input, double p, bool training) {
  if (!training || p <= 0) return input;
  if (!input.device().is_cpu() || input.scalar_type() != torch::kFloat32 || p >= 1 ||
      input.numel() >= (int64_t(1) << 32)) {
    return torch::dropout(input, p, training);
  }
  return DropoutFunction::apply(input, p);
}

}  // namespace mlrec::models
