// mlrec's CUDA attention for short windows against torch's (ops/short_attention.h).
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "mlrec/ops/short_attention.h"
#include "support/cuda_fixture.h"

namespace mlrec {
namespace {

using namespace test_support;  // the CUDA fixtures and helpers (support/cuda_fixture.h)

// torch's attention on the same packed projections, as the encoder layer calls it.
torch::Tensor torch_attention(const torch::Tensor& packed, const torch::Tensor& pad, int64_t heads) {
  const int64_t batch = packed.size(0), length = packed.size(1), dim = packed.size(2) / 3;
  auto qkv = packed.view({batch, length, 3, heads, dim / heads}).permute({2, 0, 3, 1, 4});
  auto attend = pad.logical_not().view({batch, 1, 1, length});
  return at::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attend, 0.0)
      .transpose(1, 2)
      .reshape({batch, length, dim});
}

class ShortAttention : public CudaKernels {
 protected:
  // The study's shape: 10 tokens, 12 heads of 10; some keys padded, never the target's.
  const int64_t batch = 64, length = 10, heads = 12, dim = 120;
  torch::TensorOptions options = torch::TensorOptions().device(torch::kCUDA, 0);
  torch::Tensor packed() { return torch::randn({batch, length, 3 * dim}, options); }
  torch::Tensor pad() {
    auto mask = torch::rand({batch, length}, options) < 0.4;
    mask.select(1, length - 1).fill_(false);
    return mask;
  }
};

TEST_F(ShortAttention, MatchesTorchsAttentionWithoutDropout) {
  torch::manual_seed(7);
  auto qkv = packed().requires_grad_(true);
  auto mask = pad();
  ASSERT_TRUE(ops::short_attention_supports(qkv, heads));
  auto upstream = torch::randn({batch, length, dim}, options);
  auto ours = ops::short_attention(qkv, mask, heads, 0.0);
  auto our_grad = torch::autograd::grad({(ours * upstream).sum()}, {qkv})[0];
  auto theirs = torch_attention(qkv, mask, heads);
  auto their_grad = torch::autograd::grad({(theirs * upstream).sum()}, {qkv})[0];
  EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-5);
  EXPECT_LT((our_grad - their_grad).abs().max().item<double>(), 1e-4);
}

TEST_F(ShortAttention, DropoutIsUnbiasedSeededAndItsGradientMatchesTheForward) {
  torch::manual_seed(8);
  auto qkv = packed();
  auto mask = pad();
  const double p = 0.3;
  auto exact = ops::short_attention(qkv, mask, heads, 0.0);
  // Each call draws new masks; the same seed draws the same ones.
  torch::manual_seed(1);
  auto first = ops::short_attention(qkv, mask, heads, p);
  auto second = ops::short_attention(qkv, mask, heads, p);
  torch::manual_seed(1);
  auto again = ops::short_attention(qkv, mask, heads, p);
  EXPECT_TRUE(torch::equal(first, again));
  EXPECT_FALSE(torch::equal(first, second));
  // Inverted dropout keeps the expectation: the mean of many draws approaches the exact output.
  auto mean = torch::zeros_like(exact);
  const int draws = 400;
  for (int i = 0; i < draws; ++i) mean += ops::short_attention(qkv, mask, heads, p);
  mean /= draws;
  EXPECT_LT((mean - exact).abs().mean().item<double>(), 0.05 * exact.abs().mean().item<double>());
  // With the seed fixed the masks are fixed, so the output is a function of qkv alone: the
  // gradient must match central differences in a random direction.
  auto direction = torch::randn_like(qkv);
  auto weights = torch::randn({batch, length, dim}, options);
  auto objective = [&](const torch::Tensor& x) {
    torch::manual_seed(2);
    return (ops::short_attention(x, mask, heads, p).to(torch::kFloat64) * weights.to(torch::kFloat64)).sum();
  };
  auto x = qkv.clone().requires_grad_(true);
  auto analytic = (torch::autograd::grad({objective(x)}, {x})[0] * direction).sum().item<double>();
  const double eps = 1e-2;
  torch::NoGradGuard no_grad;
  const double numeric =
      (objective(qkv + eps * direction).item<double>() - objective(qkv - eps * direction).item<double>()) / (2 * eps);
  EXPECT_NEAR(analytic, numeric, 2e-3 * std::abs(numeric) + 1e-2);
}

TEST_F(ShortAttention, TrainsTheSequenceModelAsTorchsAttentionDoes) {
  expect_trains_as_torchs_ops("model.attention", "short");
}

}  // namespace
}  // namespace mlrec
