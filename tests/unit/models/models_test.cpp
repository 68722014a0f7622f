#include <ATen/record_function.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <cstring>

#include "mlrec/common/error.h"
#include "mlrec/config/config.h"
#include "mlrec/models/baseline.h"
#include "mlrec/models/bst.h"
#include "mlrec/models/init.h"
#include "mlrec/models/registry.h"
#include "mlrec/ops/short_attention.h"
#include "mlrec/train/autocast.h"
#include "support/synthetic_fixture.h"

namespace mlrec::models {
namespace {

using test_support::small_model;

class ModelsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { torch::manual_seed(0); }
};

TEST_P(ModelsTest, PredictsOneRatingPerSampleInsideTheRange) {
  test_support::SyntheticData d(40, 30);
  auto model = make_model(small_model(GetParam()), d.info);
  model->eval();
  torch::NoGradGuard no_grad;
  auto prediction = model->forward(d.valid.slice(0, 17));
  EXPECT_EQ(prediction.sizes(), torch::IntArrayRef({17}));
  EXPECT_EQ(prediction.scalar_type(), torch::kFloat32);
  EXPECT_GT(prediction.min().item<float>(), 0.5f);
  EXPECT_LT(prediction.max().item<float>(), 5.5f);
}

TEST_P(ModelsTest, OptimizerStepsReduceTheLossOnAFixedBatch) {
  test_support::SyntheticData d(40, 30);
  auto model = make_model(small_model(GetParam()), d.info);
  auto batch = d.train.slice(0, 64);
  auto eval_loss = [&] {
    torch::NoGradGuard no_grad;
    model->eval();
    return torch::mse_loss(model->forward(batch), batch.target).item<double>();
  };
  const double before = eval_loss();
  const auto first = model->parameters()[0].detach().clone();
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(3e-3));
  for (int step = 0; step < 30; ++step) {
    model->train();
    optimizer.zero_grad();
    torch::mse_loss(model->forward(batch), batch.target).backward();
    optimizer.step();
  }
  EXPECT_FALSE(torch::equal(first, model->parameters()[0]));
  EXPECT_LT(eval_loss(), before * 0.9);
}

// The no-future-input rule, for every model: the target's own rating (the window's last level)
// and the target value are not inputs. Trained a few steps first, so that no weight that would
// read them is still zero.
TEST_P(ModelsTest, NoModelReadsTheTargetsRating) {
  test_support::SyntheticData d(40, 30);
  auto model = make_model(small_model(GetParam()), d.info);
  auto batch = d.train.slice(0, 64);
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-2));
  for (int step = 0; step < 5; ++step) {
    optimizer.zero_grad();
    torch::mse_loss(model->forward(batch), batch.target).backward();
    optimizer.step();
  }
  model->eval();
  torch::NoGradGuard no_grad;
  auto valid = d.valid.slice(0, 16);
  const auto base = model->forward(valid);
  data::Batch changed = valid;
  changed.levels = valid.levels.clone();
  const int64_t last = valid.levels.size(1) - 1;
  changed.levels.select(1, last).copy_(6 - valid.levels.select(1, last));  // 1 <-> 5
  changed.target = 6 - valid.target;
  EXPECT_TRUE(torch::equal(model->forward(changed), base));
}

INSTANTIATE_TEST_SUITE_P(AllTrainable, ModelsTest,
                         ::testing::Values("mf", "mf_history", "seq", "seq_ratings", "seq_features"));

TEST(MfHistory, ReadsTheRatingsJustGivenButNotTheTarget) {
  torch::manual_seed(0);
  test_support::SyntheticData d(40, 30);
  auto model = make_model(small_model("mf_history"), d.info);
  model->eval();
  torch::NoGradGuard no_grad;
  auto batch = d.valid.slice(0, 8);
  const auto base = model->forward(batch);
  data::Batch changed = batch;
  changed.levels = batch.levels.clone();
  changed.levels.select(1, 5).fill_(1);  // history ratings
  changed.levels.select(1, 6).fill_(5);
  EXPECT_FALSE(torch::allclose(model->forward(changed), base));
  // A padded position reads nothing: its movie and level are 0, and 0 rows stay 0.
  for (const auto& name : {"history_item.weight", "history_rating.weight"}) {
    EXPECT_EQ(model->named_parameters()[name][0].abs().sum().item<float>(), 0.0f) << name;
  }
}

// blend.member_seeds decides by name which members to train once: the name list must say what
// each model itself says.
TEST(Registry, FittedWithoutGradientsIsWhatEachModelSays) {
  test_support::SyntheticData d(40, 30);
  for (const std::string& name : model_names()) {
    EXPECT_EQ(fitted_without_gradients(name), !make_model(small_model(name), d.info)->trainable()) << name;
  }
}

TEST(Registry, FeatureModelOnAReleaseWithoutFeaturesIsAConfigError) {
  test_support::SyntheticData csv(30, 20, 3, 10, data::Release::kMovieLensCsv);
  try {
    make_model(small_model("seq_features"), csv.info);
    FAIL() << "seq_features built without user features";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.name"), std::string::npos);
  }
  EXPECT_NO_THROW(make_model(small_model("seq_ratings"), csv.info));
}

TEST(Bst, TargetRatingIsNotAnInputButHistoryRatingsAre) {
  torch::manual_seed(0);
  test_support::SyntheticData d(40, 30);
  auto model = make_model(small_model("seq_ratings"), d.info);
  model->eval();
  torch::NoGradGuard no_grad;
  auto batch = d.valid.slice(0, 8);
  auto base = model->forward(batch);
  auto changed = batch;
  changed.levels = batch.levels.clone();
  changed.levels.select(1, 9).fill_(1);  // the target's own rating
  EXPECT_TRUE(torch::allclose(model->forward(changed), base));
  changed.levels.select(1, 5).fill_(1);  // a history rating
  changed.levels.select(1, 6).fill_(5);
  EXPECT_FALSE(torch::allclose(model->forward(changed), base));
}

TEST(Bst, PaddedKeysAreIgnoredByAttention) {
  torch::manual_seed(0);
  EncoderLayer layer(16, 4, 32, 0.0);
  layer->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 5, 16});
  auto pad = torch::zeros({2, 5}, torch::kBool);
  pad.narrow(1, 0, 2).fill_(true);  // first two tokens are padding
  auto out = layer(x, pad);
  auto x2 = x.clone();
  x2.narrow(1, 0, 2).normal_();     // whatever sits in padded positions...
  auto out2 = layer(x2, pad);
  // ...does not reach the non-padded outputs
  EXPECT_TRUE(torch::allclose(out.narrow(1, 2, 3), out2.narrow(1, 2, 3), 1e-5, 1e-6));
}

TEST(Bst, EveryAttentionChoiceComputesTheSameModelOnTheCpu) {
  // auto and short run mlrec's CPU attention, torch runs scaled_dot_product_attention: the same
  // weights give the same predictions to float rounding, and auto is short on the CPU.
  EXPECT_TRUE(ops::short_attention_supports(torch::zeros({2, 10, 360}), 12));
  test_support::SyntheticData d(40, 30);
  auto config = small_model("seq_features");
  auto predictions = [&](const std::string& attention) {
    config.attention = attention;
    torch::manual_seed(0);
    auto model = make_model(config, d.info);
    model->eval();
    torch::NoGradGuard no_grad;
    return model->forward(d.valid.slice(0, 16));
  };
  const auto with_torch = predictions("torch");
  const auto with_short = predictions("short");
  EXPECT_TRUE(torch::allclose(with_torch, with_short, 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(predictions("auto"), with_short));
  EXPECT_TRUE(torch::equal(predictions("short_v1"), with_short));  // a CUDA choice: one CPU loop
}

// torch's ops that mlrec's CPU paths replace, counted as this thread dispatches them.
std::atomic<int> replaced_ops_called{0};

class CountReplacedOps {
 public:
  CountReplacedOps() {
    replaced_ops_called = 0;
    handle_ = at::addThreadLocalCallback(at::RecordFunctionCallback(
        [](const at::RecordFunction& fn) -> std::unique_ptr<at::ObserverContext> {
          for (const char* name :
               {"aten::bernoulli_", "aten::scaled_dot_product_attention", "aten::gelu", "aten::mish"}) {
            if (std::strcmp(fn.name(), name) == 0) ++replaced_ops_called;
          }
          return nullptr;
        }));
  }
  ~CountReplacedOps() { at::removeCallback(handle_); }

 private:
  at::CallbackHandle handle_;
};

// Under bf16 autocast on the CPU the BST trains through mlrec's paths (hash dropout, the
// attention's loop, the fused feed-forward, the MLP's Mish) as in fp32, not through torch's
// Bernoulli dropout, attention, GELU and Mish, and learns as fp32 does.
TEST(Bst, TrainsInBf16OnTheCpuThroughMlrecsPathsAsInFp32) {
  test_support::SyntheticData d(40, 30);
  auto train = [&](bool bf16, const std::string& choice) {
    auto config = small_model("seq_features");
    config.attention = choice;
    config.feed_forward = choice;
    config.batch_norm = choice;
    torch::manual_seed(0);
    auto model = make_model(config, d.info);
    auto batch = d.train.slice(0, 64);
    torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(3e-3));
    CountReplacedOps count;
    for (int step = 0; step < 30; ++step) {
      model->train();
      optimizer.zero_grad();
      torch::Tensor prediction;
      {
        train::AutocastGuard autocast(bf16, torch::kCPU);  // forward only, as the trainer has it
        prediction = model->forward(batch);
      }
      torch::mse_loss(prediction.to(torch::kFloat32), batch.target).backward();
      optimizer.step();
    }
    model->eval();
    torch::NoGradGuard no_grad;
    const double loss = torch::mse_loss(model->forward(batch), batch.target).item<double>();
    return std::pair{loss, replaced_ops_called.load()};
  };
  const auto [fp32_loss, fp32_torch_ops] = train(false, "auto");
  const auto [bf16_loss, bf16_torch_ops] = train(true, "auto");
  EXPECT_EQ(fp32_torch_ops, 0);
  EXPECT_EQ(bf16_torch_ops, 0);
  EXPECT_NEAR(bf16_loss, fp32_loss, 0.1 * fp32_loss);
  // The count sees torch's ops where they run.
  EXPECT_GT(train(true, "torch").second, 0);
}

TEST(Bst, AutoSelectsOnlyKernelsAGpuHasTestedAndMeasured) {
  config::Config::Model options;
  auto choices = KernelChoices::from(options);
  EXPECT_TRUE(choices.short_attention && choices.fused_feed_forward && choices.layer_norm_cuda &&
              choices.batch_norm_mish && choices.linear_cuda);
  // Written but not yet run on a GPU: the attention's rewrite (auto keeps its first version) and
  // the fused residual steps.
  EXPECT_TRUE(choices.short_attention_v1);
  EXPECT_FALSE(choices.residual_norm_cuda);
  EXPECT_FALSE(choices.embedding_backward_cuda);
  EXPECT_EQ(embedding_backward(options), ops::EmbeddingBackward::kIndexAdd);  // MF's lookups too
  options.attention = "short";
  options.residual_norm = "mlrec";
  options.embedding_backward = "mlrec";
  choices = KernelChoices::from(options);
  EXPECT_TRUE(choices.short_attention);
  EXPECT_FALSE(choices.short_attention_v1);
  EXPECT_TRUE(choices.residual_norm_cuda);
  EXPECT_TRUE(choices.embedding_backward_cuda);
  EXPECT_EQ(embedding_backward(options), ops::EmbeddingBackward::kMlrec);
  options.attention = "torch";
  EXPECT_FALSE(KernelChoices::from(options).short_attention);
}

TEST(MedianBaseline, FitsTheMedianAsNumpyDoes) {
  MedianBaseline odd;
  odd.fit_targets(torch::tensor({5.f, 1.f, 4.f}));
  EXPECT_DOUBLE_EQ(odd.prediction(), 4.0);
  MedianBaseline even;
  even.fit_targets(torch::tensor({1.f, 4.f, 3.f, 5.f}));
  EXPECT_DOUBLE_EQ(even.prediction(), 3.5);
  data::Batch batch;
  batch.target = torch::zeros({3});
  EXPECT_TRUE(torch::equal(even.forward(batch), torch::full({3}, 3.5f)));
  EXPECT_FALSE(even.trainable());
}

TEST(Mf, PaddingRowsStartAtZero) {
  torch::manual_seed(0);
  test_support::SyntheticData d(40, 30);
  auto model = make_model(small_model("mf"), d.info);
  for (const auto& p : model->named_parameters()) {
    EXPECT_EQ(p.value()[0].abs().sum().item<float>(), 0.f) << p.key();
  }
}

TEST(ScoreAllItems, EachColumnIsTheForwardWithThatItemAsTarget) {
  // The factorised scorer (MF's one product) and the generic one (a forward per item, what the
  // sequence models use) against forward() itself, item by item.
  test_support::SyntheticData d(30, 12);
  for (const std::string name : {"mf", "mf_history", "seq_features"}) {
    torch::manual_seed(0);
    auto model = make_model(small_model(name), d.info);
    model->eval();
    torch::NoGradGuard no_grad;
    auto batch = d.valid.slice(0, 5);
    const auto scores = model->score_all_items(batch, d.info.num_movies);
    ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{5, d.info.num_movies + 1})) << name;
    const int64_t last = batch.movies.size(1) - 1;
    for (int64_t item : {int64_t{1}, int64_t{7}, int64_t{d.info.num_movies}}) {
      data::Batch b = batch;
      b.movies = batch.movies.clone();
      b.movies.select(1, last).fill_(static_cast<int32_t>(item));
      EXPECT_TRUE(torch::allclose(scores.select(1, item), model->forward(b), 1e-5, 1e-5)) << name << " item " << item;
    }
    if (name != "seq_features") {
      EXPECT_TRUE(model->scores_all_items_cheaply());
      EXPECT_TRUE(torch::allclose(scores, model->RatingModel::score_all_items(batch, d.info.num_movies), 1e-5, 1e-5));
    } else {
      EXPECT_FALSE(model->scores_all_items_cheaply());
    }
  }
}

TEST(SideFeatures, SeqFeaturesUsesTheTablesCodes) {
  // The same model and weights with another user's and item's codes predicts otherwise; the
  // codes are buffers, so checkpoints carry them.
  test_support::SyntheticData d(30, 12);
  data::DatasetInfo info = d.info;
  info.has_user_features = false;
  info.user_side_codes = torch::zeros({info.num_users + 1, 2}, torch::kInt32);
  info.user_side_sizes = {3, 4};
  info.item_side_codes = torch::zeros({info.num_movies + 1, 1}, torch::kInt32);
  info.item_side_sizes = {5};
  torch::manual_seed(0);
  auto model = make_model(small_model("seq_features"), info);
  model->eval();
  torch::NoGradGuard no_grad;
  auto batch = d.valid.slice(0, 8);
  const auto before = model->forward(batch);
  auto buffers = model->named_buffers();
  ASSERT_NE(buffers.find("user_side_codes"), nullptr);
  buffers["user_side_codes"].fill_(2);
  const auto user_changed = model->forward(batch);
  EXPECT_FALSE(torch::allclose(before, user_changed));
  buffers["item_side_codes"].fill_(4);
  EXPECT_FALSE(torch::allclose(user_changed, model->forward(batch)));
}

}  // namespace
}  // namespace mlrec::models
