#include "mlrec/distributed/sampler.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "mlrec/common/error.h"

namespace mlrec::dist {
namespace {

// All ranks' samplers can be built in one process: the permutation depends only on the seed
// and the epoch, so this checks what N ranks would see.
TEST(DistributedSampler, ShardsCoverEachSampleAtMostOnceWithEqualSteps) {
  const int64_t n = 1000, global = 96;
  for (int world : {1, 2, 3}) {
    std::set<int64_t> seen;
    int64_t steps = -1;
    for (int rank = 0; rank < world; ++rank) {
      DistributedSampler s(n, global, rank, world, 42);
      if (steps >= 0) EXPECT_EQ(s.steps_per_epoch(), steps);
      steps = s.steps_per_epoch();
      auto idx = s.epoch_indices(1);
      ASSERT_EQ(idx.numel(), s.steps_per_epoch() * s.local_batch());
      for (int64_t i = 0; i < idx.numel(); ++i) {
        const int64_t v = idx[i].item<int64_t>();
        ASSERT_GE(v, 0);
        ASSERT_LT(v, n);
        EXPECT_TRUE(seen.insert(v).second) << "sample " << v << " twice, world " << world;
      }
    }
    EXPECT_EQ(steps, n / global);
    EXPECT_EQ(int64_t(seen.size()), (n / global) * global);  // only the last partial batch is left out
  }
}

TEST(DistributedSampler, EpochsShuffleDifferentlyAndSeedsReproduce) {
  DistributedSampler a(500, 50, 0, 1, 7), b(500, 50, 0, 1, 7), c(500, 50, 0, 1, 8);
  EXPECT_TRUE(torch::equal(a.epoch_indices(1), b.epoch_indices(1)));
  EXPECT_FALSE(torch::equal(a.epoch_indices(1), a.epoch_indices(2)));
  EXPECT_FALSE(torch::equal(a.epoch_indices(1), c.epoch_indices(1)));
}

TEST(DistributedSampler, NRanksTogetherTakeTheOneRankBatches) {
  // Step s of the 1-rank run and step s of the 2-rank run use the same global batch.
  DistributedSampler one(400, 40, 0, 1, 3), r0(400, 40, 0, 2, 3), r1(400, 40, 1, 2, 3);
  auto all = one.epoch_indices(2), a = r0.epoch_indices(2), b = r1.epoch_indices(2);
  for (int64_t step = 0; step < one.steps_per_epoch(); ++step) {
    auto expected = all.narrow(0, step * 40, 40);
    auto got = torch::cat({a.narrow(0, step * 20, 20), b.narrow(0, step * 20, 20)});
    EXPECT_TRUE(torch::equal(expected, got)) << "step " << step;
  }
}

TEST(DistributedSampler, CapsStepsAndRejectsBadBatches) {
  EXPECT_EQ(DistributedSampler(1000, 10, 0, 1, 1, 7).steps_per_epoch(), 7);
  try {
    DistributedSampler(1000, 10, 0, 3, 1);
    FAIL() << "batch 10 over 3 ranks accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.batch_size"), std::string::npos);
  }
  EXPECT_THROW(DistributedSampler(10, 11, 0, 1, 1), ConfigError);
}

TEST(EvaluationShard, CoversEverySampleExactlyOnce) {
  for (int64_t n : {0, 1, 5, 6040, 6041}) {
    for (int world : {1, 2, 3, 4}) {
      int64_t expected_begin = 0;
      for (int rank = 0; rank < world; ++rank) {
        Shard s = evaluation_shard(n, rank, world);
        EXPECT_EQ(s.begin, expected_begin);
        EXPECT_LE(s.end - s.begin, n / world + 1);
        expected_begin = s.end;
      }
      EXPECT_EQ(expected_begin, n);
    }
  }
}

}  // namespace
}  // namespace mlrec::dist
