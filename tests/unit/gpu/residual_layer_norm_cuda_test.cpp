// mlrec's fused dropout + residual add + LayerNorm (ops/residual_layer_norm.h) against the
// separate ops in float64, under the mask the kernels must have drawn.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mlrec/ops/residual_layer_norm.h"
#include "support/cuda_fixture.h"
#include "support/philox_mask.h"

namespace mlrec {
namespace {

using namespace test_support;  // the CUDA fixtures and helpers (support/cuda_fixture.h)

class MlrecResidualNorm : public CudaKernels {};

TEST_F(MlrecResidualNorm, MatchesTheSeparateOpsUnderTheMaskItDrew) {
  torch::manual_seed(5);
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  // The BST's rows; the widest taken; rows whose starts are not multiples of 8 (a lane's
  // features straddle two Philox groups) and narrower than a warp; more rows than backward's
  // blocks handle in one pass.
  for (const auto& shape : std::vector<std::vector<int64_t>>{{64, 10, 120}, {33, 256}, {5, 7}, {3000, 44}}) {
    for (const auto type : {torch::kFloat32, torch::kBFloat16}) {
      for (const double p : {0.0, 0.1, 0.5}) {
        const int64_t dim = shape.back();
        SCOPED_TRACE("dim " + std::to_string(dim) + (type == torch::kBFloat16 ? ", bf16" : ", float32") + ", p " +
                     std::to_string(p));
        auto x = (2 * torch::randn(shape, options) + 1).requires_grad_(true);
        auto a = torch::randn(shape, options).to(type).requires_grad_(true);
        auto weight = torch::randn({dim}, options).requires_grad_(true);
        auto bias = torch::randn({dim}, options).requires_grad_(true);
        auto upstream = torch::randn(shape, options);
        ASSERT_TRUE(ops::dropout_add_layer_norm_kernels_support(x, a));
        const auto [seed, offset] = next_philox();
        auto y = ops::dropout_add_layer_norm(x, a, p, /*training=*/true, weight, bias, 1e-5, /*use_kernels=*/true,
                                             /*layer_norm_kernels=*/true);
        ASSERT_TRUE(made_by(y, "DropoutAddLayerNormCuda")) << node_name(y);
        EXPECT_EQ(y.scalar_type(), torch::kFloat32);
        auto grads = torch::autograd::grad({(y * upstream).sum()}, {x, a, weight, bias});
        EXPECT_EQ(grads[1].scalar_type(), type);

        auto mask = p > 0 ? expected_mask(seed, offset, x.numel(), p).view(shape).to(options.dtype(torch::kFloat64))
                          : torch::ones(shape, options.dtype(torch::kFloat64));
        if (p > 0) {
          const double kept = (mask != 0).sum().item<double>() / double(x.numel());
          EXPECT_NEAR(kept, 1 - p, 5 * std::sqrt(p * (1 - p) / double(x.numel())) + 1e-3);
        }
        auto x64 = x.detach().to(torch::kFloat64).requires_grad_(true);
        auto a64 = a.detach().to(torch::kFloat64).requires_grad_(true);
        auto w64 = weight.detach().to(torch::kFloat64).requires_grad_(true);
        auto b64 = bias.detach().to(torch::kFloat64).requires_grad_(true);
        auto reference = torch::layer_norm(x64 + a64 * mask, {dim}, w64, b64, 1e-5);
        auto reference_grads =
            torch::autograd::grad({(reference * upstream.to(torch::kFloat64)).sum()}, {x64, a64, w64, b64});
        EXPECT_LT((y.to(torch::kFloat64) - reference).abs().max().item<double>(), 1e-4);
        for (int i = 0; i < 4; ++i) {
          // the sublayer's gradient is rounded to its type
          const double tolerance = i == 1 && type == torch::kBFloat16 ? 1e-2 : 1e-4;
          const double scale = reference_grads[i].abs().max().item<double>();
          EXPECT_LT((grads[i].to(torch::kFloat64) - reference_grads[i]).abs().max().item<double>(),
                    tolerance * scale + 1e-5)
              << "gradient " << i;
        }
        // A dropped element passes no gradient at all.
        EXPECT_EQ((grads[1].to(torch::kFloat64) * (mask == 0)).abs().max().item<double>(), 0.0);
      }
    }
  }
  // Evaluation: no dropout, LayerNorm(x + a).
  auto x = torch::randn({16, 120}, options), a = torch::randn({16, 120}, options);
  auto weight = torch::randn({120}, options), bias = torch::randn({120}, options);
  auto y = ops::dropout_add_layer_norm(x, a, 0.3, /*training=*/false, weight, bias, 1e-5, true, true);
  EXPECT_LT((y - torch::layer_norm(x + a, {120}, weight, bias, 1e-5)).abs().max().item<double>(), 1e-5);

  EXPECT_FALSE(ops::dropout_add_layer_norm_kernels_support(torch::zeros({4, 257}, options),
                                                           torch::zeros({4, 257}, options)));  // too wide
  EXPECT_FALSE(ops::dropout_add_layer_norm_kernels_support(torch::zeros({4, 120}), torch::zeros({4, 120})));  // CPU
}

TEST_F(MlrecResidualNorm, TrainsTheSequenceModelAsTheSeparateOpsDo) {
  expect_trains_as_torchs_ops("model.residual_norm", "mlrec");
  expect_trains_as_torchs_ops("model.residual_norm", "mlrec", {"train.precision=bf16"});
}

}  // namespace
}  // namespace mlrec
