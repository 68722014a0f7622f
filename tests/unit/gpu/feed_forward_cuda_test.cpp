// mlrec's CUDA GELU + dropout, with and without its own linear layer, against torch's ops
// (ops/feed_forward.h).
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <optional>

#include "mlrec/ops/feed_forward.h"
#include "mlrec/ops/linear.h"
#include "support/cuda_fixture.h"

namespace mlrec {
namespace {

using namespace test_support;  // the CUDA fixtures and helpers (support/cuda_fixture.h)

class FusedFeedForward : public CudaKernels {
 protected:
  // Kept elements are scaled so that the mask's expectation is exactly 1: the kernels drop
  // round(p * 65536) / 65536 of them (16-bit uniforms, src/ops/philox.h).
  static double kept_scale(double p) { return 65536.0 / (65536.0 - std::round(p * 65536.0)); }

  // The fused kernels against torch's ops with the mask they drew: the kept elements (y != 0)
  // must be gelu(x W^T + b) * kept_scale, about 1 - p of them kept, and the gradients those of
  // torch's ops under that mask (backward draws the mask again, so a different one would show
  // here). `linear_kernels`: mlrec's product, whose backward kernel also sums the bias
  // gradient. `bf16`: under bf16 autocast, against torch's ops under it, to bf16's precision.
  static void expect_matches_torch_under_its_mask(int64_t rows, int64_t in, int64_t out, double p,
                                                  bool linear_kernels = true, bool bf16 = false) {
    SCOPED_TRACE(std::to_string(rows) + " x " + std::to_string(in) + " -> " + std::to_string(out) +
                 (linear_kernels ? ", mlrec's product" : ", ATen's product") + (bf16 ? ", bf16" : ""));
    auto options = torch::TensorOptions().device(torch::kCUDA, 0);
    auto x = torch::randn({rows, in}, options).requires_grad_(true);
    auto w = (torch::randn({out, in}, options) * 0.3).requires_grad_(true);
    auto b = torch::randn({out}, options).requires_grad_(true);
    auto upstream = torch::randn({rows, out}, options);
    // Autocast around the forward passes only, as the trainer has it: backward runs without.
    std::optional<Bf16Autocast> autocast;
    if (bf16) autocast.emplace();
    auto y = ops::linear_gelu_dropout(x, w, b, p, /*training=*/true, /*fused=*/true, linear_kernels);
    autocast.reset();
    EXPECT_EQ(y.scalar_type(), bf16 ? torch::kBFloat16 : torch::kFloat32);
    EXPECT_TRUE(made_by(y, linear_kernels ? "LinearGeluDropoutCuda" : "GeluDropoutCuda")) << node_name(y);
    auto grads = torch::autograd::grad({(y.to(torch::kFloat32) * upstream).sum()}, {x, w, b});

    auto x2 = x.detach().clone().requires_grad_(true);
    auto w2 = w.detach().clone().requires_grad_(true);
    auto b2 = b.detach().clone().requires_grad_(true);
    if (bf16) autocast.emplace();
    auto reference = torch::gelu(at::linear(x2, w2, b2));  // bf16 under autocast, as y
    autocast.reset();
    auto kept = (y != 0).detach();
    // Below about -5.5 the float GELU is exactly 0 (erf rounds to -1), dropped or not: the share
    // kept counts only the elements where it is not.
    auto nonzero = reference.detach() != 0;
    const double kept_share = (kept & nonzero).sum().item<double>() / nonzero.sum().item<double>();
    EXPECT_NEAR(kept_share, 1 - p, 5 * std::sqrt(p * (1 - p) / double(rows * out)) + 1e-3);
    auto expected = reference.to(torch::kFloat32) * kept.to(torch::kFloat32) * kept_scale(p);
    auto expected_grads = torch::autograd::grad({(expected * upstream).sum()}, {x2, w2, b2});
    const double tolerance = bf16 ? 2e-2 : 1e-4;  // relative; bf16 keeps 8 bits of mantissa
    const double y_scale = expected.abs().max().item<double>();
    EXPECT_LT((y.to(torch::kFloat32) - expected).abs().max().item<double>(), tolerance * y_scale);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(grads[i].scalar_type(), torch::kFloat32) << "gradient " << i;
      const double scale = expected_grads[i].abs().max().item<double>();
      EXPECT_LT((grads[i] - expected_grads[i]).abs().max().item<double>(), tolerance * scale + 1e-5) << "gradient " << i;
    }
  }
};

TEST_F(FusedFeedForward, MatchesTorchsOpsUnderTheMaskItDrew) {
  torch::manual_seed(9);
  for (bool linear_kernels : {true, false}) {
    expect_matches_torch_under_its_mask(640, 120, 512, 0.1, linear_kernels);  // vectorised paths
    expect_matches_torch_under_its_mask(7, 5, 13, 0.4, linear_kernels);       // 91 elements: the scalar paths
  }
  // The bias sums in backward's kernel: one row block; two column blocks, the second partly
  // used; rows not a multiple of the row phases; many row blocks; more rows than the row blocks
  // take in one pass each.
  expect_matches_torch_under_its_mask(16, 8, 264, 0.2);
  expect_matches_torch_under_its_mask(4000, 24, 264, 0.2);
  expect_matches_torch_under_its_mask(1001, 24, 64, 0.2);
  expect_matches_torch_under_its_mask(10240, 120, 256, 0.1);
  expect_matches_torch_under_its_mask(70001, 8, 64, 0.1);
}

TEST_F(FusedFeedForward, MatchesTorchsOpsUnderBf16Autocast) {
  torch::manual_seed(11);
  for (bool linear_kernels : {true, false}) {
    expect_matches_torch_under_its_mask(640, 120, 512, 0.1, linear_kernels, /*bf16=*/true);
    expect_matches_torch_under_its_mask(7, 5, 13, 0.4, linear_kernels, /*bf16=*/true);
  }
  expect_matches_torch_under_its_mask(4000, 24, 264, 0.2, /*linear_kernels=*/true, /*bf16=*/true);
}

TEST_F(FusedFeedForward, MasksFollowTheSeedAndChangeBetweenCalls) {
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  torch::manual_seed(10);
  auto x = torch::randn({256, 120}, options);
  auto w = torch::randn({256, 120}, options) * 0.1;
  auto b = torch::randn({256}, options);
  torch::manual_seed(1);
  auto first = ops::linear_gelu_dropout(x, w, b, 0.3, true);
  auto second = ops::linear_gelu_dropout(x, w, b, 0.3, true);
  torch::manual_seed(1);
  auto again = ops::linear_gelu_dropout(x, w, b, 0.3, true);
  EXPECT_TRUE(torch::equal(first, again));
  EXPECT_FALSE(torch::equal(first, second));
  // Not training: no dropout at all.
  auto exact = ops::linear_gelu_dropout(x, w, b, 0.3, false);
  EXPECT_LT((exact - torch::gelu(at::linear(x, w, b))).abs().max().item<double>(), 1e-5);
}

TEST_F(FusedFeedForward, TrainsTheSequenceModelAsTorchsOpsDo) {
  expect_trains_as_torchs_ops("model.feed_forward", "fused");
  expect_trains_as_torchs_ops("model.feed_forward", "fused", {"train.precision=bf16"});
}

}  // namespace
}  // namespace mlrec
