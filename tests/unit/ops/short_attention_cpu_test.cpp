#include "mlrec/ops/short_attention.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace mlrec::ops {
namespace {

constexpr int64_t kBatch = 6, kLength = 10, kHeads = 3, kHeadDim = 5, kDim = kHeads * kHeadDim;

// Left-padded windows as the dataset makes them: sample b has b padded tokens (the last token,
// the target, is never padding).
torch::Tensor left_padding() {
  auto pad = torch::zeros({kBatch, kLength}, torch::kBool);
  for (int64_t b = 0; b < kBatch; ++b) pad[b].narrow(0, 0, b).fill_(true);
  return pad;
}

// torch's attention on the same packed input, as the encoder layer calls it.
torch::Tensor torch_attention(const torch::Tensor& qkv, const torch::Tensor& pad) {
  auto parts = qkv.view({kBatch, kLength, 3, kHeads, kHeadDim}).permute({2, 0, 3, 1, 4});
  auto attend = pad.logical_not().view({kBatch, 1, 1, kLength});
  auto out = at::scaled_dot_product_attention(parts[0], parts[1], parts[2], attend, 0.0);
  return out.transpose(1, 2).reshape({kBatch, kLength, kDim});
}

TEST(ShortAttentionCpu, MatchesTorchsAttentionAndItsGradient) {
  torch::manual_seed(1);
  auto qkv = torch::randn({kBatch, kLength, 3 * kDim}, torch::requires_grad());
  auto reference_qkv = qkv.detach().clone().requires_grad_();
  const auto pad = left_padding();
  ASSERT_TRUE(short_attention_supports(qkv, kHeads));
  auto out = short_attention(qkv, pad, kHeads, 0.0);
  auto expected = torch_attention(reference_qkv, pad);
  EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-6)) << (out - expected).abs().max().item<float>();
  auto upstream = torch::randn_like(out);
  (out * upstream).sum().backward();
  (expected * upstream).sum().backward();
  EXPECT_TRUE(torch::allclose(qkv.grad(), reference_qkv.grad(), 1e-4, 1e-5))
      << (qkv.grad() - reference_qkv.grad()).abs().max().item<float>();
}

TEST(ShortAttentionCpu, DropoutIsSeededUnbiasedAndItsGradientMatchesTheForward) {
  torch::manual_seed(2);
  auto qkv = torch::randn({kBatch, kLength, 3 * kDim}, torch::requires_grad());
  const auto pad = left_padding();
  auto run = [&](const torch::Tensor& input, uint64_t seed) {
    torch::manual_seed(seed);
    return short_attention(input, pad, kHeads, 0.3);
  };
  auto a = run(qkv, 7);
  EXPECT_TRUE(torch::equal(a, run(qkv, 7)));
  EXPECT_FALSE(torch::equal(a, run(qkv, 8)));

  // Central differences along a random direction, with the same mask on both sides.
  auto upstream = torch::randn_like(a);
  (a * upstream).sum().backward();
  auto direction = torch::randn_like(qkv);
  const double eps = 1e-2;
  torch::NoGradGuard no_grad;
  const double plus = (run(qkv + eps * direction, 7) * upstream).sum().item<double>();
  const double minus = (run(qkv - eps * direction, 7) * upstream).sum().item<double>();
  const double numeric = (plus - minus) / (2 * eps);
  const double analytic = (qkv.grad() * direction).sum().item<double>();
  EXPECT_NEAR(analytic, numeric, 1e-2 * std::max(1.0, std::abs(numeric)));

  // Inverted dropout keeps the expectation: the mean over many masks approaches the output
  // without dropout.
  auto mean = torch::zeros_like(a);
  const int draws = 400;
  for (int s = 0; s < draws; ++s) mean += run(qkv, 100 + s);
  mean /= draws;
  auto exact = short_attention(qkv, pad, kHeads, 0.0);
  EXPECT_LT((mean - exact).abs().mean().item<float>(), 0.05 * exact.abs().mean().item<float>());
}

TEST(ShortAttentionCpu, TakesOnlyWhatItSupports) {
  auto qkv = torch::randn({2, kLength, 3 * kDim});
  EXPECT_TRUE(short_attention_supports(qkv, kHeads));
  EXPECT_FALSE(short_attention_supports(torch::randn({2, 33, 3 * kDim}), kHeads));  // too long
  EXPECT_TRUE(short_attention_supports(qkv.to(torch::kBFloat16), kHeads));
  EXPECT_FALSE(short_attention_supports(qkv.to(torch::kFloat64), kHeads));
  EXPECT_FALSE(short_attention_supports(qkv, 4));  // 15 is not divisible by 4 heads
}

// Under bf16 autocast the input projection's output is bfloat16: the float32 computation of
// that input, with the same mask, and its output and gradient rounded to bfloat16.
TEST(ShortAttentionCpu, Bf16IsTheFloat32ComputationOfTheRoundedInput) {
  torch::manual_seed(4);
  auto qkv = torch::randn({kBatch, kLength, 3 * kDim}).to(torch::kBFloat16).requires_grad_();
  auto as_float = qkv.detach().to(torch::kFloat32).requires_grad_();
  const auto pad = left_padding();
  torch::manual_seed(9);
  auto out = short_attention(qkv, pad, kHeads, 0.3);
  torch::manual_seed(9);
  auto expected = short_attention(as_float, pad, kHeads, 0.3);
  ASSERT_EQ(out.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(out, expected.to(torch::kBFloat16)));
  auto upstream = torch::randn(out.sizes()).to(torch::kBFloat16);
  out.backward(upstream);
  expected.backward(upstream.to(torch::kFloat32));
  ASSERT_EQ(qkv.grad().scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(qkv.grad(), as_float.grad().to(torch::kBFloat16)));
}

}  // namespace
}  // namespace mlrec::ops
