// OneCycleSchedule against golden values from the real torch.optim.lr_scheduler.OneCycleLR
// (tests/golden/make_onecycle_golden.py generates tests/golden/onecycle_golden.h), plus the
// schedule's own contract: range checks, phase endpoints, ConstantSchedule.
#include "mlrec/train/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <string>

#include "golden/onecycle_golden.h"

namespace mlrec::train {
namespace {

constexpr double kRelTol = 1e-12;

::testing::AssertionResult RelClose(double actual, double expected) {
  const double diff = std::fabs(actual - expected);
  const double scale = std::max(std::fabs(expected), 1e-300);
  if (std::isfinite(actual) && diff <= kRelTol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "actual " << actual << " vs expected " << expected
                                       << " (relative error " << diff / scale << ")";
}

OneCycleOptions options_of(const golden::OneCycleGoldenCase& g) {
  OneCycleOptions o = OneCycleOptions::from(config::Config::Train{}, 1);
  o.max_lr = g.max_lr;
  o.total_steps = g.total_steps;
  o.pct_start = g.pct_start;
  o.div_factor = g.div_factor;
  o.final_div_factor = g.final_div_factor;
  o.cycle_momentum = g.cycle_momentum;
  o.base_momentum = g.base_momentum;
  o.max_momentum = g.max_momentum;
  o.beta1 = g.beta1;
  return o;
}

// The configuration's defaults (train.*), with this peak and length.
OneCycleOptions defaults_with(double max_lr, int64_t total_steps) {
  config::Config::Train train;
  train.lr = max_lr;
  return OneCycleOptions::from(train, total_steps);
}

TEST(OneCycleScheduleTest, MatchesPyTorchOneCycleLRStepForStep) {
  ASSERT_GE(std::size(golden::kOneCycleGolden), 5u);
  for (const auto& g : golden::kOneCycleGolden) {
    SCOPED_TRACE(std::string("case ") + g.name);
    const OneCycleSchedule schedule(options_of(g));
    for (int64_t step = 0; step < g.total_steps; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      const StepSettings s = schedule.at(step);
      EXPECT_TRUE(RelClose(s.lr, g.lr[step])) << "lr";
      EXPECT_TRUE(RelClose(s.beta1, g.beta1s[step])) << "beta1";
    }
  }
}

TEST(OneCycleScheduleTest, GoldenCasesCoverTheEdgeCases) {
  // Guards against the golden header silently losing the cases the brief asks for.
  bool one = false, two = false, no_cycle = false, default_ten = false;
  for (const auto& g : golden::kOneCycleGolden) {
    one |= g.total_steps == 1;
    two |= g.total_steps == 2;
    no_cycle |= !g.cycle_momentum;
    default_ten |= g.total_steps == 10 && g.pct_start == 0.3 && g.div_factor == 25 &&
                   g.final_div_factor == 1e4 && g.base_momentum == 0.85 && g.max_momentum == 0.95;
  }
  EXPECT_TRUE(one && two && no_cycle && default_ten);
}

TEST(OneCycleScheduleTest, StepOutsideRangeThrowsOutOfRange) {
  const OneCycleSchedule schedule(defaults_with(0.01, 10));
  EXPECT_NO_THROW(schedule.at(0));
  EXPECT_NO_THROW(schedule.at(9));
  EXPECT_THROW(schedule.at(10), std::out_of_range);
  EXPECT_THROW(schedule.at(11), std::out_of_range);
  EXPECT_THROW(schedule.at(-1), std::out_of_range);

  const OneCycleSchedule single(defaults_with(0.01, 1));
  EXPECT_NO_THROW(single.at(0));
  EXPECT_THROW(single.at(1), std::out_of_range);
}

TEST(OneCycleScheduleTest, ZeroOrNegativeTotalStepsIsRejected) {
  EXPECT_THROW(OneCycleSchedule(defaults_with(0.01, 0)), std::invalid_argument);
  EXPECT_THROW(OneCycleSchedule(defaults_with(0.01, -5)), std::invalid_argument);
}

TEST(OneCycleScheduleTest, EndpointsAreInitialAndFinalLr) {
  OneCycleOptions o = defaults_with(0.003, 97);
  o.pct_start = 0.25;
  const OneCycleSchedule schedule(o);
  const double initial = o.max_lr / o.div_factor;
  EXPECT_TRUE(RelClose(schedule.at(0).lr, initial));
  EXPECT_DOUBLE_EQ(schedule.at(0).beta1, o.max_momentum);
  EXPECT_TRUE(RelClose(schedule.at(96).lr, initial / o.final_div_factor));
  EXPECT_DOUBLE_EQ(schedule.at(96).beta1, o.max_momentum);
}

TEST(OneCycleScheduleTest, PeakIsMaxLrAtStepPctStartTimesTotalMinusOne) {
  // 0.3 * 10 - 1 = 2: the warm-up ends exactly on step 2, where lr is max_lr and beta1 is the
  // base momentum; the neighbours are strictly below the peak.
  const OneCycleSchedule schedule(defaults_with(0.01, 10));
  EXPECT_DOUBLE_EQ(schedule.at(2).lr, 0.01);
  EXPECT_DOUBLE_EQ(schedule.at(2).beta1, 0.85);
  EXPECT_LT(schedule.at(1).lr, 0.01);
  EXPECT_LT(schedule.at(3).lr, 0.01);
  EXPECT_GT(schedule.at(1).beta1, 0.85);
  EXPECT_GT(schedule.at(3).beta1, 0.85);

  // pct_start 0.5 of 20 steps: peak on step 9.
  OneCycleOptions o = defaults_with(0.1, 20);
  o.pct_start = 0.5;
  const OneCycleSchedule half(o);
  int64_t argmax = 0;
  for (int64_t s = 1; s < 20; ++s) {
    if (half.at(s).lr > half.at(argmax).lr) argmax = s;
  }
  EXPECT_EQ(argmax, 9);
  EXPECT_DOUBLE_EQ(half.at(9).lr, 0.1);
}

TEST(OneCycleScheduleTest, LrRisesThenFallsAndBeta1MovesOpposite) {
  const OneCycleSchedule schedule(defaults_with(0.01, 50));  // peak at 0.3 * 50 - 1 = 14
  for (int64_t s = 1; s < 50; ++s) {
    SCOPED_TRACE("step " + std::to_string(s));
    const StepSettings prev = schedule.at(s - 1), cur = schedule.at(s);
    if (s <= 14) {
      EXPECT_GT(cur.lr, prev.lr);
      EXPECT_LT(cur.beta1, prev.beta1);
    } else {
      EXPECT_LT(cur.lr, prev.lr);
      EXPECT_GT(cur.beta1, prev.beta1);
    }
  }
}

TEST(OneCycleScheduleTest, WithoutCycleMomentumBeta1IsFixed) {
  OneCycleOptions o = defaults_with(0.01, 10);
  o.cycle_momentum = false;
  o.beta1 = 0.77;
  const OneCycleSchedule schedule(o);
  for (int64_t s = 0; s < 10; ++s) EXPECT_EQ(schedule.at(s).beta1, 0.77) << "step " << s;
  EXPECT_DOUBLE_EQ(schedule.at(2).lr, 0.01);  // the lr still cycles
}

TEST(OneCycleOptionsTest, FromTakesEveryScheduleSettingOfTheConfiguration) {
  config::Config::Train train;
  train.lr = 0.5;
  train.pct_start = 0.4;
  train.div_factor = 10;
  train.final_div_factor = 100;
  train.cycle_momentum = false;
  train.base_momentum = 0.8;
  train.max_momentum = 0.9;
  train.beta1 = 0.7;
  const OneCycleOptions o = OneCycleOptions::from(train, 33);
  EXPECT_EQ(o.max_lr, 0.5);
  EXPECT_EQ(o.total_steps, 33);
  EXPECT_EQ(o.pct_start, 0.4);
  EXPECT_EQ(o.div_factor, 10);
  EXPECT_EQ(o.final_div_factor, 100);
  EXPECT_FALSE(o.cycle_momentum);
  EXPECT_EQ(o.base_momentum, 0.8);
  EXPECT_EQ(o.max_momentum, 0.9);
  EXPECT_EQ(o.beta1, 0.7);
}

TEST(ConstantScheduleTest, ReturnsTheSameSettingsForEveryStep) {
  const ConstantSchedule schedule(0.0025, 0.88);
  for (int64_t s : {int64_t{0}, int64_t{1}, int64_t{1000}, int64_t{1} << 40}) {
    const StepSettings settings = schedule.at(s);
    EXPECT_EQ(settings.lr, 0.0025);
    EXPECT_EQ(settings.beta1, 0.88);
  }
  const Schedule& base = schedule;  // through the interface too
  EXPECT_EQ(base.at(7).lr, 0.0025);
}

}  // namespace
}  // namespace mlrec::train
