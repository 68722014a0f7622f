#include "mlrec/data/dataset.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mlrec/common/checksum.h"
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

// The same samples materialized and gathered per batch: every batch field equal, by gather and by
// slice, and the same checksum (the data's fingerprint must not depend on data.windows).
void expect_same_batches(const RatingDataset& a, const RatingDataset& b) {
  ASSERT_EQ(a.size(), b.size());
  const auto equal = [](const Batch& x, const Batch& y) {
    EXPECT_TRUE(torch::equal(x.user, y.user));
    EXPECT_TRUE(torch::equal(x.movies, y.movies));
    EXPECT_TRUE(torch::equal(x.levels, y.levels));
    EXPECT_TRUE(torch::equal(x.pad_mask, y.pad_mask));
    EXPECT_TRUE(torch::equal(x.features, y.features));
    EXPECT_TRUE(torch::equal(x.target, y.target));
  };
  equal(a.slice(0, a.size()), b.slice(0, b.size()));
  equal(a.slice(3, 11), b.slice(3, 11));
  const auto index = torch::randperm(a.size(), torch::kInt64);
  equal(a.gather(index), b.gather(index));
  EXPECT_EQ(a.checksum(), b.checksum());
  EXPECT_TRUE(torch::equal(a.targets(), b.targets()));
}

TEST(RatingDataset, GatheredWindowsEqualMaterializedOnes) {
  for (const int length : {2, 10, 25}) {  // 25: longer than many users' histories
    test_support::SyntheticData d(40, 30, 11, length);
    const auto columns = std::make_shared<const RatingColumns>(rating_columns(d.prepared));
    for (const auto* rows : {&d.prepared.train_rows, &d.prepared.valid_rows}) {
      const auto index = torch::tensor(*rows, torch::kInt64);
      const RatingDataset materialized(columns, index, length, WindowStorage::kMaterialized);
      const RatingDataset gathered(columns, index.to(torch::kInt32), length, WindowStorage::kGathered);
      EXPECT_EQ(materialized.storage(), WindowStorage::kMaterialized);
      EXPECT_EQ(gathered.storage(), WindowStorage::kGathered);
      expect_same_batches(materialized, gathered);
      // And both as the per-row loop of prepare.h fills them (the reference).
      const RatingDataset reference(d.prepared, *rows, length);
      expect_same_batches(reference, gathered);
    }
  }
}

TEST(RatingDataset, TensorOpsBuildTheSameTableAsTheCpuLoop) {
  // What a gathered dataset runs on the GPU, compared here on the CPU with the loop it runs there.
  test_support::SyntheticData d(30, 20, 5, 6);
  const RatingColumns columns = rating_columns(d.prepared);
  const auto rows = torch::tensor(d.prepared.train_rows, torch::kInt64);
  const RatingDataset materialized(d.prepared, d.prepared.train_rows, 6);
  const auto all = materialized.slice(0, materialized.size());
  const auto table = sample_table_by_tensor_ops(columns, rows, 6);
  EXPECT_TRUE(torch::equal(table.select(1, 0), all.user));
  EXPECT_TRUE(torch::equal(table.narrow(1, 1, 6), all.movies));
  EXPECT_TRUE(torch::equal(table.narrow(1, 7, 6), all.levels));
  EXPECT_TRUE(torch::equal(table.narrow(1, 13, 6).ne(0), all.pad_mask));
  const RatingDataset gathered(std::make_shared<const RatingColumns>(columns), rows, 6, WindowStorage::kGathered);
  Crc32 crc;
  crc.add(table.data_ptr(), table.numel() * table.element_size());
  EXPECT_EQ(crc.value(), gathered.checksum());  // every column, padding included
}

}  // namespace
}  // namespace mlrec::data
