// The CUDA kernels' wrappers refuse inputs their kernels would read or write out of bounds, or
// through a pointer of another device, as torch's own ops refuse them: an error, never a fault
// (which would end the process's CUDA context). The model code passes consistent inputs; these
// are the contracts for the next caller.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ops/cuda/batch_norm_mish_kernels.h"
#include "ops/cuda/embedding_kernels.h"
#include "ops/cuda/gelu_dropout_kernels.h"
#include "ops/cuda/layer_norm_kernels.h"
#include "ops/cuda/mf_kernels.h"
#include "ops/cuda/residual_layer_norm_kernels.h"
#include "ops/cuda/scheduled_adamw_kernels.h"
#include "ops/cuda/short_attention_kernels.h"
#include "support/cuda_fixture.h"

namespace mlrec {
namespace {

using namespace ops::detail;

class KernelInputChecks : public test_support::CudaKernels {};

const auto kCuda = torch::TensorOptions().device(torch::kCUDA, 0);

TEST_F(KernelInputChecks, BatchNormMishParametersAndStatisticsOfAnotherWidth) {
  const auto x = torch::randn({64, 512}, kCuda);
  const auto w = torch::ones({256}, kCuda), b = torch::zeros({256}, kCuda);
  EXPECT_THROW(batch_norm_mish_forward_cuda(x, w, b, {}, {}, 0.1, 1e-5), c10::Error);
  const auto w512 = torch::ones({512}, kCuda), b512 = torch::zeros({512}, kCuda);
  EXPECT_THROW(batch_norm_mish_forward_cuda(x, w512, b512, torch::zeros({256}, kCuda), torch::ones({256}, kCuda), 0.1,
                                            1e-5),
               c10::Error);
  EXPECT_THROW(batch_norm_mish_forward_cuda(x, w512, b512, torch::zeros({512}, kCuda), {}, 0.1, 1e-5), c10::Error);
  auto [y, mean, rstd] = batch_norm_mish_forward_cuda(x, w512, b512, {}, {}, 0.1, 1e-5);
  EXPECT_THROW(batch_norm_mish_backward_cuda(torch::ones_like(y), x, w512, b512, mean.narrow(0, 0, 256), rstd),
               c10::Error);
}

TEST_F(KernelInputChecks, ScheduledAdamWStateOfAnotherSize) {
  std::vector<at::Tensor> params{torch::zeros({1000}, kCuda)}, grads{torch::zeros({1000}, kCuda)};
  std::vector<at::Tensor> first{torch::zeros({10}, kCuda)}, second{torch::zeros({1000}, kCuda)};
  std::vector<at::Tensor> steps{torch::zeros({1}, kCuda)};
  const auto settings = torch::full({4, 2}, 0.9, kCuda), taken = torch::zeros({1}, kCuda);
  EXPECT_THROW(scheduled_adamw_cuda_(params, grads, first, second, steps, settings, taken, 0.999, 1e-8, 0.01),
               c10::Error);
  first[0] = torch::zeros({1000}, kCuda);
  std::vector<at::Tensor> no_steps{torch::zeros({0}, kCuda)};
  EXPECT_THROW(scheduled_adamw_cuda_(params, grads, first, second, no_steps, settings, taken, 0.999, 1e-8, 0.01),
               c10::Error);
  EXPECT_THROW(scheduled_adamw_cuda_(params, grads, first, second, steps, settings, torch::zeros({1}), 0.999, 1e-8,
                                     0.01),
               c10::Error);
  scheduled_adamw_cuda_(params, grads, first, second, steps, settings, taken, 0.999, 1e-8, 0.01);  // consistent: runs
}

TEST_F(KernelInputChecks, MfIndicesOnTheHost) {
  const auto uf = torch::randn({50, 8}, kCuda), itf = torch::randn({40, 8}, kCuda);
  const auto ub = torch::zeros({50, 1}, kCuda), ib = torch::zeros({40, 1}, kCuda);
  const auto users = torch::randint(0, 50, {16}, torch::kLong), items = torch::randint(0, 40, {16}, torch::kLong);
  EXPECT_THROW(mf_forward_cuda(uf, itf, ub, ib, users, items.to(torch::kCUDA), 1, 4), c10::Error);
  auto [prediction, sigmoid] = mf_forward_cuda(uf, itf, ub, ib, users.to(torch::kCUDA), items.to(torch::kCUDA), 1, 4);
  EXPECT_THROW(mf_backward_cuda(torch::ones_like(prediction), sigmoid, uf, itf, 50, 40, users, items.to(torch::kCUDA),
                                4, -1),
               c10::Error);
}

TEST_F(KernelInputChecks, ShortAttentionPadOnTheHostNoHeadsAndAGradientOfAnotherShape) {
  const auto qkv = torch::randn({4, 10, 3 * 64}, kCuda);
  const auto pad = torch::zeros({4, 10}, torch::kBool);
  EXPECT_THROW(short_attention_forward_cuda(qkv, pad, 2, 0.0, 0.125), c10::Error);
  EXPECT_THROW(short_attention_forward_cuda(qkv, pad.to(torch::kCUDA), 0, 0.0, 0.125), c10::Error);  // was SIGFPE
  auto [out, probs, rng] = short_attention_forward_cuda(qkv, pad.to(torch::kCUDA), 2, 0.1, 0.125);
  EXPECT_THROW(short_attention_backward_cuda(torch::ones({4, 10, 32}, kCuda), qkv, probs, rng, 2, 0.1, 0.125),
               c10::Error);
  EXPECT_THROW(short_attention_backward_cuda(torch::ones_like(out), qkv, probs, rng.cpu(), 2, 0.1, 0.125), c10::Error);
}

TEST_F(KernelInputChecks, DropoutBackwardsNeedTheForwardsSeedOnTheDevice) {
  const auto t = torch::randn({32, 64}, kCuda);
  auto [y, rng] = gelu_dropout_forward_cuda(t, 0.1);
  EXPECT_THROW(gelu_dropout_backward_cuda(torch::ones_like(y), t, rng.cpu(), 0.1), c10::Error);
  EXPECT_THROW(gelu_dropout_backward_cuda(torch::ones_like(y), t, rng.narrow(0, 0, 1), 0.1), c10::Error);
  EXPECT_THROW(gelu_dropout_backward_with_column_sums_cuda(torch::ones_like(y), t, rng.cpu(), 0.1), c10::Error);

  const auto w = torch::ones({64}, kCuda), b = torch::zeros({64}, kCuda);
  auto [out, s, mean, rstd, used] = dropout_add_layer_norm_forward_cuda(t, torch::randn_like(t), w, b, 0.1, 1e-5);
  EXPECT_THROW(dropout_add_layer_norm_backward_cuda(torch::ones_like(out), s, w, mean, rstd, used.cpu(), 0.1, at::kFloat),
               c10::Error);
  EXPECT_THROW(dropout_add_layer_norm_backward_cuda(torch::ones_like(out), s, w, mean.narrow(0, 0, 8), rstd, used, 0.1,
                                                    at::kFloat),
               c10::Error);
}

TEST_F(KernelInputChecks, LayerNormStatisticsOfAnotherSizeAndEmbeddingIndicesOnTheHost) {
  const auto x = torch::randn({32, 64}, kCuda);
  const auto w = torch::ones({64}, kCuda), b = torch::zeros({64}, kCuda);
  EXPECT_THROW(layer_norm_forward_cuda(x, w.cpu(), b, 1e-5), c10::Error);
  auto [y, mean, rstd] = layer_norm_forward_cuda(x, w, b, 1e-5);
  EXPECT_THROW(layer_norm_backward_cuda(torch::ones_like(y), x, w, mean.narrow(0, 0, 8), rstd), c10::Error);
  EXPECT_THROW(embedding_backward_cuda(torch::ones({16, 8}, kCuda), torch::zeros({16}, torch::kLong), 10, -1),
               c10::Error);
}

}  // namespace
}  // namespace mlrec
