// Turns raw ratings into what the models train on: dense 1-based ids (0 = padding/unknown),
// rows grouped by user in time order, a leave-last-out validation (and optional test) split, and
// fixed-length history windows. Everything is O(n) plus small per-user sorts.
#pragma once

#include <cstdint>
#include <vector>

#include "mlrec/data/movielens.h"

namespace mlrec::data {

/// Sorted distinct values of a raw id column and, per element, its 0-based index among them.
struct DenseCodes {
  std::vector<int32_t> ids;   // sorted, distinct
  std::vector<int32_t> code;  // same length as the input; ids[code[i]] == input[i]
};

/// Encodes raw ids densely; O(n) through a table when the id range is compact.
DenseCodes dense_codes(const std::vector<int32_t>& raw_ids);

/// How ratings are split into training, validation and (optionally) test. Per user, in the stable
/// time order: the last test_per_user ratings are test, the valid_per_user ratings before them
/// validation, the rest training. A user needs at least valid_per_user + test_per_user + 1
/// ratings to contribute held-out rows; one with fewer keeps all of them in training.
struct SplitOptions {
  int valid_per_user = 1;        // each user's last ratings (before the test ones) for validation
  int min_ratings_per_user = 0;  // users with fewer ratings are dropped (0 = keep everyone)
  // each user's very last ratings held out for test; 0 = no test set, the study's protocol
  // (select and report on the last rating, i.e. validation)
  int test_per_user = 0;
};

/// Ratings ready for training. Rows are sorted by (dense user, timestamp); equal timestamps keep
/// file order, so the rating later in the file counts as later (as in the study).
struct PreparedRatings {
  RatingScale scale;
  bool has_user_features = false;
  int32_t num_users = 0, num_movies = 0;  // dense ids 1..num; 0 = padding/unknown
  std::vector<int32_t> user, movie;       // dense ids per row
  std::vector<float> rating;
  std::vector<int32_t> rating_level;  // scale.level(rating), 1..K
  std::vector<int64_t> timestamp;
  std::vector<uint8_t> is_valid;  // 1 = held out for validation
  std::vector<uint8_t> is_test;   // 1 = held out for test (all 0 when test_per_user = 0)
  // size num_users+2; rows of user u are [user_start[u], user_start[u+1]); user_start[0] =
  // user_start[1] = 0
  std::vector<int64_t> user_start;
  std::vector<int32_t> raw_user, raw_movie;         // dense -> raw id (index 0 unused)
  std::vector<int32_t> sex, age_group, occupation;  // per dense user, size num_users+1, [0] = 0
  // Row indices, ascending; disjoint, together every row. Windows (fill_windows) are the same for
  // all three: a test row's window holds the validation ratings before it, as the study's do.
  std::vector<int64_t> train_rows, valid_rows, test_rows;

  /// Number of rows (training + validation + test).
  int64_t size() const { return static_cast<int64_t>(rating.size()); }
};

/// Encodes, sorts and splits raw ratings; ConfigError on invalid options.
PreparedRatings prepare_ratings(const RawRatings& raw, const SplitOptions& options);

/// Fills one window per row, as in the study: the length-1 ratings before that row (same user)
/// plus the row itself, left-padded. movies/levels/pad are caller-allocated [rows.size(), length]
/// row-major arrays. movies: dense movie id, 0 where padded; levels: rating level of that
/// position, 0 where padded (the target's level is filled too; models decide whether to use it);
/// pad: 1 where padded.
void fill_windows(const PreparedRatings& data, const std::vector<int64_t>& rows, int length,
                  int32_t* movies, int32_t* levels, uint8_t* pad);
/// The same into rows `row_stride` elements apart (each row's movies, levels and pad start at
/// the given pointers plus w * row_stride), with int32 padding flags: a packed sample table.
void fill_windows(const PreparedRatings& data, const std::vector<int64_t>& rows, int length,
                  int32_t* movies, int32_t* levels, int32_t* pad, int64_t row_stride);

}  // namespace mlrec::data
