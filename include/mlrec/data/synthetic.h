// A seeded generator of MovieLens-format releases. Tests use it for realistic fixtures, and the
// main job falls back to it when no real data is present. Ratings come from a learnable
// structure (biases + latent factors + a per-user drift over time) so that both a matrix
// factorisation and a sequence model can beat the median baseline on it.
#pragma once

#include <cstdint>
#include <string>

#include "mlrec/data/movielens.h"

namespace mlrec::data {

/// Size and seed of a synthetic release.
struct SyntheticOptions {
  int users = 300;
  int movies = 200;
  int ratings_per_user_min = 20;
  int ratings_per_user_max = 60;
  /// The total number of ratings, shaped like the real releases: 0 draws each user's count
  /// uniformly from [ratings_per_user_min, ratings_per_user_max] and every movie alike; a total
  /// gives users heavy-tailed counts (at least ratings_per_user_min, a few with thousands;
  /// ratings_per_user_max is then ignored) that add up to it exactly, and movies a Zipf-like
  /// popularity, as MovieLens-25M and -32M have.
  int64_t ratings = 0;
  uint64_t seed = 1;
};

/// Writes a release in the given format into dir (created if needed): 1M ratings.dat/users.dat/
/// movies.dat; 100K u.data/u.user/u.item/u.occupation; CSV ratings.csv/movies.csv with header
/// lines and half-star ratings. The same options give byte-identical files on every platform.
void write_synthetic_movielens(const std::string& dir, Release format,
                               const SyntheticOptions& options);

}  // namespace mlrec::data
