#include "mlrec/ops/feed_forward.h"

#include <gtest/gtest.h>

#include <limits>

#include "mlrec/ops/dropout.h"
#include "mlrec/train/autocast.h"

namespace mlrec::ops {
namespace {

// What the fused function replaces: torch's ops and mlrec's dropout, one after the other.
torch::Tensor composed(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double p,
                       bool training) {
  return ops::dropout(torch::gelu(at::linear(x, w, b)), p, training);
}

struct Inputs {
  torch::Tensor x, w, b;
};

// 3 x 7 rows, 300 outputs (not a multiple of any vector width, so the loops' tails run); the
// pre-activations are ~N(0, 0.65), so gelu is far from underflowing to 0 anywhere.
Inputs make_inputs(uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({3, 7, 40}, torch::requires_grad()),
          (0.1 * torch::randn({300, 40})).requires_grad_(),
          (0.5 * torch::randn({300})).requires_grad_()};
}

TEST(LinearGeluDropout, WithoutDropoutMatchesTorchsGelu) {
  auto in = make_inputs(1);
  for (const bool training : {false, true}) {
    const double p = training ? 0.0 : 0.1;  // evaluation ignores p; p = 0 trains without dropout
    auto fused = linear_gelu_dropout(in.x, in.w, in.b, p, training);
    auto expected = torch::gelu(at::linear(in.x, in.w, in.b));
    ASSERT_EQ(fused.sizes(), expected.sizes());
    EXPECT_TRUE(torch::allclose(fused, expected, 1e-5, 1e-6)) << (fused - expected).abs().max().item<float>();
  }
}

TEST(LinearGeluDropout, TakesModelsDropoutsMaskAndMatchesTheComposedGradients) {
  auto a = make_inputs(2);
  auto b = make_inputs(2);
  auto upstream = torch::randn({3, 7, 300});
  torch::manual_seed(9);
  auto fused = linear_gelu_dropout(a.x, a.w, a.b, 0.3, true);
  torch::manual_seed(9);
  auto expected = composed(b.x, b.w, b.b, 0.3, true);
  EXPECT_TRUE(torch::allclose(fused, expected, 1e-5, 1e-6));
  // The same elements are dropped (gelu is nonzero almost surely at these inputs).
  EXPECT_TRUE(torch::equal(fused == 0, expected == 0));
  const double dropped = (fused == 0).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(dropped, 0.3, 0.03);

  (fused * upstream).sum().backward();
  (expected * upstream).sum().backward();
  EXPECT_TRUE(torch::allclose(a.x.grad(), b.x.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(a.w.grad(), b.w.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(a.b.grad(), b.b.grad(), 1e-4, 1e-5));
}

TEST(LinearGeluDropout, GeluAndItsDerivativeHoldFarIntoBothTails) {
  // One input, one output, weight 1, bias 0: the function is gelu itself.
  auto v = torch::linspace(-120, 120, 4801).unsqueeze(1).requires_grad_();
  auto w = torch::ones({1, 1}, torch::requires_grad());
  auto bias = torch::zeros({1}, torch::requires_grad());
  auto y = linear_gelu_dropout(v, w, bias, 0.0, true);
  auto reference = torch::gelu(v.detach());
  EXPECT_FALSE(y.isnan().any().item<bool>());
  EXPECT_TRUE(torch::allclose(y, reference, 1e-5, 1e-6)) << (y - reference).abs().max().item<float>();
  y.sum().backward();
  auto derivative = at::gelu_backward(torch::ones_like(reference), v.detach());
  EXPECT_FALSE(v.grad().isnan().any().item<bool>());
  EXPECT_TRUE(torch::allclose(v.grad(), derivative, 1e-5, 1e-6)) << (v.grad() - derivative).abs().max().item<float>();
  EXPECT_NEAR(bias.grad().item<float>(), derivative.sum().item<float>(), 1e-2);
  // No denormal floats (x86 handles them ~100x slower): the far left tail is exactly 0.
  auto subnormal = [](const torch::Tensor& a) {
    return (a != 0).logical_and(a.abs() < std::numeric_limits<float>::min()).any().item<bool>();
  };
  EXPECT_FALSE(subnormal(y));
  EXPECT_FALSE(subnormal(v.grad()));
  EXPECT_EQ(y.index({v.detach() < -12}).abs().max().item<float>(), 0.0f);
}

TEST(LinearGeluDropout, SameResultOnOneThreadAndOnSeveral) {
  const int threads = torch::get_num_threads();
  auto run = [](int n) {
    torch::set_num_threads(n);
    auto in = make_inputs(3);
    torch::manual_seed(4);
    auto y = linear_gelu_dropout(in.x, in.w, in.b, 0.2, true);
    y.pow(2).sum().backward();
    return std::vector<torch::Tensor>{y.detach(), in.b.grad()};
  };
  auto one = run(1);
  auto several = run(std::max(2, threads));
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one[0], several[0]));
  EXPECT_TRUE(torch::allclose(one[1], several[1], 1e-5, 1e-5));  // bias sums in another order
}

// Under bf16 autocast on the CPU: the product in bf16 (as autocast casts it), then the pass in
// float32 on it with the float32 bias, rounded to bf16, with ops::dropout's mask. The reference
// composes torch's GELU, which differs from mlrec's in the last float bits: a bf16 rounding
// apart at most.
TEST(LinearGeluDropout, UnderBf16AutocastIsTheFloat32PassOnTheBf16Product) {
  auto a = make_inputs(5);
  auto b = make_inputs(5);
  auto upstream = torch::randn({3, 7, 300}).to(torch::kBFloat16);
  torch::Tensor fused;
  {
    train::AutocastGuard autocast(true, torch::kCPU);
    torch::manual_seed(6);
    fused = linear_gelu_dropout(a.x, a.w, a.b, 0.3, true);
  }
  torch::manual_seed(6);
  auto product = at::mm(b.x.reshape({-1, 40}).to(torch::kBFloat16), b.w.to(torch::kBFloat16).t());
  auto expected =
      ops::dropout(torch::gelu(product.to(torch::kFloat32) + b.b), 0.3, true).to(torch::kBFloat16).view({3, 7, 300});
  ASSERT_EQ(fused.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(fused == 0, expected == 0));
  EXPECT_TRUE(torch::allclose(fused.to(torch::kFloat32), expected.to(torch::kFloat32), 1.0 / 128, 1e-6));
  EXPECT_NEAR((fused == 0).to(torch::kFloat64).mean().item<double>(), 0.3, 0.03);

  fused.backward(upstream);
  expected.backward(upstream);
  for (auto [mine, theirs] : {std::pair{a.x, b.x}, std::pair{a.w, b.w}, std::pair{a.b, b.b}}) {
    ASSERT_EQ(mine.grad().scalar_type(), torch::kFloat32);
    const double scale = theirs.grad().abs().max().item<double>();
    EXPECT_LT((mine.grad() - theirs.grad()).abs().max().item<double>(), 0.02 * scale);
  }
}

}  // namespace
}  // namespace mlrec::ops
