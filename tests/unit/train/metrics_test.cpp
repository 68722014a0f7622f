// Metrics from error sums and the study's early-stopping rule.
#include "mlrec/train/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace mlrec::train {
namespace {

TEST(MetricsTest, FromSumsOnAHandExample) {
  // Errors (prediction - target): 1, -2, 0.5, 0.5.
  ErrorSums sums;
  for (double e : {1.0, -2.0, 0.5, 0.5}) {
    sums.abs_error += std::fabs(e);
    sums.squared_error += e * e;
    sums.count += 1;
  }
  const Metrics m = Metrics::from(sums);
  EXPECT_EQ(m.count, 4);
  EXPECT_EQ(m.mae, 1.0);          // 4 / 4
  EXPECT_EQ(m.mse, 1.375);        // 5.5 / 4
  EXPECT_EQ(m.rmse, std::sqrt(1.375));
}

TEST(MetricsTest, SumsOfShardsGiveTheSameMetricsAsTheWhole) {
  // What ranks exchange: adding two shards' sums equals the sums of all samples.
  const ErrorSums a{3.0, 5.0, 2.0}, b{1.0, 0.5, 2.0};
  const ErrorSums whole{a.abs_error + b.abs_error, a.squared_error + b.squared_error,
                        a.count + b.count};
  const Metrics m = Metrics::from(whole);
  EXPECT_EQ(m.count, 4);
  EXPECT_EQ(m.mae, 1.0);
  EXPECT_EQ(m.mse, 1.375);
}

TEST(MetricsTest, ZeroCountGivesNaN) {
  const Metrics m = Metrics::from(ErrorSums{});
  EXPECT_EQ(m.count, 0);
  EXPECT_TRUE(std::isnan(m.mae));
  EXPECT_TRUE(std::isnan(m.mse));
  EXPECT_TRUE(std::isnan(m.rmse));

  // Sums without a count are still no metrics (no division by zero into inf).
  const Metrics odd = Metrics::from(ErrorSums{2.0, 3.0, 0.0});
  EXPECT_TRUE(std::isnan(odd.mae));
  EXPECT_TRUE(std::isnan(odd.rmse));
}

// Feeds maes to a fresh EarlyStopping; returns the 1-based epoch at which it said stop, or 0.
int stop_epoch(int patience, double threshold, const std::vector<double>& maes) {
  EarlyStopping es(patience, threshold);
  for (size_t i = 0; i < maes.size(); ++i) {
    if (es.update(maes[i])) return static_cast<int>(i) + 1;
  }
  return 0;
}

TEST(EarlyStoppingTest, FirstEpochNeverStopsAndSetsTheBest) {
  EarlyStopping es(1, 0.001);
  EXPECT_FALSE(es.update(5.0));
  EXPECT_EQ(es.stale_epochs(), 0);
  EXPECT_TRUE(es.update(5.0));  // no better than the first: stale, patience 1 reached
}

TEST(EarlyStoppingTest, SmallImprovementsBelowThresholdAreStale) {
  EarlyStopping es(2, 0.001);
  EXPECT_FALSE(es.update(1.0));
  EXPECT_FALSE(es.update(0.9995));  // better by 0.0005 < threshold: stale 1
  EXPECT_EQ(es.stale_epochs(), 1);
  EXPECT_TRUE(es.update(0.9992));   // better by 0.0008 than the best (1.0): stale 2, stop
  EXPECT_EQ(es.stale_epochs(), 2);
}

TEST(EarlyStoppingTest, BestMovesOnlyOnARealImprovement) {
  // 0.9989 is only 0.0006 below the previous epoch but 0.0011 below the best (1.0): it counts
  // as an improvement because the best did not move to 0.9995.
  EarlyStopping es(2, 0.001);
  EXPECT_FALSE(es.update(1.0));
  EXPECT_FALSE(es.update(0.9995));
  EXPECT_EQ(es.stale_epochs(), 1);
  EXPECT_FALSE(es.update(0.9989));
  EXPECT_EQ(es.stale_epochs(), 0);
  // The best is now 0.9989: 0.9982 is 0.0007 below it, stale.
  EXPECT_FALSE(es.update(0.9982));
  EXPECT_EQ(es.stale_epochs(), 1);
}

TEST(EarlyStoppingTest, PatienceTwoStopsAtTheRightEpochOnAHandSequence) {
  // epoch 1: best 1.0; 2: stale 1; 3: -0.0015 improves (best 0.9985); 4: stale 1;
  // 5: stale 2 (0.0006 below the best) -> stop at epoch 5.
  EXPECT_EQ(stop_epoch(2, 0.001, {1.0, 0.9995, 0.9985, 0.998, 0.9979, 0.5}), 5);
  // Worse epochs are stale too.
  EXPECT_EQ(stop_epoch(2, 0.001, {1.0, 1.1, 1.2, 0.5}), 3);
  // A stale epoch between real improvements does not accumulate.
  EXPECT_EQ(stop_epoch(2, 0.001, {1.0, 1.0, 0.9, 0.9, 0.8, 0.8, 0.7}), 0);
}

TEST(EarlyStoppingTest, ImprovementMustExceedTheThresholdStrictly) {
  // best - mae == threshold is not an improvement. Dyadic values keep the subtraction exact.
  EarlyStopping es(1, 0.25);
  EXPECT_FALSE(es.update(1.0));
  EXPECT_TRUE(es.update(0.75));
  EarlyStopping better(1, 0.25);
  EXPECT_FALSE(better.update(1.0));
  EXPECT_FALSE(better.update(0.5));
}

TEST(EarlyStoppingTest, NaNAfterAFiniteBestIsStale) {
  EarlyStopping es(2, 0.001);
  EXPECT_FALSE(es.update(1.0));
  EXPECT_FALSE(es.update(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(es.stale_epochs(), 1);
  EXPECT_FALSE(es.update(0.5));  // the best is still 1.0, so this is a real improvement
  EXPECT_EQ(es.stale_epochs(), 0);
}

TEST(EarlyStoppingTest, PatienceZeroNeverStops) {
  EarlyStopping es(0, 0.001);
  EXPECT_FALSE(es.update(1.0));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(es.update(2.0 + i));
  EXPECT_EQ(es.stale_epochs(), 100);  // it still counts, it just never stops
}

}  // namespace
}  // namespace mlrec::train
