// Encoding, time order with ties, the leave-last-out validation/test split and history windows, on
// hand-checkable rating sets, plus a randomized comparison against a naive stable sort.
#include "mlrec/data/prepare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
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

// Training, validation and test rows are disjoint, ascending, cover every row exactly once and
// agree with the is_valid / is_test flags.
void expect_partition(const PreparedRatings& p) {
  const size_t n = static_cast<size_t>(p.size());
  ASSERT_EQ(p.is_valid.size(), n);
  ASSERT_EQ(p.is_test.size(), n);
  std::vector<int> seen(n, 0);
  auto mark = [&](const std::vector<int64_t>& rows, int tag) {
    EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
    for (int64_t r : rows) {
      ASSERT_TRUE(r >= 0 && static_cast<size_t>(r) < n) << "row " << r;
      EXPECT_EQ(seen[static_cast<size_t>(r)], 0) << "row " << r << " in two sets";
      seen[static_cast<size_t>(r)] = tag;
    }
  };
  mark(p.train_rows, 1);
  mark(p.valid_rows, 2);
  mark(p.test_rows, 3);
  for (size_t r = 0; r < n; ++r) {
    EXPECT_NE(seen[r], 0) << "row " << r << " in no set";
    EXPECT_EQ(p.is_valid[r], seen[r] == 2 ? 1 : 0) << "row " << r;
    EXPECT_EQ(p.is_test[r], seen[r] == 3 ? 1 : 0) << "row " << r;
  }
  EXPECT_EQ(p.train_rows.size() + p.valid_rows.size() + p.test_rows.size(), n);
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
  // Above every user's count, everyone: the key is named, with the largest count.
  try {
    prepare_ratings(raw, SplitOptions{1, 3});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("data.min_ratings_per_user"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("drops every user: the most ratings a user has is 2"), std::string::npos)
        << e.what();
  }
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

TEST(PrepareTest, RejectsNegativeTestPerUser) {
  RawRatings raw = make_raw({{1, 1, 1, 1}, {1, 2, 2, 2}});
  SplitOptions options;
  options.test_per_user = -1;
  try {
    prepare_ratings(raw, options);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("data.test_per_user"), std::string::npos) << e.what();
  }
}

TEST(PrepareTest, TestSetIsLastRatingValidationTheOneBefore) {
  // User 1 in file order: m1@5, m2@3, m3@5, m4@3  ->  m2, m4 (t=3), m1, m3 (t=5, file order):
  // test m3, validation m1. User 2: m9@1, m8@2, m7@2  ->  test m7 (later in the file), validation
  // m8. User 3 has 2 ratings, fewer than valid + test + 1 = 3: all training.
  RawRatings raw = make_raw({{1, 1, 1, 5}, {1, 2, 2, 3}, {2, 9, 5, 1}, {1, 3, 3, 5}, {3, 5, 1, 7},
                             {2, 8, 4, 2}, {1, 4, 4, 3}, {2, 7, 3, 2}, {3, 6, 2, 8}});
  SplitOptions options;
  options.valid_per_user = 1;
  options.test_per_user = 1;
  PreparedRatings p = prepare_ratings(raw, options);
  // Every raw movie 1..9 occurs, so dense ids equal raw ones.
  EXPECT_EQ(p.movie, (std::vector<int32_t>{2, 4, 1, 3, 9, 8, 7, 5, 6}));
  EXPECT_EQ(p.is_test, (std::vector<uint8_t>{0, 0, 0, 1, 0, 0, 1, 0, 0}));
  EXPECT_EQ(p.is_valid, (std::vector<uint8_t>{0, 0, 1, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(p.test_rows, (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(p.valid_rows, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(p.train_rows, (std::vector<int64_t>{0, 1, 4, 7, 8}));
  expect_partition(p);

  // A test row's window holds the user's history up to it, validation rating included.
  std::vector<int32_t> movies(2 * 3), levels(2 * 3);
  std::vector<uint8_t> pad(2 * 3);
  fill_windows(p, p.test_rows, 3, movies.data(), levels.data(), pad.data());
  EXPECT_EQ(movies, (std::vector<int32_t>{4, 1, 3, 9, 8, 7}));
  EXPECT_EQ(levels, (std::vector<int32_t>{4, 1, 3, 5, 4, 3}));
  EXPECT_EQ(pad, (std::vector<uint8_t>(6, 0)));

  // Swapping user 2's two t=2 lines in the file swaps test and validation.
  std::swap(raw.movie_id[5], raw.movie_id[7]);
  std::swap(raw.rating[5], raw.rating[7]);
  PreparedRatings q = prepare_ratings(raw, options);
  EXPECT_EQ(q.raw_movie[q.movie[q.test_rows[1]]], 8);
  EXPECT_EQ(q.raw_movie[q.movie[q.valid_rows[1]]], 7);
}

TEST(PrepareTest, ZeroTestPerUserIsTodaysSplit) {
  RawRatings raw = make_raw({
      {1, 1, 1, 10}, {1, 2, 2, 20}, {1, 3, 3, 30},
      {2, 1, 4, 10}, {2, 2, 5, 20},
      {3, 3, 2, 40}, {3, 2, 3, 30}, {3, 1, 4, 20}, {3, 4, 5, 10},
  });
  for (int valid : {0, 1, 2}) {
    SplitOptions options;
    options.valid_per_user = valid;
    options.test_per_user = 0;
    PreparedRatings p = prepare_ratings(raw, options);
    PreparedRatings today = prepare_ratings(raw, SplitOptions{valid, 0});
    EXPECT_TRUE(p.test_rows.empty());
    EXPECT_EQ(p.is_test, std::vector<uint8_t>(9, 0));
    EXPECT_EQ(p.is_valid, today.is_valid);
    EXPECT_EQ(p.valid_rows, today.valid_rows);
    EXPECT_EQ(p.train_rows, today.train_rows);
    EXPECT_EQ(p.movie, today.movie);
    expect_partition(p);
  }
  // The defaults hold out each user's last rating for validation and nothing for test.
  PreparedRatings d = prepare_ratings(raw, SplitOptions{});
  EXPECT_EQ(SplitOptions{}.test_per_user, 0);
  EXPECT_EQ(d.is_valid, (std::vector<uint8_t>{0, 0, 1, 0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(d.valid_rows, (std::vector<int64_t>{2, 4, 8}));
  EXPECT_TRUE(d.test_rows.empty());
}

TEST(PrepareTest, TwoValidationRowsBeforeOneTestRow) {
  RawRatings raw = make_raw({
      // User 1, 5 ratings: m2@10, m4@20, m5@30, m3@40, m1@50 in time order.
      {1, 1, 1, 50}, {1, 2, 2, 10}, {1, 3, 3, 40}, {1, 4, 4, 20}, {1, 5, 5, 30},
      // User 2, 3 ratings = valid + test: too few, all training.
      {2, 1, 4, 3}, {2, 2, 5, 2}, {2, 3, 1, 1},
      // User 3, 4 ratings = valid + test + 1: the minimum that holds out.
      {3, 4, 2, 4}, {3, 3, 3, 3}, {3, 2, 4, 2}, {3, 1, 5, 1},
  });
  SplitOptions options;
  options.valid_per_user = 2;
  options.test_per_user = 1;
  PreparedRatings p = prepare_ratings(raw, options);
  EXPECT_EQ(raw_movies_of(p, 1), (std::vector<int32_t>{2, 4, 5, 3, 1}));
  EXPECT_EQ(raw_movies_of(p, 2), (std::vector<int32_t>{3, 2, 1}));
  EXPECT_EQ(raw_movies_of(p, 3), (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(p.is_test, (std::vector<uint8_t>{0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(p.is_valid, (std::vector<uint8_t>{0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0}));
  EXPECT_EQ(p.test_rows, (std::vector<int64_t>{4, 11}));
  EXPECT_EQ(p.valid_rows, (std::vector<int64_t>{2, 3, 9, 10}));
  EXPECT_EQ(p.train_rows, (std::vector<int64_t>{0, 1, 5, 6, 7, 8}));
  EXPECT_EQ(p.rating[p.test_rows[0]], 1);  // user 1's m1@50
  EXPECT_EQ(p.rating[p.test_rows[1]], 2);  // user 3's m4@4
  expect_partition(p);
}

TEST(PrepareTest, UsersWithTooFewRatingsStayInTraining) {
  // Users 1..5 have 1..5 ratings (times 1..k, file order reversed).
  std::vector<Row> rows;
  for (int32_t u = 1; u <= 5; ++u) {
    for (int32_t k = u; k >= 1; --k) rows.push_back({u, 10 * u + k, 3, k});
  }
  RawRatings raw = make_raw(rows);
  auto held_out_per_user = [](const PreparedRatings& p) {
    std::vector<std::pair<int, int>> out;  // (validation, test) per user
    for (int32_t u = 1; u <= p.num_users; ++u) {
      int v = 0, t = 0;
      for (int64_t r = p.user_start[u]; r < p.user_start[u + 1]; ++r) {
        v += p.is_valid[r];
        t += p.is_test[r];
      }
      out.emplace_back(v, t);
    }
    return out;
  };
  SplitOptions options;
  options.valid_per_user = 1;
  options.test_per_user = 2;  // needs 4 ratings
  PreparedRatings p = prepare_ratings(raw, options);
  EXPECT_EQ(held_out_per_user(p),
            (std::vector<std::pair<int, int>>{{0, 0}, {0, 0}, {0, 0}, {1, 2}, {1, 2}}));
  EXPECT_EQ(p.train_rows.size(), 1u + 2u + 3u + 1u + 2u);
  // User 5 in time order: 51..55; 53 validation, 54 and 55 test.
  const int64_t u5 = p.user_start[5];
  EXPECT_EQ(p.test_rows, (std::vector<int64_t>{p.user_start[4] + 2, p.user_start[4] + 3, u5 + 3, u5 + 4}));
  EXPECT_EQ(p.raw_movie[p.movie[p.valid_rows[1]]], 53);
  expect_partition(p);

  // No validation, one test rating: a single rating stays in training, two give one of each.
  options.valid_per_user = 0;
  options.test_per_user = 1;
  PreparedRatings q = prepare_ratings(raw, options);
  EXPECT_EQ(held_out_per_user(q),
            (std::vector<std::pair<int, int>>{{0, 0}, {0, 1}, {0, 1}, {0, 1}, {0, 1}}));
  EXPECT_TRUE(q.valid_rows.empty());
  EXPECT_EQ(q.raw_movie[q.movie[q.test_rows[0]]], 22);
  expect_partition(q);
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
void check_against_naive(int64_t ts_lo, int64_t ts_hi, uint64_t seed, int test_per_user = 0) {
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
  SplitOptions options{3, 60};
  options.test_per_user = test_per_user;
  PreparedRatings p = prepare_ratings(raw, options);

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
  // Every kept user has >= 60 ratings, so each holds out 3 for validation before test_per_user.
  int64_t valid = 0, test = 0;
  for (int32_t u = 1; u <= p.num_users; ++u) {
    const int64_t end = p.user_start[u + 1];
    const int64_t test_begin = end - test_per_user;
    for (int64_t r = p.user_start[u]; r < end; ++r) {
      EXPECT_EQ(p.is_test[r], r >= test_begin ? 1 : 0);
      EXPECT_EQ(p.is_valid[r], r >= test_begin - 3 && r < test_begin ? 1 : 0);
      EXPECT_EQ(p.user[r], u);
    }
    valid += 3;
    test += test_per_user;
  }
  EXPECT_EQ(static_cast<int64_t>(p.valid_rows.size()), valid);
  EXPECT_EQ(static_cast<int64_t>(p.test_rows.size()), test);
  expect_partition(p);
}

TEST(PrepareTest, MatchesNaiveStableSort) {
  check_against_naive(978300000, 978300100, 1);
  check_against_naive(978300000, 978300100, 3, /*test_per_user=*/2);
}

TEST(PrepareTest, MatchesNaiveStableSortWithWideTimestamps) {
  // A span of ~2^63 does not pack into 64 bits with the user and index: the fallback path.
  check_against_naive(std::numeric_limits<int64_t>::min() / 2 - 5,
                      std::numeric_limits<int64_t>::max() / 2, 2);
  check_against_naive(std::numeric_limits<int64_t>::min() / 2 - 5,
                      std::numeric_limits<int64_t>::max() / 2, 4, /*test_per_user=*/1);
}

}  // namespace
}  // namespace mlrec::data
