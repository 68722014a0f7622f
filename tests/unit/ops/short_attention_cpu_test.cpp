#include "mlrec/ops/short_attention.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/short_attention_kernels.h"
#include "ops/hash_mask.h"

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

// The attention in float64 with the weights after the softmax multiplied by `keep` ([B, heads,
// L, L]: the dropout's scale or 0): x [B, L, 3 * dim] float64.
torch::Tensor float64_attention(const torch::Tensor& x, const torch::Tensor& pad, const torch::Tensor& keep,
                                int64_t heads) {
  const int64_t batch = x.size(0), length = x.size(1), dim = x.size(2) / 3, head_dim = dim / heads;
  auto parts = x.view({batch, length, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
  auto scores = parts[0].matmul(parts[1].transpose(-1, -2)) / std::sqrt(double(head_dim));
  auto weights = torch::softmax(scores.masked_fill(pad.view({batch, 1, 1, length}), -INFINITY), -1);
  return (weights * keep).matmul(parts[2]).transpose(1, 2).reshape({batch, length, dim});
}

// The mask the CPU path applies: weight (b, h, i, j) is kept, scaled, where the hash of its
// counter ((b * heads + h) * L + i) * L + j passes the threshold (ops/cpu/short_attention_kernels.h).
torch::Tensor expected_keep(const ops::hash_mask::Mask& mask, int64_t batch, int64_t heads, int64_t length) {
  auto keep = torch::empty({batch * heads * length * length}, torch::kFloat64);
  auto* k = keep.data_ptr<double>();
  for (int64_t n = 0; n < keep.numel(); ++n) {
    const bool kept = ops::hash_mask::keep_hash(static_cast<uint32_t>(n), mask.seed_a, mask.seed_b) >= mask.threshold;
    k[n] = kept ? mask.scale : 0.0;
  }
  return keep.view({batch, heads, length, length});
}

// Every window width the kernels have a layout for (8, 16 and 32 lanes, full and partial), one
// token, head sizes from 1 up, the study's shape; no dropout, some, and half.
void expect_the_float64_reference_at_every_window_width() {
  torch::manual_seed(11);
  const std::vector<std::array<int64_t, 4>> shapes = {// (batch, length, heads, head dim)
                                                      {6, 10, 12, 10}, {9, 17, 8, 6}, {5, 32, 4, 8}, {7, 1, 3, 5},
                                                      {4, 8, 2, 3},    {3, 16, 1, 1}, {5, 9, 2, 13}, {33, 13, 2, 7}};
  for (const auto& [batch, length, heads, head_dim] : shapes) {
    for (const double p : {0.0, 0.1, 0.5}) {
      SCOPED_TRACE("batch " + std::to_string(batch) + ", length " + std::to_string(length) + ", heads " +
                   std::to_string(heads) + " x " + std::to_string(head_dim) + ", p " + std::to_string(p));
      const int64_t dim = heads * head_dim;
      auto qkv = torch::randn({batch, length, 3 * dim}, torch::requires_grad());
      auto pad = torch::rand({batch, length}) < 0.4;
      pad.select(1, length - 1).fill_(false);  // the target is never padded
      ASSERT_TRUE(short_attention_supports(qkv, heads));
      const uint64_t seed = 1000 + static_cast<uint64_t>(length);
      torch::manual_seed(seed);
      const auto mask = hash_mask::draw(p);  // the draw the call below makes
      torch::manual_seed(seed);
      auto ours = short_attention(qkv, pad, heads, p);
      auto upstream = torch::randn_like(ours);
      auto grad = torch::autograd::grad({(ours * upstream).sum()}, {qkv})[0];

      auto x = qkv.detach().to(torch::kFloat64).requires_grad_(true);
      auto reference = float64_attention(x, pad, expected_keep(mask, batch, heads, length), heads);
      auto reference_grad = torch::autograd::grad({(reference * upstream.to(torch::kFloat64)).sum()}, {x})[0];
      EXPECT_LT((ours.to(torch::kFloat64) - reference).abs().max().item<double>(), 1e-5);
      EXPECT_LT((grad.to(torch::kFloat64) - reference_grad).abs().max().item<double>(), 1e-4);
    }
  }
}

// Runs the CPU kernels with vectors of `floats` while it lives.
class VectorWidth {
 public:
  explicit VectorWidth(int floats) : before_(use_short_attention_cpu_vector_floats(floats)) {}
  ~VectorWidth() { use_short_attention_cpu_vector_floats(before_); }

 private:
  int before_;
};

// The kernels are built once per x86-64 target, with vectors of 16, 8 or 4 floats, and a machine
// picks the widest it runs: each build this machine can run is checked here, not only that one.
TEST(ShortAttentionCpu, MatchesAFloat64ReferenceUnderTheMaskItDrewAtEveryWindowAndVectorWidth) {
  const int widest = short_attention_cpu_vector_floats();
  for (const int floats : {16, 8, 4}) {
    if (floats > widest) continue;
    SCOPED_TRACE("vectors of " + std::to_string(floats) + " floats");
    const VectorWidth width(floats);
    ASSERT_EQ(short_attention_cpu_vector_floats(), floats);
    expect_the_float64_reference_at_every_window_width();
  }
  EXPECT_EQ(short_attention_cpu_vector_floats(), widest);
}

TEST(ShortAttentionCpu, RunsOnlyTheVectorWidthsThisCpuHas) {
  const int widest = short_attention_cpu_vector_floats();
  EXPECT_TRUE(widest == 4 || widest == 8 || widest == 16);
  for (const int floats : {2, 32, widest * 2, 0}) {
    EXPECT_EQ(use_short_attention_cpu_vector_floats(floats), widest);
    EXPECT_EQ(short_attention_cpu_vector_floats(), widest);
  }
}

// A query whose keys are all padding attends to nothing: its output and every gradient through
// it are 0, not NaN (the dataset never makes one: the target is never padded).
TEST(ShortAttentionCpu, AQueryWithOnlyPaddedKeysGetsZeroAndPassesNoGradient) {
  torch::manual_seed(5);
  auto qkv = torch::randn({2, kLength, 3 * kDim}, torch::requires_grad());
  auto pad = torch::zeros({2, kLength}, torch::kBool);
  pad[1].fill_(true);
  auto out = short_attention(qkv, pad, kHeads, 0.2);
  auto grad = torch::autograd::grad({(out * torch::randn_like(out)).sum()}, {qkv})[0];
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(grad).all().item<bool>());
  EXPECT_EQ(out[1].abs().max().item<float>(), 0.0f);
  EXPECT_EQ(grad[1].abs().max().item<float>(), 0.0f);
  EXPECT_GT(out[0].abs().max().item<float>(), 0.0f);
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
