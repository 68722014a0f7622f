// mlrec's MF kernels against torch's ops (ops/matrix_factorization.h).
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "mlrec/ops/matrix_factorization.h"
#include "support/cuda_fixture.h"

namespace mlrec {
namespace {

using namespace test_support;  // the CUDA fixtures and helpers (support/cuda_fixture.h)

class MlrecMf : public CudaKernels {};

torch::nn::Embedding padded_table(int64_t rows, int64_t dim, bool sparse = false) {
  torch::nn::Embedding table(torch::nn::EmbeddingOptions(rows, dim).padding_idx(0).sparse(sparse));
  table->to(torch::kCUDA);
  torch::NoGradGuard no_grad;
  table->weight.normal_(0, 0.5);
  return table;
}

torch::nn::Embedding copy_of(const torch::nn::Embedding& table) {
  auto copy = padded_table(table->weight.size(0), table->weight.size(1));
  torch::NoGradGuard no_grad;
  copy->weight.copy_(table->weight);
  return copy;
}

// Prediction and the four tables' gradients, against the composition of torch's ops (the
// scatter-add lookups, product, sums, sigmoid), for index vectors of both types: users with
// repeats and the padding row, items read as MF reads them (the last column of the windows, a
// strided view); factor counts of several warps, fewer than a warp, and one past a warp.
TEST_F(MlrecMf, MatchesTorchsOpsAndTheirGradients) {
  torch::manual_seed(5);
  const auto cuda = torch::TensorOptions().device(torch::kCUDA, 0);
  for (int64_t factors : {120, 7, 33}) {
    for (auto index_type : {torch::kInt32, torch::kInt64}) {
      auto user_factors = padded_table(50, factors), item_factors = padded_table(40, factors);
      auto user_bias = padded_table(50, 1), item_bias = padded_table(40, 1);
      auto user_factors_2 = copy_of(user_factors), item_factors_2 = copy_of(item_factors);
      auto user_bias_2 = copy_of(user_bias), item_bias_2 = copy_of(item_bias);
      const ops::MfTables ours{user_factors, item_factors, user_bias, item_bias};
      const ops::MfTables theirs{user_factors_2, item_factors_2, user_bias_2, item_bias_2};
      auto user = torch::randint(0, 50, {300}, cuda.dtype(index_type));
      auto windows = torch::randint(0, 40, {300, 4}, cuda.dtype(index_type));
      auto item = windows.select(1, 3);
      ASSERT_TRUE(ops::mf_kernels_support(ours, user));
      auto y = ops::mf_predict(ours, user, item, 1.0, 5.0, /*use_kernels=*/true);
      auto z = ops::mf_predict(theirs, user, item, 1.0, 5.0, /*use_kernels=*/false);
      ASSERT_TRUE(made_by(y, "MfPredictCuda")) << node_name(y);
      EXPECT_LT((y - z).abs().max().item<double>(), 1e-5) << factors;
      auto upstream = torch::randn({300}, cuda);
      (y * upstream).sum().backward();
      (z * upstream).sum().backward();
      const std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs = {
          {user_factors->weight, user_factors_2->weight}, {item_factors->weight, item_factors_2->weight},
          {user_bias->weight, user_bias_2->weight}, {item_bias->weight, item_bias_2->weight}};
      for (size_t i = 0; i < pairs.size(); ++i) {
        const auto& mine = pairs[i].first.grad();
        const auto& expected = pairs[i].second.grad();
        ASSERT_TRUE(mine.defined()) << "table " << i;
        const double scale = expected.abs().max().item<double>();
        EXPECT_GT(scale, 0) << "table " << i;
        EXPECT_LT((mine - expected).abs().max().item<double>(), 1e-5 * scale + 1e-6) << factors << " table " << i;
        EXPECT_EQ(mine[0].abs().max().item<double>(), 0.0) << "the padding row of table " << i;
      }
    }
  }
  auto sparse = padded_table(50, 8, /*sparse=*/true);
  auto items = padded_table(40, 8), user_bias = padded_table(50, 1), item_bias = padded_table(40, 1);
  auto user = torch::ones({4}, cuda.dtype(torch::kInt32));
  EXPECT_FALSE(ops::mf_kernels_support({sparse, items, user_bias, item_bias}, user));  // sparse gradients
  EXPECT_FALSE(ops::mf_kernels_support({items, items, user_bias, item_bias}, user.cpu()));  // the CPU
}

// The whole MF run, graphed: the kernels capture into the step's graph and train as torch's ops
// (the atomic adds differ in order only).
TEST_F(MlrecMf, TrainsMfAsTorchsOpsDo) { expect_mf_trains_alike({"model.mf_kernel=mlrec"}, {"model.mf_kernel=torch"}); }

}  // namespace
}  // namespace mlrec
