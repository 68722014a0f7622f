// mlrec's embedding backward (model.embedding_backward = mlrec; src/ops/cuda/embedding_kernels.cu)
// against ATen's index_add_ into a zeroed table, the path it replaces.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "mlrec/ops/embedding.h"
#include "ops/cuda/embedding_kernels.h"
#include "support/cuda_fixture.h"

namespace mlrec {
namespace {

using namespace test_support;  // the CUDA fixtures and helpers (support/cuda_fixture.h)

class MlrecEmbedding : public CudaKernels {};

TEST_F(MlrecEmbedding, MatchesIndexAddIncludingThePaddingRow) {
  torch::manual_seed(21);
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  struct Case {
    int64_t rows, dim;
    std::vector<int64_t> lookups;
  };
  // The BST's tables: the movies' (vector atomics), the ratings' and the demographics' (summed in
  // shared memory first); rows not a multiple of four floats; MF's bias tables (one column); a
  // table just over the shared path's size; many lookups of a few rows.
  const std::vector<Case> cases = {{3707, 120, {1024, 10}}, {6, 120, {1024, 9}}, {22, 11, {1024}},
                                   {3000, 3, {1024}},        {6041, 1, {1024}},  {33, 125, {500}},
                                   {7, 16, {4096, 10}}};
  for (const auto& c : cases) {
    for (const auto type : {torch::kInt64, torch::kInt32}) {
      for (const int64_t padding : {int64_t{-1}, int64_t{0}}) {
        SCOPED_TRACE(std::to_string(c.rows) + " x " + std::to_string(c.dim) +
                     (type == torch::kInt32 ? ", int32" : ", int64") + ", padding " + std::to_string(padding));
        auto indices = torch::randint(0, c.rows, c.lookups, options.dtype(type));
        auto weight = torch::randn({c.rows, c.dim}, options);
        std::vector<int64_t> shape = c.lookups;
        shape.push_back(c.dim);
        auto upstream = torch::randn(shape, options);
        auto ours = weight.clone().requires_grad_(true);
        auto theirs = weight.clone().requires_grad_(true);
        auto y = ops::scatter_add_embedding(ours, indices, padding, ops::EmbeddingBackward::kMlrec);
        auto expected = ops::scatter_add_embedding(theirs, indices, padding, ops::EmbeddingBackward::kIndexAdd);
        EXPECT_TRUE(torch::equal(y, expected));
        (y * upstream).sum().backward();
        (expected * upstream).sum().backward();
        // The atomic additions run in another order: equal to float rounding.
        const double scale = theirs.grad().abs().max().item<double>();
        EXPECT_LT((ours.grad() - theirs.grad()).abs().max().item<double>(), 1e-5 * scale + 1e-6);
        if (padding == 0) EXPECT_EQ(ours.grad()[0].abs().max().item<float>(), 0.f);
        // The kernel itself, not a fallback: its table against the op's.
        auto direct = ops::detail::embedding_backward_cuda(upstream, indices, c.rows, padding);
        EXPECT_LT((direct - theirs.grad()).abs().max().item<double>(), 1e-5 * scale + 1e-6);
      }
    }
  }
  // A gradient whose rows do not start on 16 bytes (a view at an odd offset) takes scalar atomics.
  auto indices = torch::randint(0, 5000, {2048}, options.dtype(torch::kInt64));
  auto wide = torch::randn({2048 * 8 + 1}, options);
  auto grad = wide.narrow(0, 1, 2048 * 8).view({2048, 8});
  auto reference = torch::zeros({5000, 8}, options).index_add_(0, indices, grad);
  EXPECT_LT((ops::detail::embedding_backward_cuda(grad, indices, 5000, -1) - reference).abs().max().item<double>(),
            1e-5);
}

TEST_F(MlrecEmbedding, TrainsTheModelsAsIndexAddDoes) {
  expect_trains_as_torchs_ops("model.embedding_backward", "mlrec");
  // MF through torch's ops (its own kernel off), whose four lookups take the embedding kernel.
  expect_mf_trains_alike({"model.mf_kernel=torch", "model.embedding_backward=mlrec"},
                         {"model.mf_kernel=torch", "model.embedding_backward=torch"});
}

}  // namespace
}  // namespace mlrec
