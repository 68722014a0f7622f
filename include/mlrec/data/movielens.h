// Readers for the MovieLens releases the study uses (ML-1M, ML-100K and the CSV releases such as
// ml-latest-small / ml-20m / ml-25m). Each file is read whole into one buffer and parsed in
// place (std::from_chars, no per-field strings) because ML-1M is a million lines and loading
// must stay a small fraction of a training run. Every malformed input is one InputError that
// reads "FILE:LINE: reason".
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace mlrec::data {

/// The on-disk layouts we can read: the MovieLens releases, and a user's own interactions file
/// (data/interactions.h).
enum class Release { kMovieLens1M, kMovieLens100K, kMovieLensCsv, kInteractions };

/// Short name of a release: "ml-1m", "ml-100k", "csv" or "interactions".
const char* release_name(Release release);

/// The discrete rating values a release allows: min_rating..max_rating in steps of step.
struct RatingScale {
  float min_rating = 1;
  float max_rating = 5;
  float step = 1;

  /// Number of distinct rating values (5 for 1..5, 10 for 0.5..5.0 in halves).
  int num_levels() const { return level(max_rating); }
  /// 1-based index of a rating on the scale (0 is reserved for padding); rating must be on it.
  int level(float rating) const {
    // Inline and free of libm calls: it runs once per rating of a million-row file.
    return static_cast<int>((rating - min_rating) / step + 0.5f) + 1;
  }
  /// Whether rating lies in [min_rating, max_rating] and on the step grid.
  bool contains(float rating) const {
    // In double, with a tolerance in steps of 1e-4 (decimal grids such as "0.1" steps) plus the
    // float rounding of rating, min_rating and step (2^-24 of each magnitude, in steps): a fixed
    // 1e-4 refused valid ratings on scales of thousands of levels (15.02 on 0..100 by 0.01).
    constexpr double kEps = 1e-4;
    const double r = rating, low = min_rating, high = max_rating, width = step;
    const double magnitude = ((r < 0 ? -r : r) + (low < 0 ? -low : low)) / width;
    const double tolerance = kEps + 4.0 * magnitude * 0x1p-24;
    if (!(r >= low - tolerance * width && r <= high + tolerance * width)) return false;
    const double steps = (r - low) / width;
    const double off = steps - static_cast<double>(static_cast<int64_t>(steps + 0.5));
    return off < tolerance && off > -tolerance;
  }
};

/// "1..5 in steps of 1", for messages.
std::string describe(const RatingScale& scale);

/// The rating scale of a release: {1, 5, 1} for ML-1M / ML-100K, {0.5, 5, 0.5} for CSV.
RatingScale scale_of(Release release);

/// Demographic codes of one user, 0-based: sex F=0/M=1, age group 0..6, occupation 0..20.
struct UserFeatures {
  int8_t sex;
  int8_t age_group;
  int8_t occupation;
};

/// All ratings of a release, in file order, with raw ids as they appear in the files.
struct RawRatings {
  Release release = Release::kMovieLens1M;
  std::string dir;  // the release's folder; for kInteractions, the file
  RatingScale scale;
  bool scale_inferred = false;  // scale found from the values read (kInteractions, undeclared)
  std::vector<int32_t> user_id, movie_id;
  // Ids given as text (kInteractions): when non-empty, a raw id is an index into these names,
  // sorted (byte order) and distinct; when empty, raw ids are the integers of the files.
  // user_name()/movie_name() give a raw id's text either way.
  std::vector<std::string> user_names, movie_names;
  std::vector<float> rating;
  std::vector<int64_t> timestamp;
  bool has_user_features = false;
  std::unordered_map<int32_t, UserFeatures> user_features;  // by raw user id (1M, 100K only)
  int64_t catalog_movies = 0;  // movies listed in movies.dat / u.item / movies.csv
  // Ratings dropped because their (user, movie) pair was rated again (load_movielens keeps each
  // pair's latest rating: a rating in both training and validation would leak the target).
  int64_t duplicates_dropped = 0;
  std::vector<std::string> other_releases;  // ratings files of other releases in the same folder

  /// Number of ratings.
  int64_t size() const { return static_cast<int64_t>(rating.size()); }
};

/// The data's text for a raw user / movie id: its name when the ids were text, else the integer.
std::string user_name(const RawRatings& raw, int32_t raw_id);
std::string movie_name(const RawRatings& raw, int32_t raw_id);

/// Which release dir holds, from which files exist; InputError when none or a companion is missing.
/// A folder holding several releases' ratings files is read as the first of ratings.dat (ML-1M),
/// u.data (ML-100K), ratings.csv; `others` (when given) receives the other files' names.
Release detect_release(const std::string& dir, std::vector<std::string>* others = nullptr);

/// Drops every rating of a (user, movie) pair but the latest (by timestamp; the later line on a
/// tie), keeping file order; returns how many were dropped.
int64_t drop_repeated_ratings(RawRatings& raw);

/// Detects the release in dir and reads it (ratings, movie catalog, user features).
RawRatings load_movielens(const std::string& dir);

/// Reads a release whose layout is already known.
RawRatings load_movielens(const std::string& dir, Release release);

/// Summary numbers of a rating set, as the study prints them (src/data/stats.cpp).
struct DataStats {
  int64_t ratings = 0, users = 0, movies = 0;
  float min_rating = 0, max_rating = 0;
  int64_t per_user_min = 0, per_user_median = 0, per_user_max = 0;
};

/// Counts ratings, distinct users and movies, the rating range and ratings per user.
DataStats compute_stats(const RawRatings& raw);

/// A few human-readable lines describing raw and its stats.
std::string format_stats(const RawRatings& raw, const DataStats& stats);

}  // namespace mlrec::data
