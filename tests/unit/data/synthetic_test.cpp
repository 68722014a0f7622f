// The synthetic writer: every format loads back with the requested shape, output is a pure
// function of the seed, and the ratings carry structure a model can learn.
#include "mlrec/data/synthetic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "mlrec/common/error.h"
#include "mlrec/data/movielens.h"
#include "mlrec/data/prepare.h"
#include "support/temp_dir.h"

namespace mlrec::data {
namespace {

using test_support::read_text;
using test_support::TempDir;

const char* const kFiles1M[] = {"ratings.dat", "users.dat", "movies.dat"};
const char* const kFiles100K[] = {"u.data", "u.user", "u.item", "u.occupation"};
const char* const kFilesCsv[] = {"ratings.csv", "movies.csv"};

std::vector<std::string> files_of(Release format) {
  switch (format) {
    case Release::kMovieLens1M:
      return {std::begin(kFiles1M), std::end(kFiles1M)};
    case Release::kMovieLens100K:
      return {std::begin(kFiles100K), std::end(kFiles100K)};
    case Release::kMovieLensCsv:
      return {std::begin(kFilesCsv), std::end(kFilesCsv)};
  }
  return {};
}

// All files of a release, concatenated with their names, to compare two writes.
std::string snapshot(const TempDir& dir, Release format) {
  std::string all;
  for (const std::string& name : files_of(format)) all += name + "\n" + read_text(dir.file(name));
  return all;
}

class SyntheticFormatTest : public ::testing::TestWithParam<Release> {};

TEST_P(SyntheticFormatTest, LoadsBackWithRequestedShape) {
  const Release format = GetParam();
  SyntheticOptions options;
  options.users = 50;
  options.movies = 80;
  options.ratings_per_user_min = 5;
  options.ratings_per_user_max = 30;
  options.seed = 7;
  TempDir dir;
  const std::string target = dir.file("nested/release");  // created on demand
  write_synthetic_movielens(target, format, options);
  EXPECT_EQ(detect_release(target), format);
  RawRatings raw = load_movielens(target);
  EXPECT_EQ(raw.release, format);
  EXPECT_EQ(raw.catalog_movies, options.movies);

  DataStats stats = compute_stats(raw);
  EXPECT_EQ(stats.users, options.users);
  EXPECT_GE(stats.per_user_min, options.ratings_per_user_min);
  EXPECT_LE(stats.per_user_max, options.ratings_per_user_max);
  EXPECT_LT(stats.movies, options.movies) << "part of the catalog is never rated";
  EXPECT_GT(stats.movies, options.movies / 2);

  // Ratings span the scale; CSV releases use half stars.
  std::map<float, int> histogram;
  for (float r : raw.rating) {
    ASSERT_TRUE(raw.scale.contains(r)) << r;
    ++histogram[r];
  }
  EXPECT_GE(histogram.size(), 4u);
  if (format == Release::kMovieLensCsv) {
    EXPECT_TRUE(std::any_of(raw.rating.begin(), raw.rating.end(), [](float r) { return r != std::floor(r); }));
  }

  // Some ratings of a user share a timestamp, so the tie rule matters.
  PreparedRatings p = prepare_ratings(raw, SplitOptions{});
  int ties = 0;
  for (int64_t r = 1; r < p.size(); ++r) {
    if (p.user[r] == p.user[r - 1] && p.timestamp[r] == p.timestamp[r - 1]) ++ties;
  }
  EXPECT_GT(ties, 0);
  // A user never rates a movie twice.
  for (int32_t u = 1; u <= p.num_users; ++u) {
    std::vector<int32_t> seen(p.movie.begin() + p.user_start[u], p.movie.begin() + p.user_start[u + 1]);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "user " << u;
  }
  EXPECT_EQ(p.valid_rows.size(), static_cast<size_t>(options.users));

  if (format == Release::kMovieLensCsv) {
    EXPECT_FALSE(raw.has_user_features);
  } else {
    ASSERT_TRUE(raw.has_user_features);
    EXPECT_EQ(raw.user_features.size(), static_cast<size_t>(options.users));
    for (int32_t u = 1; u <= p.num_users; ++u) {
      EXPECT_TRUE(p.sex[u] == 0 || p.sex[u] == 1);
      EXPECT_TRUE(p.age_group[u] >= 0 && p.age_group[u] <= 6);
      EXPECT_TRUE(p.occupation[u] >= 0 && p.occupation[u] <= 20);
    }
  }
}

TEST_P(SyntheticFormatTest, DeterministicPerSeed) {
  const Release format = GetParam();
  SyntheticOptions options;
  options.users = 30;
  options.movies = 40;
  TempDir a, b, c;
  write_synthetic_movielens(a.path(), format, options);
  write_synthetic_movielens(b.path(), format, options);
  options.seed = 2;
  write_synthetic_movielens(c.path(), format, options);
  const std::string first = snapshot(a, format);
  EXPECT_EQ(first, snapshot(b, format));
  EXPECT_NE(first, snapshot(c, format));
  // Movies files depend only on the seed too; ratings files certainly differ.
  EXPECT_NE(read_text(a.file(files_of(format)[0])), read_text(c.file(files_of(format)[0])));
}

INSTANTIATE_TEST_SUITE_P(AllFormats, SyntheticFormatTest,
                         ::testing::Values(Release::kMovieLens1M, Release::kMovieLens100K, Release::kMovieLensCsv),
                         [](const ::testing::TestParamInfo<Release>& param_info) {
                           switch (param_info.param) {
                             case Release::kMovieLens1M:
                               return std::string("ml1m");
                             case Release::kMovieLens100K:
                               return std::string("ml100k");
                             default:
                               return std::string("csv");
                           }
                         });

TEST(SyntheticTest, SameDataAndFeaturesAcross1MAnd100K) {
  SyntheticOptions options;
  options.users = 40;
  options.movies = 60;
  TempDir a, b;
  write_synthetic_movielens(a.path(), Release::kMovieLens1M, options);
  write_synthetic_movielens(b.path(), Release::kMovieLens100K, options);
  PreparedRatings p = prepare_ratings(load_movielens(a.path()), SplitOptions{});
  PreparedRatings q = prepare_ratings(load_movielens(b.path()), SplitOptions{});
  // 100K ages are raw and bucket back into the same groups as 1M's.
  EXPECT_EQ(p.age_group, q.age_group);
  EXPECT_EQ(p.sex, q.sex);
  EXPECT_EQ(p.occupation, q.occupation);
  // The ratings are the same; only the file order differs.
  EXPECT_EQ(p.size(), q.size());
  std::vector<std::tuple<int32_t, int32_t, float, int64_t>> x, y;
  for (int64_t r = 0; r < p.size(); ++r) {
    x.emplace_back(p.raw_user[p.user[r]], p.raw_movie[p.movie[r]], p.rating[r], p.timestamp[r]);
    y.emplace_back(q.raw_user[q.user[r]], q.raw_movie[q.movie[r]], q.rating[r], q.timestamp[r]);
  }
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  EXPECT_EQ(x, y);
}

TEST(SyntheticTest, StructureBeatsTheMedianBaseline) {
  SyntheticOptions options;  // defaults: 300 users, 200 movies
  TempDir dir;
  write_synthetic_movielens(dir.path(), Release::kMovieLens1M, options);
  PreparedRatings p = prepare_ratings(load_movielens(dir.path()), SplitOptions{});
  std::vector<float> train;
  for (int64_t r : p.train_rows) train.push_back(p.rating[r]);
  std::nth_element(train.begin(), train.begin() + train.size() / 2, train.end());
  const double median = train[train.size() / 2];
  double mean = 0;
  for (int64_t r : p.train_rows) mean += p.rating[r];
  mean /= static_cast<double>(p.train_rows.size());
  // Biases only (user and movie mean offsets): a crude stand-in for a trained model.
  std::vector<double> user_sum(p.num_users + 1, 0), movie_sum(p.num_movies + 1, 0);
  std::vector<int> user_n(p.num_users + 1, 0), movie_n(p.num_movies + 1, 0);
  for (int64_t r : p.train_rows) {
    movie_sum[p.movie[r]] += p.rating[r] - mean;
    ++movie_n[p.movie[r]];
  }
  auto movie_bias = [&](int32_t m) { return movie_n[m] ? movie_sum[m] / (movie_n[m] + 5) : 0.0; };
  for (int64_t r : p.train_rows) {
    user_sum[p.user[r]] += p.rating[r] - mean - movie_bias(p.movie[r]);
    ++user_n[p.user[r]];
  }
  double median_mae = 0, bias_mae = 0;
  for (int64_t r : p.valid_rows) {
    const int32_t u = p.user[r];
    const double pred = mean + user_sum[u] / (user_n[u] + 5) + movie_bias(p.movie[r]);
    median_mae += std::fabs(p.rating[r] - median);
    bias_mae += std::fabs(p.rating[r] - pred);
  }
  median_mae /= static_cast<double>(p.valid_rows.size());
  bias_mae /= static_cast<double>(p.valid_rows.size());
  EXPECT_LT(bias_mae, median_mae - 0.05) << "median " << median_mae << " biases " << bias_mae;
}

TEST(SyntheticTest, RejectsBadOptions) {
  TempDir dir;
  SyntheticOptions options;
  options.users = 0;
  EXPECT_THROW(write_synthetic_movielens(dir.path(), Release::kMovieLens1M, options), ConfigError);
  options = SyntheticOptions{};
  options.ratings_per_user_min = 10;
  options.ratings_per_user_max = 5;
  EXPECT_THROW(write_synthetic_movielens(dir.path(), Release::kMovieLens1M, options), ConfigError);
  options = SyntheticOptions{};
  options.movies = 0;
  EXPECT_THROW(write_synthetic_movielens(dir.path(), Release::kMovieLensCsv, options), ConfigError);
}

TEST(SyntheticTest, MoreRatingsThanMoviesAreCapped) {
  SyntheticOptions options;
  options.users = 5;
  options.movies = 10;
  options.ratings_per_user_min = 20;
  options.ratings_per_user_max = 30;
  TempDir dir;
  write_synthetic_movielens(dir.path(), Release::kMovieLensCsv, options);
  DataStats s = compute_stats(load_movielens(dir.path()));
  EXPECT_EQ(s.users, 5);
  EXPECT_LE(s.per_user_max, 10);
  EXPECT_GE(s.per_user_min, 1);
}

// --ratings: a release's shape in one command. The total is exact, every user has at least the
// minimum, counts are heavy-tailed (the largest far above the median) and movies are not rated
// alike (the most popular far above the median movie).
TEST(SyntheticTest, ATotalIsHitExactlyWithHeavyTails) {
  SyntheticOptions options;
  options.users = 400;
  options.movies = 2000;
  options.ratings = 40000;  // mean 100 per user
  options.seed = 5;
  TempDir dir;
  write_synthetic_movielens(dir.path(), Release::kMovieLensCsv, options);
  const RawRatings raw = load_movielens(dir.path());
  const DataStats s = compute_stats(raw);
  EXPECT_EQ(s.ratings, 40000);
  EXPECT_EQ(s.users, 400);
  EXPECT_GE(s.per_user_min, 20);
  EXPECT_LE(s.per_user_max, 1900 / 4);  // a quarter of the rated catalog at most
  EXPECT_LT(s.per_user_median, 100);    // the mean: a long tail pulls it above the median
  EXPECT_GT(s.per_user_max, 4 * s.per_user_median);
  EXPECT_EQ(raw.duplicates_dropped, 0);  // no user rates a movie twice
  std::map<int32_t, int> per_movie;
  for (int32_t movie : raw.movie_id) ++per_movie[movie];
  std::vector<int> counts;
  for (const auto& [movie, count] : per_movie) counts.push_back(count);
  std::sort(counts.begin(), counts.end());
  EXPECT_GT(counts.back(), 8 * counts[counts.size() / 2]) << "most popular vs median movie";
}

// The message of the ConfigError that writing a release with these options throws ("" if none).
std::string config_error(const SyntheticOptions& options) {
  TempDir dir;
  try {
    write_synthetic_movielens(dir.path(), Release::kMovieLens1M, options);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// The errors name mlrec_dist synth's own options, not config keys: synth reads no config.
TEST(SyntheticTest, ATotalOutOfReachIsAConfigErrorNamingTheOption) {
  SyntheticOptions options;
  options.users = 100;
  options.movies = 400;
  options.ratings = 100 * 20 - 1;  // below 20 each
  EXPECT_EQ(config_error(options).rfind("--ratings: must be between 2000 ", 0), 0u) << config_error(options);
  options.ratings = 100 * 95 + 1;  // above a quarter of the 380 rated movies each
  EXPECT_EQ(config_error(options).rfind("--ratings: must be between 2000 (each user 20) and 9500 ", 0), 0u)
      << config_error(options);
  options.movies = 40;  // too small a catalog for 20 distinct movies in a quarter of it
  options.ratings = 2000;
  EXPECT_EQ(config_error(options).rfind("--movies: ", 0), 0u) << config_error(options);
  options = SyntheticOptions{};
  options.users = 0;
  EXPECT_EQ(config_error(options), "--users: must be >= 1, got 0");
}

}  // namespace
}  // namespace mlrec::data
