#include "mlrec/train/trainer.h"

#include <gtest/gtest.h>

#include "mlrec/models/registry.h"
#include "mlrec/train/callbacks.h"
#include "support/synthetic_fixture.h"

namespace mlrec::train {
namespace {

config::Config::Train quick_training(int epochs) {
  config::Config::Train t;
  t.epochs = epochs;
  t.batch_size = 128;
  t.lr = 0.01;
  t.log_every_steps = 0;
  t.threads = 1;
  return t;
}

struct TrainedRun {
  FitResult fit;
  std::shared_ptr<SaveBestCallback> best;
  Metrics after;
};

TrainedRun train_mf(const test_support::SyntheticData& d, const config::Config::Train& options) {
  torch::manual_seed(static_cast<uint64_t>(options.seed));
  auto comm = dist::make_local_communicator();
  Trainer trainer(models::make_model(test_support::small_model("mf"), d.info), options, *comm, torch::Device(torch::kCPU));
  TrainedRun run;
  run.best = std::make_shared<SaveBestCallback>("");
  trainer.add_callback(run.best);
  trainer.add_callback(std::make_shared<EarlyStoppingCallback>(options.patience, options.early_stopping_threshold));
  run.fit = trainer.fit(d.train, d.valid);
  run.after = trainer.evaluate(d.valid);
  return run;
}

TEST(Trainer, TrainsEveryEpochAndScoresEachValidationSampleOnce) {
  test_support::SyntheticData d(150, 60);
  auto options = quick_training(3);
  options.patience = 0;
  TrainedRun run = train_mf(d, options);
  ASSERT_EQ(run.fit.epochs.size(), 3u);
  const int64_t steps = d.train.size() / options.batch_size;
  for (const auto& e : run.fit.epochs) {
    EXPECT_EQ(e.valid.count, d.valid.size());
    EXPECT_EQ(e.samples, steps * options.batch_size);
    EXPECT_GT(e.samples_per_second, 0);
    EXPECT_TRUE(std::isfinite(e.train_loss));
  }
  // The schedule spans all epochs: the last epoch's last step is the cycle's last step.
  EXPECT_NEAR(run.fit.epochs.back().lr, options.lr / options.div_factor / options.final_div_factor, 1e-12);
  EXPECT_LT(run.fit.epochs.back().valid.mae, run.fit.epochs.front().valid.mae);
}

TEST(Trainer, ReloadsTheBestEpochAtTheEnd) {
  test_support::SyntheticData d(150, 60);
  auto options = quick_training(4);
  options.patience = 0;
  TrainedRun run = train_mf(d, options);
  ASSERT_GE(run.best->best_epoch(), 1);
  double best_mae = 1e9;
  for (const auto& e : run.fit.epochs) best_mae = std::min(best_mae, e.valid.mae);
  EXPECT_DOUBLE_EQ(run.best->best_metrics().mae, best_mae);
  EXPECT_NEAR(run.after.mae, best_mae, 1e-9);  // the model now holds the best epoch's weights
}

TEST(Trainer, EarlyStoppingEndsARunThatStopsImproving) {
  test_support::SyntheticData d(150, 60);
  auto options = quick_training(10);
  options.schedule = "constant";
  options.lr = 1e-12;  // nothing moves: every epoch after the first is stale
  options.patience = 2;
  TrainedRun run = train_mf(d, options);
  EXPECT_EQ(run.fit.epochs.size(), 3u);  // epoch 1 sets the best, 2 and 3 exhaust the patience
  EXPECT_EQ(run.best->best_epoch(), 1);
}

TEST(Trainer, SameSeedSameMetricsOnCpu) {
  test_support::SyntheticData d(150, 60);
  auto options = quick_training(2);
  TrainedRun a = train_mf(d, options), b = train_mf(d, options);
  options.seed = 43;
  TrainedRun c = train_mf(d, options);
  ASSERT_EQ(a.fit.epochs.size(), b.fit.epochs.size());
  for (size_t i = 0; i < a.fit.epochs.size(); ++i) {
    EXPECT_EQ(a.fit.epochs[i].valid.mae, b.fit.epochs[i].valid.mae);
    EXPECT_EQ(a.fit.epochs[i].train_loss, b.fit.epochs[i].train_loss);
  }
  EXPECT_NE(a.fit.epochs[0].train_loss, c.fit.epochs[0].train_loss);
}

TEST(Trainer, StepCapShortensEpochsAndSchedule) {
  test_support::SyntheticData d(150, 60);
  auto options = quick_training(2);
  options.max_steps_per_epoch = 3;
  options.patience = 0;
  TrainedRun run = train_mf(d, options);
  ASSERT_EQ(run.fit.epochs.size(), 2u);
  EXPECT_EQ(run.fit.epochs[0].samples, 3 * options.batch_size);
  EXPECT_NEAR(run.fit.epochs.back().lr, options.lr / options.div_factor / options.final_div_factor, 1e-12);
}

}  // namespace
}  // namespace mlrec::train

namespace mlrec::train {
namespace {

TEST(FusedAdamW, MatchesTorchAdamWStepForStepWithChangingLrAndBeta1) {
  torch::manual_seed(3);
  auto a = torch::randn({37, 5}, torch::requires_grad());
  auto b = a.detach().clone().requires_grad_(true);
  FusedAdamW fused({a}, 0.999, 1e-8, 0.01);
  torch::optim::AdamW reference({b}, torch::optim::AdamWOptions(0.01).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.01));
  for (int step = 0; step < 12; ++step) {
    const double lr = 0.001 * (1 + step), beta1 = 0.95 - 0.01 * step;
    auto& o = static_cast<torch::optim::AdamWOptions&>(reference.param_groups()[0].options());
    o.lr(lr);
    o.betas({beta1, 0.999});
    auto target = torch::randn({37, 5});
    fused.zero_grad();
    reference.zero_grad();
    ((a - target).square().sum()).backward();
    ((b - target).square().sum()).backward();
    fused.step(lr, beta1);
    reference.step();
    ASSERT_TRUE(torch::allclose(a, b, 1e-5, 1e-6)) << "step " << step << ": " << (a - b).abs().max().item<double>();
  }
  EXPECT_FALSE(torch::allclose(a, torch::zeros_like(a)));
}

}  // namespace
}  // namespace mlrec::train
