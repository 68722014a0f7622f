// mlrec's CUDA linear layers against ATen's linear, in float32 and under bf16 autocast
// (ops/linear.h).
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "mlrec/ops/feed_forward.h"
#include "mlrec/ops/linear.h"
#include "support/cuda_fixture.h"

namespace mlrec {
namespace {

using namespace test_support;  // the CUDA fixtures and helpers (support/cuda_fixture.h)

class MlrecLinear : public CudaKernels {};

TEST_F(MlrecLinear, MatchesAtensLinearAndItsGradients) {
  at::globalContext().setAllowTF32CuBLAS(false);
  torch::manual_seed(14);
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  struct Case {
    std::vector<int64_t> x;
    int64_t out;
  };
  // The encoder's [B, L, dim] inputs; the MLP's odd 1,337 features; fewer rows than one block
  // of the bias-gradient kernel sums; many rows, few columns.
  for (const auto& c : std::vector<Case>{{{64, 10, 120}, 2048}, {{1024, 1337}, 1024}, {{3, 5}, 7}, {{20000, 33}, 70}}) {
    auto x = torch::randn(c.x, options).requires_grad_(true);
    auto w = torch::randn({c.out, c.x.back()}, options).requires_grad_(true);
    auto b = torch::randn({c.out}, options).requires_grad_(true);
    auto shape = c.x;
    shape.back() = c.out;
    auto upstream = torch::randn(shape, options);
    auto ours = ops::linear(x, w, b, /*use_kernels=*/true);
    auto theirs = at::linear(x, w, b);
    ASSERT_EQ(ours.sizes(), theirs.sizes());
    EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-4 * theirs.abs().max().item<double>());
    auto our_grads = torch::autograd::grad({(ours * upstream).sum()}, {x, w, b});
    auto their_grads = torch::autograd::grad({(theirs * upstream).sum()}, {x, w, b});
    for (int i = 0; i < 3; ++i) {
      const double scale = their_grads[i].abs().max().item<double>();
      EXPECT_LT((our_grads[i] - their_grads[i]).abs().max().item<double>(), 1e-5 * scale + 1e-5)
          << c.x.back() << " -> " << c.out << ", gradient " << i;
    }
  }
  // Only the gradients asked for: an input that needs none.
  auto x = torch::randn({8, 4}, options);
  auto w = torch::randn({3, 4}, options).requires_grad_(true);
  auto b = torch::randn({3}, options).requires_grad_(true);
  auto grads = torch::autograd::grad({ops::linear(x, w, b, true).sum()}, {w, b});
  EXPECT_TRUE(torch::allclose(grads[0], torch::ones({8, 3}, options).t().mm(x)));
  EXPECT_TRUE(torch::allclose(grads[1], torch::full({3}, 8.0, options)));
}

TEST_F(MlrecLinear, MatchesAtensLinearUnderBf16Autocast) {
  torch::manual_seed(15);
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  // float32 inputs, and a bf16 one (a bf16 layer's output feeding the next); the bias sums of
  // a bf16 gradient over one and over many row blocks.
  for (auto input_type : {torch::kFloat32, torch::kBFloat16}) {
    for (const auto& [rows, in, out] : std::vector<std::array<int64_t, 3>>{{640, 120, 2048}, {1024, 1344, 1024}, {3, 5, 7}}) {
      SCOPED_TRACE(std::to_string(rows) + " x " + std::to_string(in) + " -> " + std::to_string(out) +
                   (input_type == torch::kBFloat16 ? ", bf16 input" : ""));
      auto x = torch::randn({rows, in}, options).to(input_type).requires_grad_(true);
      auto w = torch::randn({out, in}, options).requires_grad_(true);
      auto b = torch::randn({out}, options).requires_grad_(true);
      auto upstream = torch::randn({rows, out}, options);
      torch::Tensor ours, theirs;
      {
        Bf16Autocast autocast;
        ours = ops::linear(x, w, b, /*use_kernels=*/true);
        theirs = at::linear(x, w, b);
      }
      ASSERT_EQ(ours.scalar_type(), torch::kBFloat16);
      EXPECT_TRUE(made_by(ours, "LinearCuda")) << node_name(ours);
      ASSERT_EQ(ours.sizes(), theirs.sizes());
      EXPECT_LT((ours - theirs).to(torch::kFloat32).abs().max().item<double>(),
                1e-2 * theirs.to(torch::kFloat32).abs().max().item<double>());
      auto our_grads = torch::autograd::grad({(ours.to(torch::kFloat32) * upstream).sum()}, {x, w, b});
      auto their_grads = torch::autograd::grad({(theirs.to(torch::kFloat32) * upstream).sum()}, {x, w, b});
      for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(our_grads[i].scalar_type(), their_grads[i].scalar_type()) << "gradient " << i;
        const double scale = their_grads[i].to(torch::kFloat32).abs().max().item<double>();
        EXPECT_LT((our_grads[i] - their_grads[i]).to(torch::kFloat32).abs().max().item<double>(), 2e-2 * scale)
            << "gradient " << i;
      }
      // The float32 gradients (W's; x's where x is float32) are the bf16 operands' products as
      // cuBLAS accumulates them in float32, not rounded to bf16 (a relative error up to 2^-9)
      // on the way: against the same products in float64, within float32 accumulation error.
      const auto grad_out = upstream.to(torch::kBFloat16).to(torch::kFloat64);  // as backward gets it
      const auto exact_w = grad_out.t().mm(x.detach().to(torch::kBFloat16).to(torch::kFloat64));
      const auto exact_x = grad_out.mm(w.detach().to(torch::kBFloat16).to(torch::kFloat64));
      EXPECT_LT((our_grads[1].to(torch::kFloat64) - exact_w).abs().max().item<double>(),
                1e-4 * exact_w.abs().max().item<double>());
      if (input_type == torch::kFloat32) {
        EXPECT_LT((our_grads[0].to(torch::kFloat64) - exact_x).abs().max().item<double>(),
                  1e-4 * exact_x.abs().max().item<double>());
      }
    }
  }
}

TEST_F(MlrecLinear, ProductsOfBf16CopiesAreThoseOfTheCastsTheyReplace) {
  torch::manual_seed(16);
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  // An aligned layer; the MLP's first, 1,337 features whose copy is widened to 1,344 (against
  // the zero-padded weight the model used before the copies).
  for (const auto& [rows, in, out] : std::vector<std::array<int64_t, 3>>{{640, 120, 360}, {256, 1337, 1024}}) {
    SCOPED_TRACE(std::to_string(in) + " -> " + std::to_string(out));
    const int64_t wide = (in + 7) / 8 * 8;
    auto x = torch::randn({rows, wide}, options);
    x.narrow(1, in, wide - in).zero_();
    x.requires_grad_(true);
    auto w = torch::randn({out, in}, options).requires_grad_(true);
    auto b = torch::randn({out}, options).requires_grad_(true);
    auto upstream = torch::randn({rows, out}, options);
    ops::Bf16Copies copies;
    const size_t layer = copies.add(w, b, wide);
    torch::Tensor ours, theirs, our_ff, their_ff;
    {
      Bf16Autocast autocast;
      ASSERT_TRUE(ops::bf16_copies_apply(x, /*use_kernels=*/true));
      copies.refresh(true);
      ours = ops::linear(x, w, b, true, copies[layer]);
      theirs = ops::linear(x, wide == in ? w : at::constant_pad_nd(w, {0, wide - in}), b, true);
      if (wide == in) {  // the feed-forward's product with its GELU + dropout, the same draws
        torch::manual_seed(4);
        our_ff = ops::linear_gelu_dropout(x, w, b, 0.1, true, true, true, copies[layer]);
        torch::manual_seed(4);
        their_ff = ops::linear_gelu_dropout(x, w, b, 0.1, true, true, true);
      }
      copies.refresh(true);  // a second forward's, before the first one's backward: no in-place error
    }
    ASSERT_TRUE(made_by(ours, "LinearCuda")) << node_name(ours);
    EXPECT_TRUE(torch::equal(ours, theirs));
    auto our_grads = torch::autograd::grad({(ours.to(torch::kFloat32) * upstream).sum()}, {x, w, b});
    auto their_grads = torch::autograd::grad({(theirs.to(torch::kFloat32) * upstream).sum()}, {x, w, b});
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(our_grads[i].sizes(), their_grads[i].sizes()) << "gradient " << i;
      EXPECT_TRUE(torch::equal(our_grads[i], their_grads[i])) << "gradient " << i;
    }
    if (our_ff.defined()) {
      ASSERT_TRUE(made_by(our_ff, "LinearGeluDropoutCuda")) << node_name(our_ff);
      EXPECT_TRUE(torch::equal(our_ff, their_ff));
      auto ff_upstream = torch::randn(our_ff.sizes(), options);
      auto ours_ff_grads = torch::autograd::grad({(our_ff.to(torch::kFloat32) * ff_upstream).sum()}, {x, w, b});
      auto theirs_ff_grads = torch::autograd::grad({(their_ff.to(torch::kFloat32) * ff_upstream).sum()}, {x, w, b});
      for (int i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(ours_ff_grads[i], theirs_ff_grads[i])) << "gradient " << i;
    }
  }
}

TEST_F(MlrecLinear, TrainsTheSequenceModelAsAtensLinearDoes) {
  expect_trains_as_torchs_ops("model.linear", "mlrec");
  expect_trains_as_torchs_ops("model.linear", "mlrec", {"train.precision=bf16"});
}

}  // namespace
}  // namespace mlrec
