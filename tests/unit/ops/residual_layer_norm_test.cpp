// ops::dropout_add_layer_norm where mlrec's fused kernels do not run (the CPU): exactly the
// separate ops it stands for, the same dropout draws included (the CUDA kernels' own tests are
// in tests/unit/gpu/).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mlrec/ops/dropout.h"
#include "mlrec/ops/layer_norm.h"
#include "mlrec/ops/residual_layer_norm.h"

namespace mlrec {
namespace {

TEST(DropoutAddLayerNorm, IsTheSeparateOpsWhereTheKernelsDoNotRun) {
  auto x = torch::randn({32, 10, 24}).requires_grad_(true);
  auto a = torch::randn({32, 10, 24}).requires_grad_(true);
  auto weight = torch::randn({24}), bias = torch::randn({24});
  EXPECT_FALSE(ops::dropout_add_layer_norm_kernels_support(x, a));
  for (const bool training : {true, false}) {
    torch::manual_seed(3);
    auto ours = ops::dropout_add_layer_norm(x, a, 0.25, training, weight, bias, 1e-5, /*use_kernels=*/true,
                                            /*layer_norm_kernels=*/true);
    torch::manual_seed(3);
    auto separate = ops::layer_norm(x + ops::dropout(a, 0.25, training), weight, bias, 1e-5, true);
    EXPECT_TRUE(torch::equal(ours, separate)) << "training " << training;
    auto upstream = torch::randn_like(ours);
    auto our_grads = torch::autograd::grad({(ours * upstream).sum()}, {x, a});
    auto separate_grads = torch::autograd::grad({(separate * upstream).sum()}, {x, a});
    for (int i = 0; i < 2; ++i) EXPECT_TRUE(torch::equal(our_grads[i], separate_grads[i])) << i;
  }
  // Training drops about a quarter of a's elements: the two draws differ from no dropout at all.
  torch::manual_seed(3);
  auto dropped = ops::dropout_add_layer_norm(x, a, 0.25, true, weight, bias, 1e-5, true, true);
  auto kept = ops::dropout_add_layer_norm(x, a, 0.25, false, weight, bias, 1e-5, true, true);
  EXPECT_FALSE(torch::allclose(dropped, kept));
}

}  // namespace
}  // namespace mlrec
