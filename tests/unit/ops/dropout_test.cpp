#include "mlrec/ops/dropout.h"

#include <gtest/gtest.h>

#include <cmath>

namespace mlrec::ops {
namespace {

TEST(Dropout, DropsAboutPAndScalesTheRest) {
  torch::manual_seed(1);
  const int64_t n = 1 << 20;
  auto x = torch::ones({n});
  auto y = ops::dropout(x, 0.1, true);
  const double dropped = double((y == 0).sum().item<int64_t>()) / double(n);
  EXPECT_NEAR(dropped, 0.1, 0.002);  // ~7 standard deviations of a binomial(n, 0.1)
  auto kept = y.masked_select(y != 0);
  EXPECT_TRUE(torch::allclose(kept, torch::full_like(kept, 1.0 / 0.9)));
  EXPECT_TRUE(torch::equal(ops::dropout(x, 0.1, false), x));
  EXPECT_TRUE(torch::equal(ops::dropout(x, 0.0, true), x));
}

TEST(Dropout, GradientFlowsOnlyThroughKeptElements) {
  torch::manual_seed(2);
  auto x = torch::randn({64, 33}, torch::requires_grad());
  auto y = ops::dropout(x, 0.3, true);
  y.sum().backward();
  auto expected = (y.detach() != 0).to(torch::kFloat32) / 0.7;
  EXPECT_TRUE(torch::allclose(x.grad(), expected));
}

TEST(Dropout, ReproducibleUnderTheSeedIndependentOfThreadsAndFreshEachCall) {
  auto x = torch::ones({300001});
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  torch::manual_seed(7);
  auto a = ops::dropout(x, 0.5, true);
  auto a2 = ops::dropout(x, 0.5, true);
  torch::set_num_threads(std::max(2, threads));
  torch::manual_seed(7);
  auto b = ops::dropout(x, 0.5, true);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, a2));
  // Masks of successive calls are uncorrelated: they agree on about half the elements.
  const double agree = ((a == 0) == (a2 == 0)).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(agree, 0.5, 0.01);
}

TEST(Dropout, NonContiguousInputIsHandled) {
  torch::manual_seed(3);
  auto x = torch::ones({40, 50}).t();
  auto y = ops::dropout(x, 0.2, true);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_GT((y == 0).sum().item<int64_t>(), 0);
}

// Under bf16 autocast the tensors are bfloat16: the same mask as for float32 (the element's
// index decides), applied in float32 and rounded as a cast to bfloat16 rounds.
TEST(Dropout, Bf16TakesTheFloat32MaskAndRoundsAsACastDoes) {
  auto x = (torch::randn({257, 129}) * 1e3).to(torch::kBFloat16);
  const float big = 3.3e38f;  // near bf16's largest: scaled by 1 / 0.7 it rounds to infinity
  auto flat = x.view({-1});
  flat[0] = INFINITY;
  flat[1] = -INFINITY;
  flat[2] = big;
  flat[3] = -big;
  flat[4] = 1.00390625f;  // 1 + 2^-8: times 1 / 0.7 lands between bf16 values
  x.requires_grad_();
  torch::manual_seed(11);
  auto y = ops::dropout(x, 0.3, true);
  torch::manual_seed(11);
  auto expected = ops::dropout(x.detach().to(torch::kFloat32), 0.3, true).to(torch::kBFloat16);
  ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(y, expected));
  const double dropped = (y == 0).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(dropped, 0.3, 0.02);

  auto upstream = torch::randn_like(y);
  (y.to(torch::kFloat32) * upstream.to(torch::kFloat32)).sum().backward();
  ASSERT_EQ(x.grad().scalar_type(), torch::kBFloat16);
  const auto kept = (expected != 0).to(torch::kFloat32);
  EXPECT_TRUE(torch::equal(x.grad(), (upstream.to(torch::kFloat32) * kept * (1.0f / 0.7f)).to(torch::kBFloat16)));
}

TEST(Dropout, Bf16KeepsNaNs) {
  auto x = torch::full({1000}, NAN, torch::kBFloat16);
  torch::manual_seed(12);
  auto y = ops::dropout(x, 0.5, true);
  torch::manual_seed(12);
  auto kept = ops::dropout(torch::ones({1000}), 0.5, true) != 0;
  EXPECT_TRUE(torch::equal(torch::isnan(y), kept));
}

}  // namespace
}  // namespace mlrec::ops
