// CUDA and NCCL on one GPU: the whole training loop on the device, and a size-1 NCCL
// communicator (NCCL refuses two ranks on one GPU, so that is all one GPU can test). Every test
// skips where no GPU is visible, as in CI.
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cmath>
#include <optional>

#include "mlrec/config/config.h"
#include "mlrec/data/synthetic.h"
#include "mlrec/dist/process_group.h"
#include "mlrec/models/batch_norm_mish.h"
#include "mlrec/models/cuda_kernels.h"
#include "mlrec/models/embedding.h"
#include "mlrec/models/feed_forward.h"
#include "mlrec/models/layer_norm.h"
#include "mlrec/models/linear.h"
#include "mlrec/models/registry.h"
#include "mlrec/models/short_attention.h"
#include "mlrec/train/run.h"
#include "support/synthetic_fixture.h"
#include "support/temp_dir.h"

namespace mlrec {
namespace {

// Generated ML-1M-format ratings of 300 users on 100 movies, in dir/data.
void write_small_dataset(const test_support::TempDir& dir) {
  data::SyntheticOptions synthetic;
  synthetic.users = 300;
  synthetic.movies = 100;
  data::write_synthetic_movielens(dir.file("data"), data::Release::kMovieLens1M, synthetic);
}

// BST + user features on the small dataset for 3 epochs, once with `key` = `ours` (one family
// of mlrec's kernels) and once with `key` = torch, both with the `extra` settings: the kernels
// must capture into the step's graph and train as torch's ops do.
void expect_trains_as_torchs_ops(const std::string& key, const std::string& ours,
                                 const std::vector<std::string>& extra = {}) {
  test_support::TempDir dir;
  write_small_dataset(dir);
  auto train = [&](const std::string& value) {
    std::vector<std::string> settings = {
        "model.name=seq_features", "data.dir=" + dir.file("data"), "output.dir=" + dir.file("run"),
        "train.device=cuda", "train.epochs=3", "train.batch_size=128", "train.log_every_steps=0",
        "train.patience=0", "model.embedding_init_std=0.1", key + "=" + value};
    settings.insert(settings.end(), extra.begin(), extra.end());
    auto config = config::config_from_yaml_string("{}", settings);
    dist::ProcessGroup group;
    group.comm = dist::make_local_communicator();
    return train::run_training(config, group);
  };
  const auto with_kernels = train(ours);
  const auto with_torch = train("torch");
  ASSERT_TRUE(with_kernels.fit.cuda_graph) << key;
  EXPECT_LT(with_kernels.fit.epochs.back().train_loss, with_kernels.fit.epochs.front().train_loss) << key;
  EXPECT_NEAR(with_kernels.best.mae, with_torch.best.mae, 0.05) << key;
}

// Whether `y` came out of the autograd function `name` (one of mlrec's kernels): the tests of a
// kernel must fail when a condition sends its case to torch's ops instead.
std::string node_name(const torch::Tensor& y) { return y.grad_fn() ? y.grad_fn()->name() : "no autograd node"; }

bool made_by(const torch::Tensor& y, const std::string& name) {
  return node_name(y).find("::" + name) != std::string::npos;
}

// bf16 autocast on CUDA for a scope, as the trainer's train.precision = bf16 sets it.
class Bf16Autocast {
 public:
  Bf16Autocast() {
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~Bf16Autocast() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(at::kCUDA, false);
  }
};

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_F(Cuda, SizeOneNcclCommunicatorReducesAndBroadcastsOnTheDevice) {
  dist::ProcessGroup group;
  group.comm = dist::make_local_communicator();
  dist::use_nccl(group, 0, 60);
  ASSERT_EQ(group.comm->backend(), "nccl");
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kBFloat16, torch::kInt64}) {
    auto t = torch::arange(1001, options.dtype(torch::kFloat64)).to(dtype);
    auto expected = t.clone();
    group.comm->all_reduce_sum(t, "test");
    EXPECT_TRUE(torch::equal(t.cpu(), expected.cpu())) << dtype;  // a sum over one rank
  }
  auto b = torch::full({7}, 3.0, options);
  group.comm->broadcast(b, 0, "test");
  EXPECT_TRUE(torch::equal(b.cpu(), torch::full({7}, 3.0)));
  auto a = torch::ones({5}, options);
  group.comm->all_reduce_sum_async(a, "async")->wait();
  EXPECT_EQ(a.sum().item<float>(), 5.f);
  group.comm->barrier("test");
}

TEST_F(Cuda, WholeTrainingLoopRunsOnTheDeviceWithNccl) {
  test_support::TempDir dir;
  write_small_dataset(dir);
  for (const std::string model : {"mf", "seq_features"}) {
    for (const std::string precision : {"fp32", "bf16"}) {
      auto config = config::config_from_yaml_string(
          "{}", {"model.name=" + model, "data.dir=" + dir.file("data"), "output.dir=" + dir.file("run"),
                 "train.device=cuda", "dist.backend=nccl", "train.precision=" + precision, "train.epochs=2",
                 "train.batch_size=256", "train.log_every_steps=0", "model.embedding_init_std=0.1"});
      dist::ProcessGroup group;
      group.comm = dist::make_local_communicator();
      const auto result = train::run_training(config, group);
      EXPECT_EQ(group.comm->backend(), "nccl");
      EXPECT_EQ(result.best.count, 300) << model << " " << precision;
      EXPECT_TRUE(std::isfinite(result.best.mae)) << model << " " << precision;
      EXPECT_NE(result.device.find("cuda"), std::string::npos);
      const YAML::Node summary = YAML::LoadFile(dir.file("run/summary.json"));
      EXPECT_EQ(summary["backend"].as<std::string>(), "nccl");
    }
  }
}

// The captured step is the eager step replayed: without dropout (MF) both train the same model
// up to the order of atomic additions in the embeddings' backward.
TEST_F(Cuda, ScatterAddEmbeddingGradientsMatchTorchsEmbedding) {
  torch::manual_seed(6);
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  auto indices = torch::randint(0, 7, {1024, 10}, options.dtype(torch::kLong));  // many repeats
  auto upstream = torch::randn({1024, 10, 16}, options);
  auto ours = torch::randn({7, 16}, options).requires_grad_(true);
  auto theirs = ours.detach().clone().requires_grad_(true);
  (models::scatter_add_embedding(ours, indices, 0) * upstream).sum().backward();
  (torch::embedding(theirs, indices, 0) * upstream).sum().backward();
  EXPECT_TRUE(torch::allclose(ours.grad(), theirs.grad(), 1e-4, 1e-3));
  EXPECT_EQ(ours.grad()[0].abs().sum().item<float>(), 0.f);
}

// On CUDA the MLP's input is padded with zero features to a multiple of 8 (models/bst.cpp; here
// 10 x 16 + 16 + 17 = 193 -> 200): the device model must compute what the CPU model computes,
// outputs and the gradients of every parameter, the first MLP layer's included.
TEST_F(Cuda, SequenceModelWithItsPaddedMlpInputMatchesTheCpuModel) {
  at::globalContext().setAllowTF32CuBLAS(false);  // strict fp32 GEMMs on both sides
  test_support::SyntheticData d(40, 30);
  torch::manual_seed(13);
  auto cpu = models::make_model(test_support::small_model("seq_features"), d.info);
  auto cuda = models::make_model(test_support::small_model("seq_features"), d.info);
  {
    torch::NoGradGuard no_grad;
    auto source = cpu->named_parameters();
    for (auto& p : cuda->named_parameters()) p.value().copy_(source[p.key()]);
  }
  cuda->to(torch::kCUDA);
  cpu->eval();  // no dropout, BatchNorm's running statistics: the same function on both devices
  cuda->eval();
  auto on_cpu = cpu->forward(d.train.slice(0, 64));
  auto on_cuda = cuda->forward(d.train.to(torch::kCUDA).slice(0, 64));
  EXPECT_LT((on_cpu - on_cuda.cpu()).abs().max().item<double>(), 1e-4);
  (on_cpu * on_cpu).sum().backward();
  (on_cuda * on_cuda).sum().backward();
  auto cpu_parameters = cpu->named_parameters();
  for (const auto& p : cuda->named_parameters()) {
    const auto& expected = cpu_parameters[p.key()].grad();
    ASSERT_EQ(p.value().grad().defined(), expected.defined()) << p.key();
    if (!expected.defined()) continue;
    ASSERT_EQ(p.value().grad().sizes(), expected.sizes()) << p.key();
    const double scale = expected.abs().max().item<double>();
    EXPECT_LT((p.value().grad().cpu() - expected).abs().max().item<double>(), 1e-4 * scale + 1e-6) << p.key();
  }
}

// torch's attention on the same packed projections, as the encoder layer calls it.
torch::Tensor torch_attention(const torch::Tensor& packed, const torch::Tensor& pad, int64_t heads) {
  const int64_t batch = packed.size(0), length = packed.size(1), dim = packed.size(2) / 3;
  auto qkv = packed.view({batch, length, 3, heads, dim / heads}).permute({2, 0, 3, 1, 4});
  auto attend = pad.logical_not().view({batch, 1, 1, length});
  return at::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attend, 0.0)
      .transpose(1, 2)
      .reshape({batch, length, dim});
}

// The tests of mlrec's CUDA kernels, a suite per family (scripts/gpu_check.sh gates each family on
// its suite): skipped where no GPU is visible or the build has no kernels.
class CudaKernels : public Cuda {
 protected:
  void SetUp() override {
    Cuda::SetUp();
    if (!IsSkipped() && !models::cuda_kernels_built()) GTEST_SKIP() << "built without CUDA kernels";
  }
};

class ShortAttention : public CudaKernels {
 protected:
  // The study's shape: 10 tokens, 12 heads of 10; some keys padded, never the target's.
  const int64_t batch = 64, length = 10, heads = 12, dim = 120;
  torch::TensorOptions options = torch::TensorOptions().device(torch::kCUDA, 0);
  torch::Tensor packed() { return torch::randn({batch, length, 3 * dim}, options); }
  torch::Tensor pad() {
    auto mask = torch::rand({batch, length}, options) < 0.4;
    mask.select(1, length - 1).fill_(false);
    return mask;
  }
};

TEST_F(ShortAttention, MatchesTorchsAttentionWithoutDropout) {
  torch::manual_seed(7);
  auto qkv = packed().requires_grad_(true);
  auto mask = pad();
  ASSERT_TRUE(models::short_attention_supports(qkv, heads));
  auto upstream = torch::randn({batch, length, dim}, options);
  auto ours = models::short_attention(qkv, mask, heads, 0.0);
  auto our_grad = torch::autograd::grad({(ours * upstream).sum()}, {qkv})[0];
  auto theirs = torch_attention(qkv, mask, heads);
  auto their_grad = torch::autograd::grad({(theirs * upstream).sum()}, {qkv})[0];
  EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-5);
  EXPECT_LT((our_grad - their_grad).abs().max().item<double>(), 1e-4);
}

TEST_F(ShortAttention, DropoutIsUnbiasedSeededAndItsGradientMatchesTheForward) {
  torch::manual_seed(8);
  auto qkv = packed();
  auto mask = pad();
  const double p = 0.3;
  auto exact = models::short_attention(qkv, mask, heads, 0.0);
  // Each call draws new masks; the same seed draws the same ones.
  torch::manual_seed(1);
  auto first = models::short_attention(qkv, mask, heads, p);
  auto second = models::short_attention(qkv, mask, heads, p);
  torch::manual_seed(1);
  auto again = models::short_attention(qkv, mask, heads, p);
  EXPECT_TRUE(torch::equal(first, again));
  EXPECT_FALSE(torch::equal(first, second));
  // Inverted dropout keeps the expectation: the mean of many draws approaches the exact output.
  auto mean = torch::zeros_like(exact);
  const int draws = 400;
  for (int i = 0; i < draws; ++i) mean += models::short_attention(qkv, mask, heads, p);
  mean /= draws;
  EXPECT_LT((mean - exact).abs().mean().item<double>(), 0.05 * exact.abs().mean().item<double>());
  // With the seed fixed the masks are fixed, so the output is a function of qkv alone: the
  // gradient must match central differences in a random direction.
  auto direction = torch::randn_like(qkv);
  auto weights = torch::randn({batch, length, dim}, options);
  auto objective = [&](const torch::Tensor& x) {
    torch::manual_seed(2);
    return (models::short_attention(x, mask, heads, p).to(torch::kFloat64) * weights.to(torch::kFloat64)).sum();
  };
  auto x = qkv.clone().requires_grad_(true);
  auto analytic = (torch::autograd::grad({objective(x)}, {x})[0] * direction).sum().item<double>();
  const double eps = 1e-2;
  torch::NoGradGuard no_grad;
  const double numeric =
      (objective(qkv + eps * direction).item<double>() - objective(qkv - eps * direction).item<double>()) / (2 * eps);
  EXPECT_NEAR(analytic, numeric, 2e-3 * std::abs(numeric) + 1e-2);
}

TEST_F(ShortAttention, TrainsTheSequenceModelAsTorchsAttentionDoes) {
  expect_trains_as_torchs_ops("model.attention", "short");
}

class FusedFeedForward : public CudaKernels {
 protected:
  // Kept elements are scaled so that the mask's expectation is exactly 1: the kernels drop
  // round(p * 65536) / 65536 of them (16-bit uniforms, src/models/philox.h).
  static double kept_scale(double p) { return 65536.0 / (65536.0 - std::round(p * 65536.0)); }

  // The fused kernels against torch's ops with the mask they drew: the kept elements (y != 0)
  // must be gelu(x W^T + b) * kept_scale, about 1 - p of them kept, and the gradients those of
  // torch's ops under that mask (backward draws the mask again, so a different one would show
  // here). `linear_kernels`: mlrec's product, whose backward kernel also sums the bias
  // gradient. `bf16`: under bf16 autocast, against torch's ops under it, to bf16's precision.
  static void expect_matches_torch_under_its_mask(int64_t rows, int64_t in, int64_t out, double p,
                                                  bool linear_kernels = true, bool bf16 = false) {
    SCOPED_TRACE(std::to_string(rows) + " x " + std::to_string(in) + " -> " + std::to_string(out) +
                 (linear_kernels ? ", mlrec's product" : ", ATen's product") + (bf16 ? ", bf16" : ""));
    auto options = torch::TensorOptions().device(torch::kCUDA, 0);
    auto x = torch::randn({rows, in}, options).requires_grad_(true);
    auto w = (torch::randn({out, in}, options) * 0.3).requires_grad_(true);
    auto b = torch::randn({out}, options).requires_grad_(true);
    auto upstream = torch::randn({rows, out}, options);
    // Autocast around the forward passes only, as the trainer has it: backward runs without.
    std::optional<Bf16Autocast> autocast;
    if (bf16) autocast.emplace();
    auto y = models::linear_gelu_dropout(x, w, b, p, /*training=*/true, /*fused=*/true, linear_kernels);
    autocast.reset();
    EXPECT_EQ(y.scalar_type(), bf16 ? torch::kBFloat16 : torch::kFloat32);
    EXPECT_TRUE(made_by(y, linear_kernels ? "LinearGeluDropoutCuda" : "GeluDropoutCuda")) << node_name(y);
    auto grads = torch::autograd::grad({(y.to(torch::kFloat32) * upstream).sum()}, {x, w, b});

    auto x2 = x.detach().clone().requires_grad_(true);
    auto w2 = w.detach().clone().requires_grad_(true);
    auto b2 = b.detach().clone().requires_grad_(true);
    if (bf16) autocast.emplace();
    auto reference = torch::gelu(at::linear(x2, w2, b2));  // bf16 under autocast, as y
    autocast.reset();
    auto kept = (y != 0).detach();
    // Below about -5.5 the float GELU is exactly 0 (erf rounds to -1), dropped or not: the share
    // kept counts only the elements where it is not.
    auto nonzero = reference.detach() != 0;
    const double kept_share = (kept & nonzero).sum().item<double>() / nonzero.sum().item<double>();
    EXPECT_NEAR(kept_share, 1 - p, 5 * std::sqrt(p * (1 - p) / double(rows * out)) + 1e-3);
    auto expected = reference.to(torch::kFloat32) * kept.to(torch::kFloat32) * kept_scale(p);
    auto expected_grads = torch::autograd::grad({(expected * upstream).sum()}, {x2, w2, b2});
    const double tolerance = bf16 ? 2e-2 : 1e-4;  // relative; bf16 keeps 8 bits of mantissa
    const double y_scale = expected.abs().max().item<double>();
    EXPECT_LT((y.to(torch::kFloat32) - expected).abs().max().item<double>(), tolerance * y_scale);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(grads[i].scalar_type(), torch::kFloat32) << "gradient " << i;
      const double scale = expected_grads[i].abs().max().item<double>();
      EXPECT_LT((grads[i] - expected_grads[i]).abs().max().item<double>(), tolerance * scale + 1e-5) << "gradient " << i;
    }
  }
};

TEST_F(FusedFeedForward, MatchesTorchsOpsUnderTheMaskItDrew) {
  torch::manual_seed(9);
  for (bool linear_kernels : {true, false}) {
    expect_matches_torch_under_its_mask(640, 120, 512, 0.1, linear_kernels);  // vectorised paths
    expect_matches_torch_under_its_mask(7, 5, 13, 0.4, linear_kernels);       // 91 elements: the scalar paths
  }
  // The bias sums in backward's kernel: one row block; two column blocks, the second partly
  // used; rows not a multiple of the row phases; many row blocks; more rows than the row blocks
  // take in one pass each.
  expect_matches_torch_under_its_mask(16, 8, 264, 0.2);
  expect_matches_torch_under_its_mask(4000, 24, 264, 0.2);
  expect_matches_torch_under_its_mask(1001, 24, 64, 0.2);
  expect_matches_torch_under_its_mask(10240, 120, 256, 0.1);
  expect_matches_torch_under_its_mask(70001, 8, 64, 0.1);
}

TEST_F(FusedFeedForward, MatchesTorchsOpsUnderBf16Autocast) {
  torch::manual_seed(11);
  for (bool linear_kernels : {true, false}) {
    expect_matches_torch_under_its_mask(640, 120, 512, 0.1, linear_kernels, /*bf16=*/true);
    expect_matches_torch_under_its_mask(7, 5, 13, 0.4, linear_kernels, /*bf16=*/true);
  }
  expect_matches_torch_under_its_mask(4000, 24, 264, 0.2, /*linear_kernels=*/true, /*bf16=*/true);
}

TEST_F(FusedFeedForward, MasksFollowTheSeedAndChangeBetweenCalls) {
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  torch::manual_seed(10);
  auto x = torch::randn({256, 120}, options);
  auto w = torch::randn({256, 120}, options) * 0.1;
  auto b = torch::randn({256}, options);
  torch::manual_seed(1);
  auto first = models::linear_gelu_dropout(x, w, b, 0.3, true);
  auto second = models::linear_gelu_dropout(x, w, b, 0.3, true);
  torch::manual_seed(1);
  auto again = models::linear_gelu_dropout(x, w, b, 0.3, true);
  EXPECT_TRUE(torch::equal(first, again));
  EXPECT_FALSE(torch::equal(first, second));
  // Not training: no dropout at all.
  auto exact = models::linear_gelu_dropout(x, w, b, 0.3, false);
  EXPECT_LT((exact - torch::gelu(at::linear(x, w, b))).abs().max().item<double>(), 1e-5);
}

TEST_F(FusedFeedForward, TrainsTheSequenceModelAsTorchsOpsDo) {
  expect_trains_as_torchs_ops("model.feed_forward", "fused");
  expect_trains_as_torchs_ops("model.feed_forward", "fused", {"train.precision=bf16"});
}

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
    auto ours = models::linear(x, w, b, /*use_kernels=*/true);
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
  auto grads = torch::autograd::grad({models::linear(x, w, b, true).sum()}, {w, b});
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
        ours = models::linear(x, w, b, /*use_kernels=*/true);
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

TEST_F(MlrecLinear, TrainsTheSequenceModelAsAtensLinearDoes) {
  expect_trains_as_torchs_ops("model.linear", "mlrec");
  expect_trains_as_torchs_ops("model.linear", "mlrec", {"train.precision=bf16"});
}

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
    ASSERT_TRUE(models::layer_norm_kernels_support(x));
    auto ours = models::layer_norm(x, weight, bias, 1e-5, /*use_kernels=*/true);
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
  EXPECT_FALSE(models::layer_norm_kernels_support(torch::zeros({4, 257}, options)));  // too wide
  EXPECT_FALSE(models::layer_norm_kernels_support(torch::zeros({4, 120})));           // the CPU
}

TEST_F(MlrecLayerNorm, TrainsTheSequenceModelAsTorchsLayerNormDoes) {
  expect_trains_as_torchs_ops("model.layer_norm", "mlrec");
}

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
        auto y = models::batch_norm_mish(x, ours, /*use_kernels=*/true);
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
      EXPECT_LT((models::batch_norm_mish(x, ours, true) - torch::mish(theirs(x))).to(torch::kFloat32).abs().max().item<double>(),
                1e-5);
    }
  }
}

TEST_F(MlrecBatchNormMish, TrainsTheSequenceModelAsTorchsOpsDo) {
  expect_trains_as_torchs_ops("model.batch_norm", "mlrec");
  expect_trains_as_torchs_ops("model.batch_norm", "mlrec", {"train.precision=bf16"});
}

TEST_F(Cuda, GraphReplayedStepsTrainAsEagerSteps) {
  test_support::TempDir dir;
  write_small_dataset(dir);
  auto train = [&](const std::string& model, bool graphs, const std::string& precision) {
    auto config = config::config_from_yaml_string(
        "{}", {"model.name=" + model, "data.dir=" + dir.file("data"), "output.dir=" + dir.file("run"),
               "train.device=cuda", "train.precision=" + precision, "train.epochs=3",
               "train.batch_size=128", "train.log_every_steps=0", "train.patience=0",
               "model.embedding_init_std=0.1", std::string("train.cuda_graphs=") + (graphs ? "true" : "false")});
    dist::ProcessGroup group;
    group.comm = dist::make_local_communicator();
    return train::run_training(config, group);
  };
  const auto eager = train("mf", false, "fp32");
  const auto graphed = train("mf", true, "fp32");
  EXPECT_FALSE(eager.fit.cuda_graph);
  ASSERT_TRUE(graphed.fit.cuda_graph);
  ASSERT_EQ(graphed.fit.epochs.size(), eager.fit.epochs.size());
  for (size_t e = 0; e < eager.fit.epochs.size(); ++e) {
    EXPECT_NEAR(graphed.fit.epochs[e].train_loss, eager.fit.epochs[e].train_loss, 1e-4) << "epoch " << e + 1;
    EXPECT_NEAR(graphed.fit.epochs[e].valid.mae, eager.fit.epochs[e].valid.mae, 1e-4) << "epoch " << e + 1;
  }
  // Dropout draws differ between the two, so the sequence model is held to learning alike.
  for (const std::string precision : {"fp32", "bf16"}) {
    const auto seq_eager = train("seq_features", false, precision);
    const auto seq_graphed = train("seq_features", true, precision);
    ASSERT_TRUE(seq_graphed.fit.cuda_graph) << precision;
    EXPECT_LT(seq_graphed.fit.epochs.back().train_loss, seq_graphed.fit.epochs.front().train_loss) << precision;
    EXPECT_NEAR(seq_graphed.best.mae, seq_eager.best.mae, 0.05) << precision;
  }
}

}  // namespace
}  // namespace mlrec
