// mlrec's CUDA BatchNorm + Mish against torch's BatchNorm1d and Mish (ops/batch_norm_mish.h).
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "mlrec/ops/batch_norm_mish.h"
#include "support/cuda_fixture.h"

namespace mlrec {
namespace {

using namespace test_support;  // the CUDA fixtures and helpers (support/cuda_fixture.h)

class MlrecBatchNormMish : public CudaKernels {};

TEST_F(MlrecBatchNormMish, MatchesTorchsBatchNormAndMishWithRunningStatistics) {
  torch::manual_seed(12);
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  // float32, and bfloat16 activations (a bf16 linear layer's output under autocast) with float32
  // parameters, against torch's BatchNorm in the same types. The MLP's first block; columns
  // that do not fill the last block; a handful of rows.
  for (auto type : {torch::kFloat32, torch::kBFloat16}) {
    const bool bf16 = type == torch::kBFloat16;
    for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{1024, 1024}, {1024, 260}, {3, 5}}) {
      SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols) + (bf16 ? ", bf16" : ""));
      // Relative; bf16 keeps 8 bits of mantissa, and with 3 rows the input gradient is what is
      // left of dy after removing two directions, so its rounding weighs more.
      const double tolerance = !bf16 ? 1e-4 : rows < 8 ? 5e-2 : 2e-2;
      torch::nn::BatchNorm1d ours(cols), theirs(cols);
      ours->to(torch::kCUDA);
      theirs->to(torch::kCUDA);
      {
        torch::NoGradGuard no_grad;
        ours->weight.normal_();
        ours->bias.normal_();
        theirs->weight.copy_(ours->weight);
        theirs->bias.copy_(ours->bias);
      }
      auto x = (2 * torch::randn({rows, cols}, options) + 3).to(type).requires_grad_(true);
      auto upstream = torch::randn({rows, cols}, options);
      for (int step = 0; step < 2; ++step) {  // the running statistics move twice
        auto y = ops::batch_norm_mish(x, ours, /*use_kernels=*/true);
        ASSERT_EQ(y.scalar_type(), type);
        EXPECT_TRUE(made_by(y, "BatchNormMishCuda")) << node_name(y);
        auto grads = torch::autograd::grad({(y.to(torch::kFloat32) * upstream).sum()}, {x, ours->weight, ours->bias});
        auto expected = torch::mish(theirs(x));
        auto expected_grads = torch::autograd::grad({(expected.to(torch::kFloat32) * upstream).sum()},
                                                    {x, theirs->weight, theirs->bias});
        const double y_scale = bf16 ? expected.to(torch::kFloat32).abs().max().item<double>() : 1.0;
        EXPECT_LT((y - expected).to(torch::kFloat32).abs().max().item<double>(), tolerance * y_scale);
        for (int i = 0; i < 3; ++i) {
          ASSERT_EQ(grads[i].scalar_type(), expected_grads[i].scalar_type()) << "gradient " << i;
          const double scale = expected_grads[i].to(torch::kFloat32).abs().max().item<double>();
          EXPECT_LT((grads[i] - expected_grads[i]).to(torch::kFloat32).abs().max().item<double>(),
                    tolerance * scale + 1e-5)
              << "gradient " << i;
        }
      }
      // (both compute the statistics in float32, from the same values)
      EXPECT_LT((ours->running_mean - theirs->running_mean).abs().max().item<double>(), 1e-5);
      EXPECT_LT((ours->running_var - theirs->running_var).abs().max().item<double>(), 1e-4);
      EXPECT_EQ(ours->num_batches_tracked.item<int64_t>(), 2);
      // Evaluation uses the running statistics: torch's path, the same result. (The statistics
      // are made bit-identical first: a last-bit difference can move a bf16 output by a step.)
      {
        torch::NoGradGuard no_grad;
        theirs->running_mean.copy_(ours->running_mean);
        theirs->running_var.copy_(ours->running_var);
      }
      ours->eval();
      theirs->eval();
      EXPECT_LT((ops::batch_norm_mish(x, ours, true) - torch::mish(theirs(x))).to(torch::kFloat32).abs().max().item<double>(),
                1e-5);
    }
  }
}

TEST_F(MlrecBatchNormMish, TrainsTheSequenceModelAsTorchsOpsDo) {
  expect_trains_as_torchs_ops("model.batch_norm", "mlrec");
  expect_trains_as_torchs_ops("model.batch_norm", "mlrec", {"train.precision=bf16"});
}

}  // namespace
}  // namespace mlrec
