// mlrec's CUDA LayerNorm against torch's (ops/layer_norm.h).
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "mlrec/ops/layer_norm.h"
#include "support/cuda_fixture.h"

namespace mlrec {
namespace {

using namespace test_support;  // the CUDA fixtures and helpers (support/cuda_fixture.h)

class MlrecLayerNorm : public CudaKernels {};

TEST_F(MlrecLayerNorm, MatchesTorchsLayerNormAndItsGradients) {
  torch::manual_seed(11);
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  // The BST's rows; the widest rows taken; rows narrower than a warp; more rows than backward's
  // blocks handle in one pass.
  for (const auto& shape : std::vector<std::vector<int64_t>>{{64, 10, 120}, {33, 256}, {5, 7}, {5000, 40}}) {
    const int64_t dim = shape.back();
    auto x = (3 * torch::randn(shape, options) + 1).requires_grad_(true);
    auto weight = torch::randn({dim}, options).requires_grad_(true);
    auto bias = torch::randn({dim}, options).requires_grad_(true);
    auto upstream = torch::randn(shape, options);
    ASSERT_TRUE(ops::layer_norm_kernels_support(x));
    auto ours = ops::layer_norm(x, weight, bias, 1e-5, /*use_kernels=*/true);
    auto our_grads = torch::autograd::grad({(ours * upstream).sum()}, {x, weight, bias});
    auto theirs = torch::layer_norm(x, {dim}, weight, bias, 1e-5);
    auto their_grads = torch::autograd::grad({(theirs * upstream).sum()}, {x, weight, bias});
    EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-5) << dim;
    for (int i = 0; i < 3; ++i) {
      const double scale = their_grads[i].abs().max().item<double>();
      EXPECT_LT((our_grads[i] - their_grads[i]).abs().max().item<double>(), 1e-5 * scale + 1e-5)
          << dim << " gradient " << i;
    }
  }
  EXPECT_FALSE(ops::layer_norm_kernels_support(torch::zeros({4, 257}, options)));  // too wide
  EXPECT_FALSE(ops::layer_norm_kernels_support(torch::zeros({4, 120})));           // the CPU
}

TEST_F(MlrecLayerNorm, TrainsTheSequenceModelAsTorchsLayerNormDoes) {
  expect_trains_as_torchs_ops("model.layer_norm", "mlrec");
}

}  // namespace
}  // namespace mlrec
