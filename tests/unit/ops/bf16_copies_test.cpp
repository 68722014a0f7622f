// ops::Bf16Copies (ops/linear.h): what the copies hold, when they are served, and that they
// stay out of autograd. The products that read them run on CUDA only (MlrecLinear's GPU test).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mlrec/ops/linear.h"

namespace mlrec::ops {
namespace {

TEST(Bf16Copies, HoldTheParametersCastOnEachRefreshAndNothingWhenInactive) {
  torch::manual_seed(3);
  auto weight = torch::randn({5, 13}, torch::requires_grad());
  auto bias = torch::randn({5}, torch::requires_grad());
  auto other = torch::randn({4, 5}, torch::requires_grad());
  auto other_bias = torch::randn({4}, torch::requires_grad());
  Bf16Copies copies;
  const size_t wide = copies.add(weight, bias, /*columns=*/16);
  const size_t plain = copies.add(other, other_bias);
  EXPECT_FALSE(copies[wide].weight.defined());  // not refreshed yet

  copies.refresh(true);
  auto w = copies[wide].weight;
  ASSERT_EQ(w.sizes(), torch::IntArrayRef({5, 16}));
  EXPECT_EQ(w.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(w.narrow(1, 0, 13), weight.detach().to(torch::kBFloat16)));
  EXPECT_EQ(w.narrow(1, 13, 3).abs().max().item<float>(), 0.f);  // the widened columns
  EXPECT_TRUE(torch::equal(copies[wide].bias, bias.detach().to(torch::kBFloat16)));
  EXPECT_TRUE(torch::equal(copies[plain].weight, other.detach().to(torch::kBFloat16)));
  EXPECT_TRUE(torch::equal(copies[plain].bias, other_bias.detach().to(torch::kBFloat16)));
  // Constants to autograd, though refreshed from parameters with grad mode on.
  EXPECT_FALSE(w.requires_grad());
  EXPECT_FALSE(copies[plain].bias.requires_grad());

  // An optimizer step changes the parameters in place; the next refresh follows them, into the
  // same buffers (a captured CUDA graph reads those addresses).
  const auto* storage = w.data_ptr();
  {
    torch::NoGradGuard no_grad;
    weight.add_(1.0);
    other_bias.mul_(-2.0);
  }
  copies.refresh(true);
  EXPECT_EQ(copies[wide].weight.data_ptr(), storage);
  EXPECT_TRUE(torch::equal(copies[wide].weight.narrow(1, 0, 13), weight.detach().to(torch::kBFloat16)));
  EXPECT_TRUE(torch::equal(copies[plain].bias, other_bias.detach().to(torch::kBFloat16)));

  // A forward that runs no bf16 products (float32, the CPU) gets none.
  copies.refresh(false);
  EXPECT_FALSE(copies[wide].weight.defined());
  EXPECT_FALSE(copies[plain].bias.defined());
  EXPECT_FALSE(bf16_copies_apply(torch::zeros({2, 13}), /*use_kernels=*/true));
  EXPECT_THROW(copies.add(torch::zeros({3, 4}), torch::zeros({4})), c10::Error);  // bias of the wrong size
}

TEST(Bf16Copies, AWidenedCopyIsRefusedWhereTheProductWouldNotReadIt) {
  // On the CPU ops::linear runs ATen's linear, which takes the parameter as it is: an input as
  // wide as a widened copy is one error naming the mismatch, not a silent wrong product.
  auto weight = torch::randn({5, 13});
  auto bias = torch::randn({5});
  Bf16Copies copies;
  const size_t wide = copies.add(weight, bias, 16);
  copies.refresh(true);
  EXPECT_THROW(linear(torch::randn({2, 16}), weight, bias, /*use_kernels=*/true, copies[wide]), c10::Error);
  EXPECT_TRUE(torch::equal(linear(torch::randn({2, 13}).fill_(1), weight, bias, true, {}),
                           at::linear(torch::ones({2, 13}), weight, bias)));
}

}  // namespace
}  // namespace mlrec::ops
