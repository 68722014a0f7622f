// mlrec's CPU Mish (ops/batch_norm_mish.h, loops in src/ops/cpu/mish_kernels.cpp) against torch's.
#include "mlrec/ops/batch_norm_mish.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace mlrec::ops {
namespace {

// A BatchNorm1d in evaluation with statistics 0 and 1 and unit weight: it passes x through
// (up to 1 / sqrt(1 + eps)), so that both sides' Mish see the same chosen values.
torch::nn::BatchNorm1d pass_through(int64_t features) {
  torch::nn::BatchNorm1d norm(torch::nn::BatchNorm1dOptions(features).eps(0.0));
  norm->eval();
  return norm;
}

// Values over Mish's whole range: a grid from -100 to 100, its minimum (-1.19), zeros, both
// tails.
torch::Tensor sweep() {
  auto grid = torch::linspace(-100, 100, 200001);
  auto special = torch::tensor({0.0f, -0.0f, -1.1924f, 1e-30f, -1e-30f, -79.9f, -80.1f, 30.0f, 88.0f, 1e30f});
  return torch::cat({grid, special}).view({-1, 1});
}

// mish and its gradient by mlrec's path and by torch's on the same values.
struct Both {
  torch::Tensor ours, theirs, our_grad, their_grad;
};

Both run(const torch::Tensor& values, const torch::Tensor& upstream) {
  auto norm = pass_through(values.size(1));
  auto x = values.clone().requires_grad_(true);
  auto reference_x = values.clone().requires_grad_(true);
  Both r;
  r.ours = batch_norm_mish(x, norm, true);
  r.theirs = batch_norm_mish(reference_x, norm, false);  // torch::mish(norm(x))
  r.our_grad = torch::autograd::grad({(r.ours.to(torch::kFloat32) * upstream).sum()}, {x})[0];
  r.their_grad = torch::autograd::grad({(r.theirs.to(torch::kFloat32) * upstream).sum()}, {reference_x})[0];
  return r;
}

TEST(MishCpu, MatchesTorchsMishAndItsGradientOverItsRange) {
  const auto values = sweep();
  const auto upstream = torch::ones_like(values);
  const auto r = run(values, upstream);
  // Right of -80, within a few float roundings (torch's composes three transcendental
  // functions, mlrec's one exp); left of it both are below 1e-32.
  EXPECT_TRUE(torch::allclose(r.ours, r.theirs, 1e-6, 1e-7)) << (r.ours - r.theirs).abs().max().item<float>();
  EXPECT_TRUE(torch::allclose(r.our_grad, r.their_grad, 1e-5, 1e-6))
      << (r.our_grad - r.their_grad).abs().max().item<float>();
  const auto tail = values < -80;
  EXPECT_EQ(r.ours.masked_select(tail).abs().max().item<float>(), 0.0f);
  EXPECT_LT(r.theirs.masked_select(tail).abs().max().item<float>(), 1e-32f);
  EXPECT_TRUE(torch::isfinite(r.ours).logical_or(torch::isinf(values)).all().item<bool>());
}

// A NaN stays NaN, forward and backward, as in torch's Mish: a diverging run shows it.
TEST(MishCpu, PropagatesNaN) {
  const auto values = torch::tensor({NAN, 1.0f, -100.0f}).view({-1, 1});
  const auto r = run(values, torch::ones_like(values));
  EXPECT_TRUE(std::isnan(r.ours[0][0].item<float>()));
  EXPECT_TRUE(std::isnan(r.our_grad[0][0].item<float>()));
  EXPECT_TRUE(std::isnan(r.theirs[0][0].item<float>()));
  EXPECT_FALSE(std::isnan(r.ours[1][0].item<float>()));
  EXPECT_EQ(r.ours[2][0].item<float>(), 0.0f);
}

// In bfloat16 the result is the float32 computation of the same (bf16) values, rounded to bf16:
// output and gradient bit for bit.
TEST(MishCpu, Bf16IsTheFloat32ComputationRounded) {
  torch::manual_seed(3);
  const auto values = (torch::randn({512, 7}) * 4).to(torch::kBFloat16);
  const auto upstream = torch::randn({512, 7}).to(torch::kBFloat16).to(torch::kFloat32);
  const auto bf16 = run(values, upstream);
  const auto fp32 = run(values.to(torch::kFloat32), upstream);
  ASSERT_EQ(bf16.ours.scalar_type(), torch::kBFloat16);
  ASSERT_EQ(bf16.our_grad.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(bf16.ours, fp32.ours.to(torch::kBFloat16)));
  // (the upstream gradient arrives in bf16: the same values in both runs)
  EXPECT_TRUE(torch::equal(bf16.our_grad, fp32.our_grad.to(torch::kBFloat16)));
  // and within bf16's rounding of torch's
  EXPECT_TRUE(torch::allclose(bf16.ours.to(torch::kFloat32), bf16.theirs.to(torch::kFloat32), 1e-2, 1e-2));
}

// In training (batch statistics) the gradients reach the BatchNorm's parameters as torch's do.
TEST(MishCpu, TrainsTheBatchNormAsTorchsMishDoes) {
  torch::manual_seed(4);
  auto values = torch::randn({64, 5}) * 3 + 1;
  torch::nn::BatchNorm1d ours(5), theirs(5);
  for (auto* norm : {&ours, &theirs}) {
    torch::NoGradGuard no_grad;
    (*norm)->weight.fill_(2.5);
    (*norm)->bias.fill_(-0.5);
  }
  auto upstream = torch::randn({64, 5});
  (batch_norm_mish(values, ours, true) * upstream).sum().backward();
  (batch_norm_mish(values, theirs, false) * upstream).sum().backward();
  EXPECT_TRUE(torch::allclose(ours->weight.grad(), theirs->weight.grad(), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(ours->bias.grad(), theirs->bias.grad(), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(ours->running_mean, theirs->running_mean));
}

}  // namespace
}  // namespace mlrec::ops
