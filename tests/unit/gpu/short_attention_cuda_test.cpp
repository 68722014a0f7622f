// mlrec's CUDA attention for short windows against torch's (ops/short_attention.h).
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "mlrec/ops/short_attention.h"
#include "support/cuda_fixture.h"
#include "support/philox_mask.h"

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

// The kernels of ops::ShortAttentionCuda::kV2; ShortAttentionV1 below tests kV1, the default
// on CUDA until a GPU has measured kV2.
class ShortAttention : public CudaKernels {
 protected:
  // The study's shape: 10 tokens, 12 heads of 10; some keys padded, never the target's.
  const int64_t batch = 64, length = 10, heads = 12, dim = 120;
  torch::TensorOptions options = torch::TensorOptions().device(torch::kCUDA, 0);
  ops::ShortAttentionCuda version = ops::ShortAttentionCuda::kV2;
  torch::Tensor packed() { return torch::randn({batch, length, 3 * dim}, options); }
  torch::Tensor pad() {
    auto mask = torch::rand({batch, length}, options) < 0.4;
    mask.select(1, length - 1).fill_(false);
    return mask;
  }
  torch::Tensor attend(const torch::Tensor& qkv, const torch::Tensor& mask, double p) {
    return ops::short_attention(qkv, mask, heads, p, version);
  }
  void expect_matches_torchs_attention_without_dropout();
  void expect_dropout_unbiased_seeded_and_its_gradient_the_forwards();
};

class ShortAttentionV1 : public ShortAttention {
 protected:
  ShortAttentionV1() { version = ops::ShortAttentionCuda::kV1; }
};

TEST_F(ShortAttention, MatchesTorchsAttentionWithoutDropout) { expect_matches_torchs_attention_without_dropout(); }
TEST_F(ShortAttentionV1, MatchesTorchsAttentionWithoutDropout) { expect_matches_torchs_attention_without_dropout(); }

void ShortAttention::expect_matches_torchs_attention_without_dropout() {
  torch::manual_seed(7);
  auto qkv = packed().requires_grad_(true);
  auto mask = pad();
  ASSERT_TRUE(ops::short_attention_supports(qkv, heads));
  auto upstream = torch::randn({batch, length, dim}, options);
  auto ours = attend(qkv, mask, 0.0);
  ASSERT_TRUE(made_by(ours, version == ops::ShortAttentionCuda::kV1 ? "ShortAttentionV1Function"
                                                                     : "ShortAttentionFunction"))
      << node_name(ours);
  auto our_grad = torch::autograd::grad({(ours * upstream).sum()}, {qkv})[0];
  auto theirs = torch_attention(qkv, mask, heads);
  auto their_grad = torch::autograd::grad({(theirs * upstream).sum()}, {qkv})[0];
  EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-5);
  EXPECT_LT((our_grad - their_grad).abs().max().item<double>(), 1e-4);
}

// The attention in float64 with the weights after the softmax multiplied by `mask` ([B, heads, L,
// L], the keep scale or 0): x [B, L, 3 * dim] float64.
torch::Tensor float64_attention(const torch::Tensor& x, const torch::Tensor& pad, const torch::Tensor& mask,
                                int64_t heads) {
  const int64_t batch = x.size(0), length = x.size(1), dim = x.size(2) / 3, head_dim = dim / heads;
  auto qkv = x.view({batch, length, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});  // 3 x [B, heads, L, hd]
  auto scores = qkv[0].matmul(qkv[1].transpose(-1, -2)) / std::sqrt(double(head_dim));
  auto probs = torch::softmax(scores.masked_fill(pad.view({batch, 1, 1, length}), -INFINITY), -1);
  return (probs * mask).matmul(qkv[2]).transpose(1, 2).reshape({batch, length, dim});
}

TEST_F(ShortAttention, MatchesAFloat64ReferenceUnderTheMaskItDrew) {
  torch::manual_seed(11);
  // (batch, length, heads, head dim): the study's; windows on the kernels with 32-key rows (17 and
  // 32 keys, rows not aligned to the mask's groups of 8), more (head, query) rows than a block
  // has threads, one token, odd head sizes.
  const std::vector<std::array<int64_t, 4>> shapes = {
      {64, 10, 12, 10}, {9, 17, 8, 6}, {5, 32, 4, 8}, {7, 1, 3, 5}, {33, 13, 2, 7}};
  for (const auto& [samples, tokens, head_count, head_dim] : shapes) {
    for (const auto type : {torch::kFloat32, torch::kBFloat16}) {
      for (const double p : {0.0, 0.1, 0.5}) {
        SCOPED_TRACE("length " + std::to_string(tokens) + ", heads " + std::to_string(head_count) + " x " +
                     std::to_string(head_dim) + (type == torch::kBFloat16 ? ", bf16" : ", float32") + ", p " +
                     std::to_string(p));
        const int64_t width = head_count * head_dim;
        auto qkv = torch::randn({samples, tokens, 3 * width}, options).to(type).requires_grad_(true);
        auto padded = torch::rand({samples, tokens}, options) < 0.4;
        padded.select(1, tokens - 1).fill_(false);  // the target is never padded
        ASSERT_TRUE(ops::short_attention_supports(qkv, head_count));
        const auto [seed, offset] = next_philox();
        auto ours = ops::short_attention(qkv, padded, head_count, p);
        ASSERT_TRUE(made_by(ours, "ShortAttentionFunction")) << node_name(ours);
        EXPECT_EQ(ours.scalar_type(), type);
        // The upstream gradient arrives in the output's type.
        auto upstream = torch::randn({samples, tokens, width}, options).to(type).to(torch::kFloat32);
        auto grad = torch::autograd::grad({(ours.to(torch::kFloat32) * upstream).sum()}, {qkv})[0];
        EXPECT_EQ(grad.scalar_type(), type);

        const int64_t weights = samples * head_count * tokens * tokens;
        auto keep = p > 0 ? expected_mask(seed, offset, weights, p).to(options.dtype(torch::kFloat64))
                          : torch::ones({weights}, options.dtype(torch::kFloat64));
        auto x = qkv.detach().to(torch::kFloat64).requires_grad_(true);
        auto reference = float64_attention(x, padded, keep.view({samples, head_count, tokens, tokens}), head_count);
        auto reference_grad =
            torch::autograd::grad({(reference * upstream.to(torch::kFloat64)).sum()}, {x})[0];
        // bf16 rounds the output and the gradient: 2^-8 relative.
        const double tolerance = type == torch::kBFloat16 ? 1e-2 : 1e-4;
        EXPECT_LT((ours.to(torch::kFloat64) - reference).abs().max().item<double>(),
                  tolerance * reference.abs().max().item<double>() + 1e-6);
        EXPECT_LT((grad.to(torch::kFloat64) - reference_grad).abs().max().item<double>(),
                  tolerance * reference_grad.abs().max().item<double>() + 1e-5);
      }
    }
  }
  // A sample whose every key is padding attends to nothing: zero output, no gradient.
  auto qkv = torch::randn({4, 10, 3 * dim}, options).requires_grad_(true);
  auto all_padded = torch::zeros({4, 10}, options.dtype(torch::kBool));
  all_padded[2].fill_(true);
  auto out = ops::short_attention(qkv, all_padded, heads, 0.1);
  auto grad = torch::autograd::grad({out.sum()}, {qkv})[0];
  EXPECT_EQ(out[2].abs().max().item<float>(), 0.f);
  EXPECT_EQ(grad[2].abs().max().item<float>(), 0.f);
  EXPECT_GT(out[1].abs().max().item<float>(), 0.f);
}

TEST_F(ShortAttention, DropoutIsUnbiasedSeededAndItsGradientMatchesTheForward) {
  expect_dropout_unbiased_seeded_and_its_gradient_the_forwards();
}
TEST_F(ShortAttentionV1, DropoutIsUnbiasedSeededAndItsGradientMatchesTheForward) {
  expect_dropout_unbiased_seeded_and_its_gradient_the_forwards();
}

void ShortAttention::expect_dropout_unbiased_seeded_and_its_gradient_the_forwards() {
  torch::manual_seed(8);
  auto qkv = packed();
  auto mask = pad();
  const double p = 0.3;
  auto exact = attend(qkv, mask, 0.0);
  // Each call draws new masks; the same seed draws the same ones.
  torch::manual_seed(1);
  auto first = attend(qkv, mask, p);
  auto second = attend(qkv, mask, p);
  torch::manual_seed(1);
  auto again = attend(qkv, mask, p);
  EXPECT_TRUE(torch::equal(first, again));
  EXPECT_FALSE(torch::equal(first, second));
  // Inverted dropout keeps the expectation: the mean of many draws approaches the exact output.
  auto mean = torch::zeros_like(exact);
  const int draws = 400;
  for (int i = 0; i < draws; ++i) mean += attend(qkv, mask, p);
  mean /= draws;
  EXPECT_LT((mean - exact).abs().mean().item<double>(), 0.05 * exact.abs().mean().item<double>());
  // With the seed fixed the masks are fixed, so the output is a function of qkv alone: the
  // gradient must match central differences in a random direction.
  auto direction = torch::randn_like(qkv);
  auto weights = torch::randn({batch, length, dim}, options);
  auto objective = [&](const torch::Tensor& x) {
    torch::manual_seed(2);
    return (attend(x, mask, p).to(torch::kFloat64) * weights.to(torch::kFloat64)).sum();
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
  expect_trains_as_torchs_ops("model.attention", "short", {"train.precision=bf16"});
}

TEST_F(ShortAttentionV1, TrainsTheSequenceModelAsTorchsAttentionDoes) {
  expect_trains_as_torchs_ops("model.attention", "short_v1");
}

}  // namespace
}  // namespace mlrec
