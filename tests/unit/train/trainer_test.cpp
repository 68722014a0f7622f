#include "mlrec/train/trainer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <filesystem>
#include <fstream>

#include "mlrec/models/registry.h"
#include "mlrec/train/callbacks.h"
#include "mlrec/train/profiler.h"
#include "support/temp_dir.h"
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

// train.loss=mae trains on the absolute error: on the same first step (the same model, the
// same batch) its loss is the mean absolute error, whose square is below the mean squared error
// (Jensen), and the two runs then go apart; metrics are MAE and RMSE either way.
TEST(Trainer, MaeLossTrainsOnTheAbsoluteError) {
  test_support::SyntheticData d(150, 60);
  auto options = quick_training(1);
  options.max_steps_per_epoch = 1;
  options.patience = 0;
  const TrainedRun mse = train_mf(d, options);
  options.loss = "mae";
  const TrainedRun mae = train_mf(d, options);
  const double l1 = mae.fit.epochs[0].train_loss, l2 = mse.fit.epochs[0].train_loss;
  EXPECT_LT(l1 * l1, l2);
  EXPECT_GT(l1, 0);
  options.max_steps_per_epoch = 0;
  options.epochs = 3;
  EXPECT_NE(train_mf(d, options).after.mae, [&] {
    auto o = options;
    o.loss = "mse";
    return train_mf(d, o).after.mae;
  }());
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

// Fails the run at its `at`-th step.
class FailAtStep : public Callback {
 public:
  explicit FailAtStep(int64_t at) : at_(at) {}
  void on_step_end(Trainer& trainer, int64_t, const torch::Tensor&) override {
    if (trainer.global_step() == at_) throw std::runtime_error("failing on purpose");
  }

 private:
  int64_t at_;
};

TEST(StepProfiler, ATraceThatCannotBeWrittenLeavesTrainingToFinish) {
  test_support::SyntheticData d(150, 60);
  test_support::TempDir tmp;
  const std::string blocker = tmp.file("a-file");
  std::ofstream(blocker) << "not a folder";
  config::Config::Profile profile;
  profile.steps = 2;
  profile.skip_steps = 1;
  auto options = quick_training(2);
  auto comm = dist::make_local_communicator();
  Trainer trainer(models::make_model(test_support::small_model("mf"), d.info), options, *comm, torch::Device(torch::kCPU));
  auto profiler = std::make_shared<StepProfiler>(profile, blocker + "/profile");  // cannot be created
  trainer.add_callback(profiler);
  const FitResult fit = trainer.fit(d.train, d.valid);
  EXPECT_EQ(fit.epochs.size(), 2u);
  EXPECT_EQ(profiler->written(), "");
  EXPECT_FALSE(torch::autograd::profiler::isProfilerEnabledInMainThread());
}

TEST(StepProfiler, ARunThatFailsWhileRecordingLeavesTheProfilerOff) {
  test_support::SyntheticData d(150, 60);
  test_support::TempDir tmp;
  config::Config::Profile profile;
  profile.steps = 5;
  profile.skip_steps = 0;
  auto comm = dist::make_local_communicator();
  {
    Trainer trainer(models::make_model(test_support::small_model("mf"), d.info), quick_training(1), *comm,
                    torch::Device(torch::kCPU));
    auto profiler = std::make_shared<StepProfiler>(profile, tmp.file("profile"));
    trainer.add_callback(profiler);
    trainer.add_callback(std::make_shared<FailAtStep>(2));
    EXPECT_THROW(trainer.fit(d.train, d.valid), std::runtime_error);
    EXPECT_TRUE(torch::autograd::profiler::isProfilerEnabledInMainThread());  // still recording
  }
  // The trainer, and with it the profiler callback, is gone: so is the recording, unwritten.
  EXPECT_FALSE(torch::autograd::profiler::isProfilerEnabledInMainThread());
  EXPECT_FALSE(std::filesystem::exists(tmp.file("profile")));
  // A later profile records as usual.
  Trainer trainer(models::make_model(test_support::small_model("mf"), d.info), quick_training(1), *comm,
                  torch::Device(torch::kCPU));
  profile.steps = 2;
  auto profiler = std::make_shared<StepProfiler>(profile, tmp.file("profile"));
  trainer.add_callback(profiler);
  trainer.fit(d.train, d.valid);
  EXPECT_EQ(profiler->written(), tmp.file("profile") + "/trace.rank0.json");
  std::ifstream in(profiler->written());
  EXPECT_NO_THROW(nlohmann::json::parse(in));
}

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

// The update a CUDA graph holds takes lr and beta1 from the schedule in device memory, at the
// count of steps taken, and advances that count itself. Started mid-run (a resumed run), it must
// take the steps the host-number update takes with the schedule's values (rounded to float32,
// as ATen's CUDA kernel rounds them), and leave a parameter without gradient alone. Here on the
// CPU, where the row is read on the host; Cuda.ScheduledAdamWInsideAGraphMatchesAtensFusedAdamW
// tests the kernel.
TEST(FusedAdamW, DeviceScheduleStepsAsTheHostNumbersDo) {
  torch::manual_seed(5);
  const OneCycleSchedule schedule(OneCycleOptions{0.01, 20, 0.3, 25, 1e4, true, 0.85, 0.95, 0.9});
  DeviceSchedule on_device(schedule, 20, torch::kCPU);
  for (int64_t s : {0, 6, 19}) {
    EXPECT_EQ(on_device.settings()[s][0].item<float>(), static_cast<float>(schedule.at(s).lr)) << s;
    EXPECT_EQ(on_device.settings()[s][1].item<float>(), static_cast<float>(schedule.at(s).beta1)) << s;
  }
  ASSERT_NE(schedule.at(5).beta1, schedule.at(12).beta1);  // the momentum cycles

  auto a = torch::randn({37, 5}, torch::requires_grad());
  auto b = a.detach().clone().requires_grad_(true);
  auto idle = torch::randn({4}, torch::requires_grad());
  const auto idle_before = idle.detach().clone();
  FusedAdamW scheduled({a, idle}, 0.999, 1e-8, 0.01);
  FusedAdamW host({b}, 0.999, 1e-8, 0.01);
  EXPECT_FALSE(scheduled.steps_on_device());  // the CPU reads the row on the host
  on_device.seek(5);
  for (int64_t s = 5; s < 13; ++s) {
    auto target = torch::randn({37, 5});
    scheduled.zero_grad();
    host.zero_grad();
    ((a - target).square().sum()).backward();
    ((b - target).square().sum()).backward();
    scheduled.step(on_device);
    host.step(static_cast<float>(schedule.at(s).lr), static_cast<float>(schedule.at(s).beta1));
    ASSERT_TRUE(torch::equal(a, b)) << "step " << s << ": " << (a - b).abs().max().item<double>();
  }
  EXPECT_EQ(on_device.steps_taken(), 13);
  EXPECT_TRUE(torch::equal(idle, idle_before));
  const auto state = scheduled.state();  // exp_avg/i, exp_avg_sq/i, step/i for each parameter
  EXPECT_EQ(state[2].second.item<float>(), 8.f);
  EXPECT_EQ(state[5].second.item<float>(), 0.f);
  EXPECT_THROW(on_device.seek(21), std::out_of_range);
  EXPECT_THROW(DeviceSchedule(schedule, 0, torch::kCPU), std::invalid_argument);
}


// Full ranking on a fixture small enough to rank by hand. Two users, five items, MF with one
// factor and no biases, so that the score order is the order of p_u * q_m:
//   q = (item 1: 0.5, item 2: 0.1, item 3: 0.9, item 4: 0.3, item 5: 0.7), p_1 = 1, p_2 = -1.
// User 1 rated items 1, 2, 3 in training; their held-out item is 4. Among the unrated items
// {4, 5} it comes second (0.3 < 0.7); among all items it would be fourth.
// User 2 rated items 2, 5 in training; held out: item 4. Among {1, 3, 4} (-0.5, -0.9, -0.3) it
// comes first.
namespace ranking_fixture {

data::PreparedRatings prepared() {
  data::RawRatings raw;
  const std::vector<std::pair<int32_t, int32_t>> rows = {{1, 1}, {1, 2}, {1, 3}, {1, 4}, {2, 2}, {2, 5}, {2, 4}};
  for (size_t i = 0; i < rows.size(); ++i) {
    raw.user_id.push_back(rows[i].first);
    raw.movie_id.push_back(rows[i].second);
    raw.rating.push_back(4);
    raw.timestamp.push_back(static_cast<int64_t>(100 + i));
  }
  return data::prepare_ratings(raw, data::SplitOptions{});
}

models::RatingModelPtr model(const data::DatasetInfo& info, const std::string& name) {
  auto options = test_support::small_model(name);
  options.factors = 1;
  auto model = models::make_model(options, info);
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    if (p.key() == "user.weight") p.value().copy_(torch::tensor({0.0f, 1.0f, -1.0f}).view({3, 1}));
    else if (p.key() == "item.weight") p.value().copy_(torch::tensor({0.0f, 0.5f, 0.1f, 0.9f, 0.3f, 0.7f}).view({6, 1}));
    else p.value().zero_();
  }
  return model;
}

Metrics evaluate(const std::string& model_name, int k, data::SeenRows seen) {
  const auto p = prepared();
  const auto info = data::make_dataset_info(p, 3);
  auto options = quick_training(1);
  options.ranking_k = k;
  auto comm = dist::make_local_communicator();
  Trainer trainer(model(info, model_name), options, *comm, torch::Device(torch::kCPU));
  const RankingInput ranking{data::seen_items(p, seen), info.num_movies};
  return trainer.evaluate(data::RatingDataset(p, p.valid_rows, 3), &ranking);
}

}  // namespace ranking_fixture

TEST(Ranking, HitRateAndNdcgOnAHandRankedFixture) {
  // Ranks 2 and 1: HR@1 = 1/2, NDCG@1 = (0 + 1) / 2; HR@2 = 1, NDCG@2 = (1/log2(3) + 1) / 2.
  const Metrics at1 = ranking_fixture::evaluate("mf", 1, data::SeenRows::kTraining);
  EXPECT_EQ(at1.ranking_k, 1);
  EXPECT_DOUBLE_EQ(at1.hr, 0.5);
  EXPECT_DOUBLE_EQ(at1.ndcg, 0.5);
  const Metrics at2 = ranking_fixture::evaluate("mf", 2, data::SeenRows::kTraining);
  EXPECT_DOUBLE_EQ(at2.hr, 1.0);
  EXPECT_NEAR(at2.ndcg, (1.0 / std::log2(3.0) + 1.0) / 2.0, 1e-12);
  EXPECT_EQ(at2.count, 2);
}

TEST(Ranking, ExcludesWhatTheUserRatedBefore) {
  const auto p = ranking_fixture::prepared();
  const auto seen = data::seen_items(p, data::SeenRows::kTraining);
  const auto offsets = seen.offsets.contiguous();
  const int64_t* o = offsets.data_ptr<int64_t>();
  ASSERT_EQ(seen.offsets.numel(), 4);  // users 0 (padding), 1, 2, and the end
  EXPECT_EQ(o[1], 0);
  EXPECT_EQ(o[2], 3);
  EXPECT_EQ(o[3], 5);
  EXPECT_EQ(data::seen_items(p, data::SeenRows::kAll).items.numel(), 7);
  // With nothing excluded, user 1's item ranks fourth (behind 0.9, 0.7, 0.5) and user 2's
  // second (behind item 2's -0.1): HR@2 = 1/2, NDCG@2 = 1/log2(3) / 2.
  const auto info = data::make_dataset_info(p, 3);
  auto comm = dist::make_local_communicator();
  auto options = quick_training(1);
  options.ranking_k = 2;
  Trainer trainer(ranking_fixture::model(info, "mf"), options, *comm, torch::Device(torch::kCPU));
  const RankingInput nothing_seen{{torch::zeros({4}, torch::kInt64), torch::zeros({0}, torch::kInt32)}, info.num_movies};
  const Metrics m = trainer.evaluate(data::RatingDataset(p, p.valid_rows, 3), &nothing_seen);
  EXPECT_DOUBLE_EQ(m.hr, 0.5);
  EXPECT_NEAR(m.ndcg, 1.0 / std::log2(3.0) / 2.0, 1e-12);
}

TEST(Ranking, TiesCountAgainstTheHeldOutItem) {
  // The median baseline scores every item alike: user 1's item ranks behind its one unrated
  // rival (rank 2), user 2's behind two (rank 3). HR@2 = 1/2, NDCG@2 = 1/log2(3) / 2.
  const Metrics m = ranking_fixture::evaluate("baseline", 2, data::SeenRows::kTraining);
  EXPECT_DOUBLE_EQ(m.hr, 0.5);
  EXPECT_NEAR(m.ndcg, 1.0 / std::log2(3.0) / 2.0, 1e-12);
}

}  // namespace
}  // namespace mlrec::train
