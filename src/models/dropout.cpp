#include "mlrec/models/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <mutex>

namespace mlrec::models {
namespace {

// A 32-bit integer hash with good avalanche ("lowbias32", Chris Wellons' hash-prospector):
// only 32-bit multiplies, shifts and xors, which vectorise.
inline uint32_t lowbias32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

struct Seed {
  uint32_t a, b;
};

Seed draw_seed() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  const uint64_t r = generator.get<at::CPUGeneratorImpl>()->random64();
  return {static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32)};
}

constexpr int64_t kGrain = 1 << 16;

// The keep/drop decision of element `index`: two hash rounds, each keyed by half of the seed,
// so the masks of different calls are independent rather than permutations of one another.
// The mask is never stored: backward recomputes it from the seed, which costs less than
// writing and reading a byte per element.
//
// Compiled for AVX-512, AVX2 and baseline x86-64, picked at load time: the hash vectorises on
// the machines that can, and the binary still runs on those that can't. The loop is kept free
// of stores of other widths so that GCC vectorises it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MLREC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MLREC_CLONES
#endif

MLREC_CLONES void apply_mask(const float* __restrict in, float* __restrict out, uint32_t first, uint32_t n,
                             uint32_t seed_a, uint32_t seed_b, uint32_t threshold, float scale) {
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t h = lowbias32(lowbias32((first + j) ^ seed_a) + seed_b);
    out[j] = h >= threshold ? in[j] * scale : 0.0f;
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
    const Seed seed = draw_seed();
    const auto threshold = static_cast<uint32_t>(std::min(p * 4294967296.0, 4294967295.0));
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

torch::Tensor dropout(const torch::Tensor& input, double p, bool training) {
  if (!training || p <= 0) return input;
  if (!input.device().is_cpu() || input.scalar_type() != torch::kFloat32 || p >= 1 ||
      input.numel() >= (int64_t(1) << 32)) {
    return torch::dropout(input, p, training);
  }
  return DropoutFunction::apply(input, p);
}

}  // namespace mlrec::models
