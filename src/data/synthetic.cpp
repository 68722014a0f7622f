#include "mlrec/data/synthetic.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "mlrec/common/error.h"

namespace mlrec::data {

namespace {

constexpr int kFactors = 4;
constexpr double kGlobalMean = 3.6;
constexpr double kUserBiasSd = 0.35;
constexpr double kMovieBiasSd = 0.5;
constexpr double kFactorSd = 0.6;  // dot of 4 factors: sd ~0.7
constexpr double kDriftKeep = 0.9;  // AR(1) mood per user: only a sequence model can follow it
constexpr double kDriftSd = 0.25;
constexpr double kNoiseSd = 0.35;
constexpr double kTieProbability = 0.15;  // consecutive ratings in the same second
constexpr int64_t kFirstTimestamp = 956703932;  // ML-1M's first rating
constexpr int64_t kStartSpread = 30000000;
constexpr int64_t kMaxGap = 200000;
constexpr int kAgeGroupCount = 7;
constexpr std::array<int, 7> kAgeGroups1M = {1, 18, 25, 35, 45, 50, 56};
// Raw ages (ML-100K style) drawn inside each ML-1M group, so both bucket back to the same code.
constexpr std::array<int, 7> kAgeLow = {7, 18, 25, 35, 45, 50, 56};
constexpr std::array<int, 7> kAgeHigh = {17, 24, 34, 44, 49, 55, 73};
constexpr std::array<const char*, 21> kOccupations100K = {
    "administrator", "artist",    "doctor",     "educator",  "engineer",   "entertainment",
    "executive",     "healthcare", "homemaker", "lawyer",    "librarian",  "marketing",
    "none",          "other",     "programmer", "retired",   "salesman",   "scientist",
    "student",       "technician", "writer"};
constexpr std::array<const char*, 18> kGenres = {
    "Action",    "Adventure", "Animation", "Children's", "Comedy",  "Crime",
    "Documentary", "Drama",   "Fantasy",   "Film-Noir",  "Horror",  "Musical",
    "Mystery",   "Romance",   "Sci-Fi",    "Thriller",   "War",     "Western"};
constexpr int kGenreFlags100K = 19;  // u.item's genre columns ("unknown" first)

// Random numbers built from raw 64-bit draws only: std::mt19937_64's sequence is fixed by the
// standard, the std distributions are not, and the files must be the same on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [lo, hi].
  int64_t uniform_int(int64_t lo, int64_t hi) {
    const double span = static_cast<double>(hi - lo + 1);
    return std::min<int64_t>(hi, lo + static_cast<int64_t>(uniform() * span));
  }

  /// Standard normal (Box-Muller; one value per call keeps the stream easy to reason about).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  /// Fisher-Yates shuffle of the whole range.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) {
      std::swap(v[i - 1], v[static_cast<size_t>(uniform_int(0, static_cast<int64_t>(i) - 1))]);
    }
  }

 private:
  std::mt19937_64 engine_;
};

struct SynthUser {
  int32_t id;
  int sex;  // 0 = F, 1 = M
  int age_group;
  int age;  // raw age inside the group (100K)
  int occupation;
  int zip;
};

struct SynthMovie {
  int32_t id;
  int year;
  std::vector<int> genres;
};

struct SynthRating {
  int32_t user, movie;  // raw ids
  int level;            // 1-based position on the release scale
  int64_t timestamp;
};

struct Synthetic {
  std::vector<SynthUser> users;
  std::vector<SynthMovie> movies;
  std::vector<SynthRating> ratings;  // grouped by user, in time order
};

// The last 5% of the catalog is never rated, like catalog entries without ratings in ML-1M.
int rated_pool_size(int movies) { return std::max(1, movies - movies / 20); }

// With a total (SyntheticOptions::ratings), no user rates more than a quarter of the rated
// catalog: beyond that, distinct popularity-weighted draws would mostly repeat.
int max_ratings_per_user(int movies) { return rated_pool_size(movies) / 4; }

// Heavy-tailed ratings per user adding up to `total` exactly: each user `least` plus a share of
// the rest in proportion to a Lomax (Pareto II, shape 1.2) weight, capped at `cap` (the excess
// goes to the others), rounded by largest remainder. MovieLens-32M: min 20, median ~70, mean
// ~160, a few users with thousands.
std::vector<int> heavy_tailed_counts(int users, int64_t total, int least, int cap, Rng& rng) {
  std::vector<double> weight(static_cast<size_t>(users));
  for (double& w : weight) w = std::pow(1.0 - rng.uniform(), -1.0 / 1.2) - 1.0;
  std::vector<double> share(static_cast<size_t>(users), 0.0);
  std::vector<bool> capped(static_cast<size_t>(users), false);
  double extra = static_cast<double>(total - int64_t{users} * least);
  for (int round = 0; round < 64 && extra > 0.5; ++round) {
    double sum = 0;
    for (int u = 0; u < users; ++u) {
      if (!capped[static_cast<size_t>(u)]) sum += weight[static_cast<size_t>(u)];
    }
    if (sum <= 0) break;
    double excess = 0;
    for (int u = 0; u < users; ++u) {
      const size_t i = static_cast<size_t>(u);
      if (capped[i]) continue;
      share[i] += extra * weight[i] / sum;
      if (share[i] > cap - least) {
        excess += share[i] - (cap - least);
        share[i] = cap - least;
        capped[i] = true;
      }
    }
    extra = excess;
  }
  std::vector<int> counts(static_cast<size_t>(users));
  int64_t assigned = 0;
  std::vector<std::pair<double, int>> remainders;
  for (int u = 0; u < users; ++u) {
    const size_t i = static_cast<size_t>(u);
    counts[i] = least + static_cast<int>(std::floor(share[i]));
    assigned += counts[i];
    if (counts[i] < cap) remainders.emplace_back(share[i] - std::floor(share[i]), u);
  }
  // Largest remainders first (ties by user), one rating each, until the total is met.
  std::sort(remainders.begin(), remainders.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  for (size_t k = 0; assigned < total; k = (k + 1) % remainders.size()) {
    int& count = counts[static_cast<size_t>(remainders[k].second)];
    if (count < cap) {
      ++count;
      ++assigned;
    }
  }
  return counts;
}

// Zipf-like movie popularity over a random order of the catalog, as a cumulative distribution.
std::vector<double> popularity_cdf(int pool, Rng& rng) {
  std::vector<int> rank(static_cast<size_t>(pool));
  for (int m = 0; m < pool; ++m) rank[static_cast<size_t>(m)] = m;
  rng.shuffle(rank);
  std::vector<double> cdf(static_cast<size_t>(pool));
  double sum = 0;
  for (int m = 0; m < pool; ++m) {
    sum += std::pow(rank[static_cast<size_t>(m)] + 10.0, -0.9);
    cdf[static_cast<size_t>(m)] = sum;
  }
  for (double& c : cdf) c /= sum;
  return cdf;
}

// Errors name what the user set: `mlrec_dist synth`'s options (--users, --movies, --ratings);
// the per-user range has no option, and is named as the field a caller of the library sets.
void check_options(const SyntheticOptions& o) {
  auto require = [](bool ok, const char* option, const std::string& reason) {
    if (!ok) throw ConfigError(std::string(option) + ": " + reason);
  };
  require(o.users >= 1, "--users", "must be >= 1, got " + std::to_string(o.users));
  require(o.movies >= 1, "--movies", "must be >= 1, got " + std::to_string(o.movies));
  require(o.ratings_per_user_min >= 1, "SyntheticOptions::ratings_per_user_min",
          "must be >= 1, got " + std::to_string(o.ratings_per_user_min));
  require(o.ratings_per_user_max >= o.ratings_per_user_min, "SyntheticOptions::ratings_per_user_max",
          "must be >= ratings_per_user_min (" + std::to_string(o.ratings_per_user_min) + "), got " +
              std::to_string(o.ratings_per_user_max));
  if (o.ratings > 0) {
    const int64_t least = int64_t{o.users} * o.ratings_per_user_min;
    require(o.ratings_per_user_min <= max_ratings_per_user(o.movies), "--movies",
            "with a total of ratings, at least 4 x " + std::to_string(o.ratings_per_user_min) +
                " rated movies are needed (each user rates at most a quarter of them), got " + std::to_string(o.movies));
    const int64_t most = int64_t{o.users} * max_ratings_per_user(o.movies);
    require(o.ratings >= least && o.ratings <= most, "--ratings",
            "must be between " + std::to_string(least) + " (each user " + std::to_string(o.ratings_per_user_min) +
                ") and " + std::to_string(most) + " (each user a quarter of the rated catalog) for " +
                std::to_string(o.users) + " users and " + std::to_string(o.movies) + " movies, got " +
                std::to_string(o.ratings));
  }
}

// Movie raw ids skip every 11th number, as real catalogs have gaps, so that dense encoding is
// exercised.
int32_t movie_raw_id(int index) { return index + 1 + index / 10; }

Synthetic generate(const SyntheticOptions& o, const RatingScale& scale) {
  Rng rng(o.seed);
  Synthetic s;
  const int num_users = o.users, num_movies = o.movies;

  s.movies.resize(static_cast<size_t>(num_movies));
  std::vector<double> movie_bias(static_cast<size_t>(num_movies));
  std::vector<std::array<double, kFactors>> movie_factor(static_cast<size_t>(num_movies));
  for (int m = 0; m < num_movies; ++m) {
    SynthMovie& mv = s.movies[static_cast<size_t>(m)];
    mv.id = movie_raw_id(m);
    mv.year = 1920 + static_cast<int>(rng.uniform_int(0, 80));
    const int n_genres = static_cast<int>(rng.uniform_int(1, 3));
    for (int g = 0; g < n_genres; ++g) {
      int genre = static_cast<int>(rng.uniform_int(0, static_cast<int64_t>(kGenres.size()) - 1));
      if (std::find(mv.genres.begin(), mv.genres.end(), genre) == mv.genres.end()) {
        mv.genres.push_back(genre);
      }
    }
    movie_bias[static_cast<size_t>(m)] = kMovieBiasSd * rng.normal();
    for (double& f : movie_factor[static_cast<size_t>(m)]) f = kFactorSd * rng.normal();
  }

  const int rated_pool = rated_pool_size(num_movies);
  std::vector<int> pool(static_cast<size_t>(rated_pool));
  for (int k = 0; k < rated_pool; ++k) pool[static_cast<size_t>(k)] = k;
  // A total: heavy-tailed counts and popular movies, from a stream of their own (so that without
  // a total the data stays what it always was).
  std::vector<int> counts;
  std::vector<double> popularity;
  std::vector<int> last_rater(static_cast<size_t>(rated_pool), -1);
  if (o.ratings > 0) {
    Rng shape_rng(o.seed ^ 0xC2B2AE3D27D4EB4FULL);
    counts = heavy_tailed_counts(num_users, o.ratings, o.ratings_per_user_min,
                                 max_ratings_per_user(num_movies), shape_rng);
    popularity = popularity_cdf(rated_pool, shape_rng);
    s.ratings.reserve(static_cast<size_t>(o.ratings));
  }
  s.users.resize(static_cast<size_t>(num_users));
  for (int u = 0; u < num_users; ++u) {
    SynthUser& us = s.users[static_cast<size_t>(u)];
    us.id = u + 1;
    us.sex = static_cast<int>(rng.uniform_int(0, 1));
    us.age_group = static_cast<int>(rng.uniform_int(0, kAgeGroupCount - 1));
    us.age = static_cast<int>(rng.uniform_int(kAgeLow[static_cast<size_t>(us.age_group)],
                                              kAgeHigh[static_cast<size_t>(us.age_group)]));
    us.occupation = static_cast<int>(rng.uniform_int(0, static_cast<int64_t>(kOccupations100K.size()) - 1));
    us.zip = static_cast<int>(rng.uniform_int(10000, 99999));
    const double user_bias = kUserBiasSd * rng.normal();
    std::array<double, kFactors> user_factor;
    for (double& f : user_factor) f = kFactorSd * rng.normal();

    const int count = !counts.empty() ? counts[static_cast<size_t>(u)]
                                      : static_cast<int>(std::min<int64_t>(
                                            rated_pool, rng.uniform_int(o.ratings_per_user_min, o.ratings_per_user_max)));
    // Distinct movies, watched roughly in catalog order so that the sequence of movie ids
    // carries some signal too.
    std::vector<std::pair<double, int>> watched(static_cast<size_t>(count));
    if (popularity.empty()) {
      // Every movie alike: a partial Fisher-Yates draw, its swaps undone afterwards (O(count),
      // not O(catalog), per user).
      std::vector<size_t> swapped(static_cast<size_t>(count));
      for (int k = 0; k < count; ++k) {
        const size_t j = static_cast<size_t>(rng.uniform_int(k, rated_pool - 1));
        swapped[static_cast<size_t>(k)] = j;
        std::swap(pool[static_cast<size_t>(k)], pool[j]);
        const int m = pool[static_cast<size_t>(k)];
        watched[static_cast<size_t>(k)] = {static_cast<double>(m) / rated_pool + 0.3 * rng.normal(), m};
      }
      for (int k = count; k-- > 0;) std::swap(pool[static_cast<size_t>(k)], pool[swapped[static_cast<size_t>(k)]]);
    } else {
      // Popular movies more often: draws by popularity, a movie this user already has drawn again.
      for (int k = 0; k < count;) {
        const auto at = std::lower_bound(popularity.begin(), popularity.end(), rng.uniform());
        const int m = static_cast<int>(std::min<std::ptrdiff_t>(at - popularity.begin(), rated_pool - 1));
        if (last_rater[static_cast<size_t>(m)] == u) continue;
        last_rater[static_cast<size_t>(m)] = u;
        watched[static_cast<size_t>(k++)] = {static_cast<double>(m) / rated_pool + 0.3 * rng.normal(), m};
      }
    }
    std::sort(watched.begin(), watched.end());

    int64_t ts = kFirstTimestamp + rng.uniform_int(0, kStartSpread);
    double drift = 0;
    for (int k = 0; k < count; ++k) {
      const int m = watched[static_cast<size_t>(k)].second;
      if (k > 0 && rng.uniform() >= kTieProbability) ts += rng.uniform_int(1, kMaxGap);
      drift = kDriftKeep * drift + kDriftSd * rng.normal();
      double value = kGlobalMean + user_bias + movie_bias[static_cast<size_t>(m)] + drift +
                     kNoiseSd * rng.normal();
      for (int f = 0; f < kFactors; ++f) {
        value += user_factor[static_cast<size_t>(f)] * movie_factor[static_cast<size_t>(m)][static_cast<size_t>(f)];
      }
      const double steps = std::floor((value - scale.min_rating) / scale.step + 0.5);
      const int level = static_cast<int>(std::clamp(steps, 0.0, static_cast<double>(scale.num_levels() - 1))) + 1;
      s.ratings.push_back(SynthRating{us.id, movie_raw_id(m), level, ts});
    }
  }
  return s;
}

void write_text(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw InputError::in(path, std::string("cannot write: ") + std::strerror(errno));
  const size_t written = std::fwrite(text.data(), 1, text.size(), f);
  const bool failed = written != text.size() || std::fclose(f) != 0;
  if (failed) throw InputError::in(path, std::string("cannot write: ") + std::strerror(errno));
}

std::string join(const std::string& dir, const char* name) {
  return (std::filesystem::path(dir) / name).string();
}

std::string rating_text(const RatingScale& scale, int level) {
  // Ratings are multiples of 0.5, so tenths are exact; CSV releases print one decimal ("4.0").
  const int tenths = static_cast<int>(std::lround((scale.min_rating + (level - 1) * scale.step) * 10));
  if (scale.step >= 1) return std::to_string(tenths / 10);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

std::string genre_list(const SynthMovie& m) {
  std::string out;
  for (size_t g = 0; g < m.genres.size(); ++g) {
    if (g > 0) out += '|';
    out += kGenres[static_cast<size_t>(m.genres[g])];
  }
  return out;
}

void append_rating(std::string& out, const SynthRating& r, const RatingScale& scale, const char* sep) {
  out += std::to_string(r.user);
  out += sep;
  out += std::to_string(r.movie);
  out += sep;
  out += rating_text(scale, r.level);
  out += sep;
  out += std::to_string(r.timestamp);
  out += '\n';
}

// File order differs by release, as in the real files: ML-1M groups by user with each user's
// ratings unordered in time, ML-100K is fully shuffled, CSV releases sort each user's ratings
// by movie id. A separate stream keeps the data itself the same in every format.
std::vector<SynthRating> file_order(const Synthetic& s, Release format, uint64_t seed) {
  std::vector<SynthRating> rows = s.ratings;
  Rng rng(seed ^ 0x9E3779B97F4A7C15ULL);
  if (format == Release::kMovieLens100K) {
    rng.shuffle(rows);
    return rows;
  }
  size_t begin = 0;
  while (begin < rows.size()) {
    size_t end = begin;
    while (end < rows.size() && rows[end].user == rows[begin].user) ++end;
    std::vector<SynthRating> block(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                                   rows.begin() + static_cast<std::ptrdiff_t>(end));
    if (format == Release::kMovieLens1M) {
      rng.shuffle(block);
    } else {
      std::stable_sort(block.begin(), block.end(),
                       [](const SynthRating& a, const SynthRating& b) { return a.movie < b.movie; });
    }
    std::copy(block.begin(), block.end(), rows.begin() + static_cast<std::ptrdiff_t>(begin));
    begin = end;
  }
  return rows;
}

void write_1m(const std::string& dir, const Synthetic& s, const std::vector<SynthRating>& rows,
              const RatingScale& scale) {
  std::string ratings;
  ratings.reserve(rows.size() * 24);
  for (const SynthRating& r : rows) append_rating(ratings, r, scale, "::");
  write_text(join(dir, "ratings.dat"), ratings);

  std::string users;
  for (const SynthUser& u : s.users) {
    users += std::to_string(u.id) + "::" + (u.sex == 0 ? "F" : "M") +
             "::" + std::to_string(kAgeGroups1M[static_cast<size_t>(u.age_group)]) +
             "::" + std::to_string(u.occupation) + "::" + std::to_string(u.zip) + "\n";
  }
  write_text(join(dir, "users.dat"), users);

  std::string movies;
  for (size_t m = 0; m < s.movies.size(); ++m) {
    const SynthMovie& mv = s.movies[m];
    // Some titles carry latin-1 bytes and single colons, as ML-1M's do.
    std::string title = (m % 9 == 4) ? "Caf\xE9 Stories: Part " + std::to_string(mv.id)
                                     : "Synthetic Movie " + std::to_string(mv.id);
    movies += std::to_string(mv.id) + "::" + title + " (" + std::to_string(mv.year) +
              ")::" + genre_list(mv) + "\n";
  }
  write_text(join(dir, "movies.dat"), movies);
}

void write_100k(const std::string& dir, const Synthetic& s, const std::vector<SynthRating>& rows,
                const RatingScale& scale) {
  std::string data;
  data.reserve(rows.size() * 22);
  for (const SynthRating& r : rows) append_rating(data, r, scale, "\t");
  write_text(join(dir, "u.data"), data);

  std::string users;
  for (const SynthUser& u : s.users) {
    users += std::to_string(u.id) + "|" + std::to_string(u.age) + "|" + (u.sex == 0 ? "F" : "M") +
             "|" + kOccupations100K[static_cast<size_t>(u.occupation)] + "|" +
             std::to_string(u.zip) + "\n";
  }
  write_text(join(dir, "u.user"), users);

  std::string occupations;
  for (const char* name : kOccupations100K) occupations += std::string(name) + "\n";
  write_text(join(dir, "u.occupation"), occupations);

  std::string items;
  for (const SynthMovie& mv : s.movies) {
    const std::string id = std::to_string(mv.id);
    items += id + "|Synthetic Movie " + id + " (" + std::to_string(mv.year) + ")|01-Jan-" +
             std::to_string(mv.year) + "||http://example.invalid/movie/" + id;
    for (int g = 0; g < kGenreFlags100K; ++g) {
      // Flag 0 is "unknown"; kGenres[k] maps to flag k + 1.
      const bool on = g > 0 && std::find(mv.genres.begin(), mv.genres.end(), g - 1) != mv.genres.end();
      items += on ? "|1" : "|0";
    }
    items += "\n";
  }
  write_text(join(dir, "u.item"), items);
}

void write_csv(const std::string& dir, const Synthetic& s, const std::vector<SynthRating>& rows,
               const RatingScale& scale) {
  std::string ratings = "userId,movieId,rating,timestamp\n";
  ratings.reserve(rows.size() * 26);
  for (const SynthRating& r : rows) append_rating(ratings, r, scale, ",");
  write_text(join(dir, "ratings.csv"), ratings);

  std::string movies = "movieId,title,genres\n";
  for (size_t m = 0; m < s.movies.size(); ++m) {
    const SynthMovie& mv = s.movies[m];
    const std::string id = std::to_string(mv.id);
    const std::string year = " (" + std::to_string(mv.year) + ")";
    std::string title;
    // Titles with commas and quotes must be quoted, with quotes doubled, as in movies.csv.
    if (m % 7 == 3) {
      title = "\"Synthetic Movie " + id + ", The" + year + "\"";
    } else if (m % 11 == 5) {
      title = "\"The \"\"Quoted\"\" Movie " + id + year + "\"";
    } else {
      title = "Synthetic Movie " + id + year;
    }
    movies += id + "," + title + "," + genre_list(mv) + "\n";
  }
  write_text(join(dir, "movies.csv"), movies);
}

}  // namespace

void write_synthetic_movielens(const std::string& dir, Release format,
                               const SyntheticOptions& options) {
  check_options(options);
  MLREC_CHECK(format != Release::kInteractions, "the synthetic data is written in a MovieLens layout");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError::in(dir, "cannot create directory: " + ec.message());
  const RatingScale scale = scale_of(format);
  const Synthetic s = generate(options, scale);
  const std::vector<SynthRating> rows = file_order(s, format, options.seed);
  switch (format) {
    case Release::kMovieLens1M:
      write_1m(dir, s, rows, scale);
      break;
    case Release::kMovieLens100K:
      write_100k(dir, s, rows, scale);
      break;
    case Release::kMovieLensCsv:
      write_csv(dir, s, rows, scale);
      break;
    case Release::kInteractions:
      break;  // refused above
  }
}

}  // namespace mlrec::data
