// The scatter-add embedding lookup (ops/embedding.h) against torch's embedding.
#include "mlrec/ops/embedding.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace mlrec::ops {
namespace {

TEST(ScatterAddEmbedding, GradientsMatchTorchsEmbeddingIncludingThePaddingRow) {
  torch::manual_seed(3);
  // Repeated indices (rows 1 and 0 several times) and a 2-D index tensor, as the models use.
  auto indices = torch::tensor({0, 2, 1, 1, 4, 0, 1, 3}, torch::kLong).view({2, 4});
  auto upstream = torch::randn({2, 4, 3});
  // (mlrec's kernel is CUDA's: on the CPU both choices are index_add_)
  for (const auto backward : {EmbeddingBackward::kIndexAdd, EmbeddingBackward::kMlrec})
  for (int64_t padding_idx : {-1, 0}) {
    auto ours = torch::randn({5, 3}).requires_grad_(true);
    auto theirs = ours.detach().clone().requires_grad_(true);
    auto y = scatter_add_embedding(ours, indices, padding_idx, backward);
    auto expected = torch::embedding(theirs, indices, padding_idx);
    EXPECT_TRUE(torch::equal(y, expected));
    (y * upstream).sum().backward();
    (expected * upstream).sum().backward();
    EXPECT_TRUE(torch::allclose(ours.grad(), theirs.grad(), 1e-6, 1e-6)) << "padding_idx " << padding_idx;
    EXPECT_EQ(ours.grad()[0].abs().sum().item<float>() == 0.f, padding_idx == 0);
  }
}

}  // namespace
}  // namespace mlrec::ops
