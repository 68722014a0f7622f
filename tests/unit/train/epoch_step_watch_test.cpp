// The steps a rate shown while training counts (train/epoch_step_watch.h).
#include "mlrec/train/epoch_step_watch.h"

#include <gtest/gtest.h>

namespace mlrec::train {
namespace {

TEST(EpochStepWatch, CountsTheStepsRunSinceTheEpochsFirst) {
  EpochStepWatch watch;
  EXPECT_TRUE(watch.starts_at(1, 0));
  for (int64_t step = 1; step < 10; ++step) EXPECT_FALSE(watch.starts_at(1, step));
  EXPECT_EQ(watch.steps_timed(9), 9);
  EXPECT_TRUE(watch.starts_at(2, 0));  // a new epoch starts over
  EXPECT_EQ(watch.steps_timed(4), 4);
}

TEST(EpochStepWatch, AResumedEpochCountsOnlyTheStepsThisProcessRan) {
  // Resumed at step 50 of epoch 2: at step 59 nine steps have run, not 59 (the progress line
  // read 3,062,139 samples/s where the epoch ran at 448k).
  EpochStepWatch watch;
  EXPECT_TRUE(watch.starts_at(2, 50));
  EXPECT_FALSE(watch.starts_at(2, 59));
  EXPECT_EQ(watch.steps_timed(59), 9);
  EXPECT_TRUE(watch.starts_at(3, 0));
}

TEST(EpochStepWatch, RestartBeginsAWindow) {
  EpochStepWatch watch;
  watch.starts_at(1, 0);
  watch.restart(20);
  EXPECT_EQ(watch.steps_timed(40), 20);
  EXPECT_FALSE(watch.starts_at(1, 40));
}

}  // namespace
}  // namespace mlrec::train
