#include "mlrec/data/dataset.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/synthetic_fixture.h"

namespace mlrec::data {
namespace {

TEST(RatingDataset, HoldsOneSamplePerRowWithItsWindowAndFeatures) {
  test_support::SyntheticData d(40, 30);
  const auto& p = d.prepared;
  ASSERT_EQ(d.train.size(), int64_t(p.train_rows.size()));
  ASSERT_EQ(d.valid.size(), int64_t(p.valid_rows.size()));
  EXPECT_EQ(d.valid.size(), p.num_users);  // one held-out rating per user

  auto batch = d.valid.slice(0, d.valid.size());
  for (int64_t i = 0; i < d.valid.size(); ++i) {
    const int64_t row = p.valid_rows[i];
    EXPECT_EQ(batch.user[i].item<int64_t>(), p.user[row]);
    EXPECT_FLOAT_EQ(batch.target[i].item<float>(), p.rating[row]);
    // the window ends at the target movie
    EXPECT_EQ(batch.movies[i][9].item<int32_t>(), p.movie[row]);
    EXPECT_EQ(batch.levels[i][9].item<int32_t>(), p.rating_level[row]);
    EXPECT_FALSE(batch.pad_mask[i][9].item<bool>());
    EXPECT_EQ(batch.features[i][0].item<int64_t>(), p.sex[p.user[row]]);
    EXPECT_EQ(batch.features[i][1].item<int64_t>(), p.age_group[p.user[row]]);
    EXPECT_EQ(batch.features[i][2].item<int64_t>(), p.occupation[p.user[row]]);
  }
}

TEST(RatingDataset, GatherByIndexEqualsSliceInThatOrder) {
  test_support::SyntheticData d(30, 20);
  auto index = torch::tensor({5, 0, 17, 3}, torch::kInt64);
  auto gathered = d.train.gather(index);
  for (int64_t k = 0; k < 4; ++k) {
    const int64_t i = index[k].item<int64_t>();
    auto one = d.train.slice(i, i + 1);
    EXPECT_TRUE(torch::equal(gathered.movies[k], one.movies[0]));
    EXPECT_TRUE(torch::equal(gathered.levels[k], one.levels[0]));
    EXPECT_TRUE(torch::equal(gathered.pad_mask[k], one.pad_mask[0]));
    EXPECT_TRUE(torch::equal(gathered.features[k], one.features[0]));
    EXPECT_EQ(gathered.user[k].item<int64_t>(), one.user[0].item<int64_t>());
    EXPECT_EQ(gathered.target[k].item<float>(), one.target[0].item<float>());
  }
}

TEST(RatingDataset, PaddedPositionsHaveMovieAndLevelZero) {
  test_support::SyntheticData d(30, 20);
  auto all = d.train.slice(0, d.train.size());
  auto padded = all.pad_mask;
  ASSERT_GT(padded.sum().item<int64_t>(), 0);  // every user's first ratings are padded
  EXPECT_EQ(all.movies.masked_select(padded).abs().sum().item<int64_t>(), 0);
  EXPECT_EQ(all.levels.masked_select(padded).abs().sum().item<int64_t>(), 0);
  EXPECT_EQ(all.movies.masked_select(padded.logical_not()).min().item<int32_t>() > 0, true);
}

TEST(DatasetInfo, FollowsTheReleaseScale) {
  test_support::SyntheticData csv(30, 20, 3, 10, Release::kMovieLensCsv);
  EXPECT_EQ(csv.info.num_rating_levels, 10);
  EXPECT_FALSE(csv.info.has_user_features);
  EXPECT_FLOAT_EQ(csv.info.rating_min, 0.5f);
  test_support::SyntheticData m1(30, 20);
  EXPECT_EQ(m1.info.num_rating_levels, 5);
  EXPECT_TRUE(m1.info.has_user_features);
}

}  // namespace
}  // namespace mlrec::data
