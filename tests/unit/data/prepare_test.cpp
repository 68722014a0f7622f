// Encoding, time order with ties, the leave-last-out split and history windows, on hand-checkable
// rating sets, plus a randomized comparison against a naive stable sort.
#include "mlrec/data/prepare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

#include "mlrec/common/error.h"
#include "mlrec/data/movielens.h"
#include "support/temp_dir.h"

namespace mlrec::data {
namespace {

struct Row {
  int32_t user, movie;
  float rating;
  int64_t timestamp;
};

RawRatings make_raw(const std::vector<Row>& rows, Release release = Release::kMovieLens1M) {
  RawRatings raw;
  raw.release = release;
  raw.scale = scale_of(release);
  for (const Row& r : rows) {
    raw.user_id.push_back(r.user);
    raw.movie_id.push_back(r.movie);
    raw.rating.push_back(r.rating);
    raw.timestamp.push_back(r.timestamp);
  }
  return raw;
}

// Dense movie ids of one user's rows, in prepared order.
std::vector<int32_t> raw_movies_of(const PreparedRatings& p, int32_t user) {
  std::vector<int32_t> out;
  for (int64_t r = p.user_start[user]; r < p.user_start[user + 1]; ++r) {
    out.push_back(p.raw_movie[p.movie[r]]);
  }
  return out;
}

TEST(DenseCodesTest, CompactAndSparseIds) {
  DenseCodes compact = dense_codes({7, 3, 7, 10});
  EXPECT_EQ(compact.ids, (std::vector<int32_t>{3, 7, 10}));
  EXPECT_EQ(compact.code, (std::vector<int32_t>{1, 0, 1, 2}));
  // A range far wider than the data takes the sorting path; results must be the same shape.
  DenseCodes sparse = dense_codes({2000000000, -5, 7, -5, std::numeric_limits<int32_t>::min()});
  EXPECT_EQ(sparse.ids, (std::vector<int32_t>{std::numeric_limits<int32_t>::min(), -5, 7, 2000000000}));
  EXPECT_EQ(sparse.code, (std::vector<int32_t>{3, 1, 2, 1, 0}));
  EXPECT_TRUE(dense_codes({}).ids.empty());
}

TEST(PrepareTest, DenseIdsFollowSortedRawIds) {
  // Raw users 10, 3, 7 and movies 100, 5, 42 appear out of order.
  RawRatings raw = make_raw({{10, 100, 4, 1}, {3, 5, 3, 2}, {7, 42, 5, 3}, {10, 5, 2, 4}});
  PreparedRatings p = prepare_ratings(raw, SplitOptions{0, 0});
  EXPECT_EQ(p.num_users, 3);
  EXPECT_EQ(p.num_movies, 3);
  EXPECT_EQ(p.raw_user, (std::vector<int32_t>{0, 3, 7, 10}));
  EXPECT_EQ(p.raw_movie, (std::vector<int32_t>{0, 5, 42, 100}));
  // Rows: user 3 (dense 1), user 7 (dense 2), user 10 (dense 3) in time order.
  EXPECT_EQ(p.user, (std::vector<int32_t>{1, 2, 3, 3}));
  EXPECT_EQ(p.movie, (std::vector<int32_t>{1, 2, 3, 1}));
  EXPECT_EQ(p.rating, (std::vector<float>{3, 5, 4, 2}));
  EXPECT_EQ(p.rating_level, (std::vector<int32_t>{3, 5, 4, 2}));
  EXPECT_EQ(p.timestamp, (std::vector<int64_t>{2, 3, 1, 4}));
  EXPECT_EQ(p.user_start, (std::vector<int64_t>{0, 0, 1, 2, 4}));
  EXPECT_EQ(p.is_valid, (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_EQ(p.train_rows, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_TRUE(p.valid_rows.empty());
  // No features in this raw set: all zero, one slot per dense user plus padding.
  EXPECT_FALSE(p.has_user_features);
  EXPECT_EQ(p.sex, (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(p.age_group.size(), 4u);
  EXPECT_EQ(p.occupation.size(), 4u);
}

TEST(PrepareTest, EqualTimestampsKeepFileOrder) {
  // User 1 in file order: A@5, B@3, C@5, D@3  ->  B, D (t=3, file order), A, C (t=5).
  RawRatings raw = make_raw({{1, 1, 1, 5}, {1, 2, 2, 3}, {2, 9, 5, 1}, {1, 3, 3, 5}, {1, 4, 4, 3}});
  PreparedRatings p = prepare_ratings(raw, SplitOptions{});
  EXPECT_EQ(raw_movies_of(p, 1), (std::vector<int32_t>{2, 4, 1, 3}));
  EXPECT_EQ(p.timestamp, (std::vector<int64_t>{3, 3, 5, 5, 1}));
  // The last rating in (time, file) order, movie 3, is the one held out; user 2 has a single
  // rating, which stays in training.
  EXPECT_EQ(p.is_valid, (std::vector<uint8_t>{0, 0, 0, 1, 0}));
  EXPECT_EQ(p.valid_rows, (std::vector<int64_t>{3}));
  EXPECT_EQ(p.train_rows, (std::vector<int64_t>{0, 1, 2, 4}));

  // Swapping the two t=5 lines in the file swaps which one is held out.
  RawRatings swapped = make_raw({{1, 3, 3, 5}, {1, 2, 2, 3}, {2, 9, 5, 1}, {1, 1, 1, 5}, {1, 4, 4, 3}});
  PreparedRatings q = prepare_ratings(swapped, SplitOptions{});
  EXPECT_EQ(raw_movies_of(q, 1), (std::vector<int32_t>{2, 4, 3, 1}));
  EXPECT_EQ(q.raw_movie[q.movie[q.valid_rows[0]]], 1);
}

TEST(PrepareTest, TwoValidationRowsPerUser) {
  RawRatings raw = make_raw({
      {1, 1, 1, 10}, {1, 2, 2, 20}, {1, 3, 3, 30},  // 3 ratings: 2 held out
      {2, 1, 4, 10}, {2, 2, 5, 20},                 // 2 ratings: too few, all training
      {3, 3, 2, 40}, {3, 2, 3, 30}, {3, 1, 4, 20}, {3, 4, 5, 10},
  });
  PreparedRatings p = prepare_ratings(raw, SplitOptions{2, 0});
  EXPECT_EQ(p.is_valid, (std::vector<uint8_t>{0, 1, 1, 0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(p.valid_rows, (std::vector<int64_t>{1, 2, 7, 8}));
  EXPECT_EQ(p.train_rows, (std::vector<int64_t>{0, 3, 4, 5, 6}));
  EXPECT_EQ(raw_movies_of(p, 3), (std::vector<int32_t>{4, 1, 2, 3}));
  EXPECT_EQ(p.rating[p.valid_rows[3]], 2);
}

TEST(PrepareTest, DropsSparseUsersBeforeEncoding) {
  // User 5 has one rating, on movie 77 that nobody else rated: both disappear.
  RawRatings raw = make_raw({{5, 77, 3, 1}, {2, 10, 4, 1}, {2, 20, 5, 2}, {9, 20, 1, 3}, {9, 30, 2, 4}});
  raw.has_user_features = true;
  raw.user_features[2] = UserFeatures{1, 3, 12};
  raw.user_features[5] = UserFeatures{0, 1, 1};
  raw.user_features[9] = UserFeatures{0, 6, 20};
  PreparedRatings p = prepare_ratings(raw, SplitOptions{1, 2});
  EXPECT_EQ(p.num_users, 2);
  EXPECT_EQ(p.raw_user, (std::vector<int32_t>{0, 2, 9}));
  EXPECT_EQ(p.num_movies, 3);
  EXPECT_EQ(p.raw_movie, (std::vector<int32_t>{0, 10, 20, 30}));
  EXPECT_EQ(p.size(), 4);
  EXPECT_EQ(p.movie, (std::vector<int32_t>{1, 2, 2, 3}));
  EXPECT_EQ(p.valid_rows, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(p.user_start, (std::vector<int64_t>{0, 0, 2, 4}));
  EXPECT_TRUE(p.has_user_features);
  EXPECT_EQ(p.sex, (std::vector<int32_t>{0, 1, 0}));
  EXPECT_EQ(p.age_group, (std::vector<int32_t>{0, 3, 6}));
  EXPECT_EQ(p.occupation, (std::vector<int32_t>{0, 12, 20}));

  // With the threshold at 1, nobody is dropped.
  EXPECT_EQ(prepare_ratings(raw, SplitOptions{1, 1}).num_users, 3);
}

TEST(PrepareTest, HalfStarLevels) {
  RawRatings raw = make_raw({{1, 1, 0.5f, 1}, {1, 2, 3.5f, 2}, {1, 3, 5.0f, 3}, {1, 4, 1.0f, 4}},
                            Release::kMovieLensCsv);
  PreparedRatings p = prepare_ratings(raw, SplitOptions{});
  EXPECT_EQ(p.rating_level, (std::vector<int32_t>{1, 7, 10, 2}));
  EXPECT_EQ(p.scale.num_levels(), 10);
}

TEST(PrepareTest, RejectsNegativeOptions) {
  RawRatings raw = make_raw({{1, 1, 1, 1}});
  EXPECT_THROW(prepare_ratings(raw, SplitOptions{-1, 0}), ConfigError);
  EXPECT_THROW(prepare_ratings(raw, SplitOptions{1, -2}), ConfigError);
}

TEST(PrepareTest, ReadsFeaturesFromFiles) {
  test_support::TempDir dir;
  test_support::write_file(dir.file("ratings.dat"), "8::1::5::3\n8::2::4::3\n4::2::1::9\n");
  test_support::write_file(dir.file("users.dat"), "4::M::45::7::1\n8::F::18::20::2\n9::M::1::0::3\n");
  test_support::write_file(dir.file("movies.dat"), "1::A::Drama\n2::B::Drama\n3::C::Drama\n");
  PreparedRatings p = prepare_ratings(load_movielens(dir.path()), SplitOptions{});
  EXPECT_EQ(p.raw_user, (std::vector<int32_t>{0, 4, 8}));
  EXPECT_EQ(p.sex, (std::vector<int32_t>{0, 1, 0}));
  EXPECT_EQ(p.age_group, (std::vector<int32_t>{0, 4, 1}));
  EXPECT_EQ(p.occupation, (std::vector<int32_t>{0, 7, 20}));
  EXPECT_EQ(p.num_movies, 2);
  EXPECT_EQ(p.valid_rows, (std::vector<int64_t>{2}));  // user 8's second line (tie at t=3)
  EXPECT_EQ(p.raw_movie[p.movie[2]], 2);
}

TEST(FillWindowsTest, LeftPaddedWindowsWithLevels) {
  // User 1: movies 11, 12, 13 rated 1, 2, 3; user 2: movies 14..18 rated 5, 4, 3, 2, 1.
  RawRatings raw = make_raw({{1, 11, 1, 1}, {1, 12, 2, 2}, {1, 13, 3, 3}, {2, 14, 5, 1},
                             {2, 15, 4, 2}, {2, 16, 3, 3}, {2, 17, 2, 4}, {2, 18, 1, 5}});
  PreparedRatings p = prepare_ratings(raw, SplitOptions{});
  // Dense movie ids are raw - 10 here.
  const int L = 4;
  std::vector<int64_t> rows = {0, 2, 3, 7};
  std::vector<int32_t> movies(rows.size() * L, -1), levels(rows.size() * L, -1);
  std::vector<uint8_t> pad(rows.size() * L, 9);
  fill_windows(p, rows, L, movies.data(), levels.data(), pad.data());
  EXPECT_EQ(movies, (std::vector<int32_t>{0, 0, 0, 1,   // user 1's first rating
                                          0, 1, 2, 3,   // user 1's last: one pad
                                          0, 0, 0, 4,   // user 2's first: nothing of user 1
                                          5, 6, 7, 8}));
  EXPECT_EQ(levels, (std::vector<int32_t>{0, 0, 0, 1,  //
                                          0, 1, 2, 3,  //
                                          0, 0, 0, 5,  //
                                          4, 3, 2, 1}));
  EXPECT_EQ(pad, (std::vector<uint8_t>{1, 1, 1, 0,  //
                                       1, 0, 0, 0,  //
                                       1, 1, 1, 0,  //
                                       0, 0, 0, 0}));
  // Length 1 is just the target.
  std::vector<int32_t> m1(2), l1(2);
  std::vector<uint8_t> p1(2);
  fill_windows(p, {1, 6}, 1, m1.data(), l1.data(), p1.data());
  EXPECT_EQ(m1, (std::vector<int32_t>{2, 7}));
  EXPECT_EQ(l1, (std::vector<int32_t>{2, 2}));
  EXPECT_EQ(p1, (std::vector<uint8_t>{0, 0}));
}

TEST(FillWindowsTest, WindowsFollowTimeOrderNotFileOrder) {
  RawRatings raw = make_raw({{1, 3, 3, 30}, {1, 1, 1, 10}, {1, 2, 2, 20}});
  PreparedRatings p = prepare_ratings(raw, SplitOptions{});
  std::vector<int32_t> movies(3), levels(3);
  std::vector<uint8_t> pad(3);
  fill_windows(p, p.valid_rows, 3, movies.data(), levels.data(), pad.data());
  EXPECT_EQ(movies, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(levels, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(pad, (std::vector<uint8_t>{0, 0, 0}));
}

// Randomized check of the fast (radix) and fallback (wide timestamps) orderings against a naive
// stable sort by (user, timestamp).
void check_against_naive(int64_t ts_lo, int64_t ts_hi, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<Row> rows;
  for (int i = 0; i < 3000; ++i) {
    const int32_t user = static_cast<int32_t>(gen() % 40) * 1000 + 17;  // sparse raw ids
    const int32_t movie = static_cast<int32_t>(gen() % 300);
    // Few distinct timestamps, so ties are everywhere.
    const int64_t t = (gen() % 4 == 0) ? ts_lo : (gen() % 2 ? ts_hi : ts_lo + static_cast<int64_t>(gen() % 7));
    rows.push_back({user, movie, static_cast<float>(gen() % 5 + 1), t});
  }
  RawRatings raw = make_raw(rows);
  PreparedRatings p = prepare_ratings(raw, SplitOptions{3, 60});

  std::vector<int32_t> per_user_count(40000, 0);
  for (const Row& r : rows) ++per_user_count[r.user];
  std::vector<size_t> naive;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (per_user_count[rows[i].user] >= 60) naive.push_back(i);
  }
  std::stable_sort(naive.begin(), naive.end(), [&](size_t a, size_t b) {
    return std::tie(rows[a].user, rows[a].timestamp) < std::tie(rows[b].user, rows[b].timestamp);
  });
  ASSERT_EQ(static_cast<size_t>(p.size()), naive.size());
  for (size_t r = 0; r < naive.size(); ++r) {
    const Row& want = rows[naive[r]];
    ASSERT_EQ(p.raw_user[p.user[r]], want.user) << "row " << r;
    ASSERT_EQ(p.raw_movie[p.movie[r]], want.movie) << "row " << r;
    ASSERT_EQ(p.timestamp[r], want.timestamp) << "row " << r;
    ASSERT_EQ(p.rating[r], want.rating) << "row " << r;
  }
  int64_t valid = 0;
  for (int32_t u = 1; u <= p.num_users; ++u) {
    const int64_t end = p.user_start[u + 1];
    for (int64_t r = p.user_start[u]; r < end; ++r) {
      EXPECT_EQ(p.is_valid[r], r >= end - 3 ? 1 : 0);
      EXPECT_EQ(p.user[r], u);
    }
    valid += 3;
  }
  EXPECT_EQ(static_cast<int64_t>(p.valid_rows.size()), valid);
  EXPECT_EQ(p.train_rows.size() + p.valid_rows.size(), naive.size());
  EXPECT_TRUE(std::is_sorted(p.train_rows.begin(), p.train_rows.end()));
}

TEST(PrepareTest, MatchesNaiveStableSort) { check_against_naive(978300000, 978300100, 1); }

TEST(PrepareTest, MatchesNaiveStableSortWithWideTimestamps) {
  // A span of ~2^63 does not pack into 64 bits with the user and index: the fallback path.
  check_against_naive(std::numeric_limits<int64_t>::min() / 2 - 5,
                      std::numeric_limits<int64_t>::max() / 2, 2);
}

}  // namespace
}  // namespace mlrec::data
