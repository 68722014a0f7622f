#include "mlrec/data/movielens.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string_view>
#include <utility>

#include "mlrec/common/error.h"
#include "mlrec/data/prepare.h"
#include "text_reader.h"

namespace mlrec::data {

namespace {

using namespace text;  // the tokenizer: files, lines, fields, numbers

constexpr std::array<int, 7> kAgeGroups1M = {1, 18, 25, 35, 45, 50, 56};
constexpr int kNumOccupations = 21;
constexpr int kItemFields100K = 24;
constexpr std::string_view kRatingsHeaderCsv = "userId,movieId,rating,timestamp";
constexpr std::string_view kMoviesHeaderCsv = "movieId,title,genres";

std::string join_path(const std::string& dir, const char* name) {
  if (dir.empty()) return name;
  return (std::filesystem::path(dir) / name).string();
}

// How to get data, with dir filled in so that the command can be pasted as is.
// fetch_movielens.sh RELEASE DEST unpacks into DEST/RELEASE.
std::string fetch_hint(const std::string& dir) {
  std::filesystem::path path = std::filesystem::path(dir).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();  // "data/ml-1m/"
  const std::string name = path.filename().string();
  for (const char* release : {"ml-1m", "ml-100k", "ml-latest-small", "ml-20m", "ml-25m"}) {
    if (name != release) continue;
    const std::string parent = path.parent_path().empty() ? "." : path.parent_path().string();
    return "get it with scripts/fetch_movielens.sh " + name + " " + parent + " (it unpacks into " + path.string() +
           "), or set data.dir to a release's folder";
  }
  return "get one with scripts/fetch_movielens.sh ml-1m " + dir + " and set data.dir=" +
         (std::filesystem::path(dir) / "ml-1m").string() + ", or set data.dir to a release's folder";
}

// Whether the release file `path` is there. A folder of its name is refused as such (it read as
// a missing file, or as no release at all).
bool is_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError::in(path, "is a folder, not a file");
  return std::filesystem::is_regular_file(path, ec);
}


// A set of raw ids read from a users or movies file. Dense ids (the usual case) use a table
// indexed by id, so the million membership checks of the ratings file are one load each.
class IdSet {
 public:
  /// Records id as read on the reader's current line; duplicates are found by finish().
  void add(const LineReader& reader, int32_t id) {
    ids_.push_back(id);
    lines_.push_back(static_cast<int32_t>(reader.line_number()));
  }

  /// Builds the lookup; reports the first duplicate in file order.
  void finish(const std::string& path, const char* what) {
    if (ids_.empty()) return;
    auto [lo, hi] = std::minmax_element(ids_.begin(), ids_.end());
    min_ = *lo;
    const int64_t range = static_cast<int64_t>(*hi) - *lo + 1;
    constexpr int64_t kMinTable = int64_t{1} << 20;
    dense_ = range <= std::max<int64_t>(kMinTable, 8 * static_cast<int64_t>(ids_.size()));
    if (dense_) {
      first_line_.assign(static_cast<size_t>(range), 0);
      for (size_t i = 0; i < ids_.size(); ++i) {
        int32_t& slot = first_line_[static_cast<size_t>(ids_[i] - min_)];
        if (slot != 0) duplicate(path, what, ids_[i], lines_[i], slot);
        slot = lines_[i];
      }
    } else {
      std::vector<size_t> order(ids_.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return ids_[a] < ids_[b]; });
      // The duplicate reported is the one whose second occurrence comes first in the file.
      size_t worst = order.size();
      for (size_t k = 1; k < order.size(); ++k) {
        if (ids_[order[k]] == ids_[order[k - 1]] && (worst == order.size() || order[k] < worst)) {
          worst = order[k];
        }
      }
      if (worst != order.size()) {
        int32_t first = 0;
        for (size_t i = 0; i < worst; ++i) {
          if (ids_[i] == ids_[worst]) {
            first = lines_[i];
            break;
          }
        }
        duplicate(path, what, ids_[worst], lines_[worst], first);
      }
      sorted_ids_.reserve(ids_.size());
      for (size_t i : order) sorted_ids_.push_back(ids_[i]);
    }
    std::vector<int32_t>().swap(lines_);
  }

  bool contains(int32_t id) const {
    if (dense_) {
      int64_t k = static_cast<int64_t>(id) - min_;
      return k >= 0 && k < static_cast<int64_t>(first_line_.size()) &&
             first_line_[static_cast<size_t>(k)] != 0;
    }
    return std::binary_search(sorted_ids_.begin(), sorted_ids_.end(), id);
  }

  int64_t size() const { return static_cast<int64_t>(ids_.size()); }

 private:
  [[noreturn]] static void duplicate(const std::string& path, const char* what, int32_t id,
                                     long line, long first) {
    throw InputError::at(path, line, std::string("duplicate ") + what + " id " + std::to_string(id) +
                                         " (first on line " + std::to_string(first) + ")");
  }

  std::vector<int32_t> ids_;
  std::vector<int32_t> lines_;
  bool dense_ = false;
  int32_t min_ = 0;
  std::vector<int32_t> first_line_;  // by id - min_; 0 = absent (line numbers start at 1)
  std::vector<int32_t> sorted_ids_;
};

// ---- users and movies files ------------------------------------------------------------------

// The layout of a users or movies file: how a line splits, how many fields it has (the first is
// the id), and a header line, if any.
struct IdFileLayout {
  std::string_view separator;  // "::", "|", or "," with RFC-4180 quoting
  int fields;
  bool csv_quoting;
  std::string_view header;     // "" = none
  const char* what;            // "movie", "user": for messages
};

constexpr IdFileLayout kMovies1M{"::", 3, false, "", "movie"};
constexpr IdFileLayout kItems100K{"|", kItemFields100K, false, "", "movie"};
constexpr IdFileLayout kMoviesCsv{",", 3, true, kMoviesHeaderCsv, "movie"};
constexpr IdFileLayout kUsers1M{"::", 5, false, "", "user"};
constexpr IdFileLayout kUsers100K{"|", 5, false, "", "user"};

// The most fields any reader looks at (a user's id, sex, age, occupation, zip code).
constexpr int kFieldsRead = 5;

// Reads an id file: every line's id (its first field), checked for duplicates. `per_line` reads
// the rest of a line's fields (a user's features) before its id is recorded.
template <class PerLine>
IdSet read_id_file(const std::string& path, const IdFileLayout& layout, PerLine&& per_line) {
  FileBuffer buf = read_whole_file(path);
  LineReader reader(path, buf);
  if (!layout.header.empty()) expect_header(reader, layout.header);
  IdSet ids;
  std::string_view line;
  std::array<std::string_view, kFieldsRead> f;
  std::array<std::string, kFieldsRead> storage;  // quoted CSV fields, unescaped
  const int capacity = std::min(layout.fields, kFieldsRead);
  const std::string id_name = std::string(layout.what) + " id";
  while (reader.next(line)) {
    const int n = layout.csv_quoting ? split_csv(reader, line, f.data(), storage.data(), capacity)
                                     : split_fields(line, layout.separator, f.data(), capacity);
    if (n != layout.fields) fail_field_count(reader, layout.fields, n, layout.separator);
    const int32_t id = int_field<int32_t>(reader, f[0], id_name.c_str());
    per_line(reader, f, id);
    ids.add(reader, id);
  }
  if (ids.size() == 0) fail_no_data(path);
  ids.finish(path, layout.what);
  return ids;
}

using Fields = std::array<std::string_view, kFieldsRead>;

IdSet read_movies(const std::string& path, const IdFileLayout& layout) {
  return read_id_file(path, layout, [](const LineReader&, const Fields&, int32_t) {});
}

int8_t parse_sex(const LineReader& reader, std::string_view field) {
  if (field == "F") return 0;
  if (field == "M") return 1;
  reader.fail("sex must be F or M, got " + quoted(field));
}

// Ages of ML-100K bucketed into ML-1M's groups, so that both releases share the feature codes.
int8_t age_group_of_age(int age) {
  if (age < 18) return 0;
  if (age < 25) return 1;
  if (age < 35) return 2;
  if (age < 45) return 3;
  if (age < 50) return 4;
  if (age < 56) return 5;
  return 6;
}

IdSet read_users_1m(const std::string& path, std::unordered_map<int32_t, UserFeatures>& features) {
  return read_id_file(path, kUsers1M, [&](const LineReader& reader, const Fields& f, int32_t id) {
    UserFeatures uf{};
    uf.sex = parse_sex(reader, f[1]);
    int age = int_field<int>(reader, f[2], "age");
    auto it = std::find(kAgeGroups1M.begin(), kAgeGroups1M.end(), age);
    if (it == kAgeGroups1M.end()) {
      reader.fail("age " + std::to_string(age) + " is not an ML-1M age group (1, 18, 25, 35, 45, 50 or 56)");
    }
    uf.age_group = static_cast<int8_t>(it - kAgeGroups1M.begin());
    int occupation = int_field<int>(reader, f[3], "occupation");
    if (occupation < 0 || occupation >= kNumOccupations) {
      reader.fail("occupation " + std::to_string(occupation) + " outside 0.." + std::to_string(kNumOccupations - 1));
    }
    uf.occupation = static_cast<int8_t>(occupation);
    features.emplace(id, uf);
  });
}

std::vector<std::string> read_occupations_100k(const std::string& path) {
  FileBuffer buf = read_whole_file(path);
  LineReader reader(path, buf);
  std::vector<std::string> names;
  std::string_view line;
  while (reader.next(line)) {
    if (std::find(names.begin(), names.end(), line) != names.end()) {
      reader.fail("duplicate occupation " + quoted(line));
    }
    names.emplace_back(line);
  }
  if (names.empty()) fail_no_data(path);
  // The feature's embedding table is sized for ML-1M's 21 codes.
  if (static_cast<int>(names.size()) > kNumOccupations) {
    throw InputError::in(path, "more than " + std::to_string(kNumOccupations) + " occupations");
  }
  return names;
}

IdSet read_users_100k(const std::string& path, const std::string& occupation_path,
                      const std::vector<std::string>& occupations,
                      std::unordered_map<int32_t, UserFeatures>& features) {
  return read_id_file(path, kUsers100K, [&](const LineReader& reader, const Fields& f, int32_t id) {
    UserFeatures uf{};
    int age = int_field<int>(reader, f[1], "age");
    if (age <= 0) reader.fail("age must be positive, got " + std::to_string(age));
    uf.age_group = age_group_of_age(age);
    uf.sex = parse_sex(reader, f[2]);
    auto it = std::find(occupations.begin(), occupations.end(), f[3]);
    if (it == occupations.end()) {
      reader.fail("unknown occupation " + quoted(f[3]) + " (not listed in " + occupation_path + ")");
    }
    uf.occupation = static_cast<int8_t>(it - occupations.begin());
    features.emplace(id, uf);
  });
}

// ---- ratings --------------------------------------------------------------------------------

struct RatingsFormat {
  std::string_view separator;
  std::string_view header;  // empty when the file has none
  const IdSet* users;       // nullptr when the release has no users file
  std::string users_path;
  const IdSet* movies;
  std::string movies_path;
};

// True when sep (one or two bytes) starts at p; then advances p past it.
inline bool skip_separator(const char*& p, const char* end, std::string_view sep) {
  if (static_cast<size_t>(end - p) < sep.size() || p[0] != sep[0]) return false;
  if (sep.size() == 2 && p[1] != sep[1]) return false;
  p += sep.size();
  return true;
}

// The fast path for one well-formed "user SEP movie SEP rating SEP timestamp" line, parsed in
// place without splitting it first. Returns false on anything unexpected; the caller then
// re-parses the line field by field to report the exact problem.
// Unsigned decimal digits at p into value (at most max_digits of them, so that the value cannot
// overflow T); advances p. Faster than std::from_chars, which also handles signs and bases;
// anything unusual falls back to the slow path.
template <class T, int max_digits>
inline bool parse_digits(const char*& p, const char* end, T& value) {
  const char* start = p;
  uint64_t v = 0;
  while (p < end && is_digit(*p) && p - start < max_digits) v = v * 10 + static_cast<uint64_t>(*p++ - '0');
  if (p == start || (p < end && is_digit(*p))) return false;
  value = static_cast<T>(v);
  return true;
}

bool parse_rating_line(std::string_view line, std::string_view sep, int32_t& user,
                       int32_t& movie, float& rating, std::string_view& rating_text, int64_t& ts) {
  const char* p = line.data();
  const char* end = p + line.size();
  // 9 digits fit in int32, 18 in int64; longer numbers take the slow path.
  if (!parse_digits<int32_t, 9>(p, end, user) || !skip_separator(p, end, sep)) return false;
  if (!parse_digits<int32_t, 9>(p, end, movie) || !skip_separator(p, end, sep)) return false;
  const char* rating_end = p;
  while (rating_end < end && *rating_end != sep[0]) ++rating_end;
  rating_text = std::string_view(p, rating_end - p);
  if (!parse_float(rating_text, rating)) return false;
  p = rating_end;
  if (!skip_separator(p, end, sep)) return false;
  return parse_digits<int64_t, 18>(p, end, ts) && p == end;
}

void read_ratings(const std::string& path, const RatingsFormat& format, RawRatings& raw) {
  FileBuffer buf = read_whole_file(path);
  const size_t lines = count_lines(buf);
  raw.user_id.reserve(lines);
  raw.movie_id.reserve(lines);
  raw.rating.reserve(lines);
  raw.timestamp.reserve(lines);
  LineReader reader(path, buf);
  if (!format.header.empty()) expect_header(reader, format.header);
  const RatingScale scale = raw.scale;
  std::string_view line;
  std::array<std::string_view, 4> f;
  while (reader.next(line)) {
    int32_t user, movie;
    float rating;
    std::string_view rating_text;
    int64_t ts;
    if (!parse_rating_line(line, format.separator, user, movie, rating, rating_text, ts)) {
      // Something is off: split the line properly to say exactly what.
      int n = split_fields(line, format.separator, f.data(), 4);
      if (n != 4) fail_field_count(reader, 4, n, format.separator);
      user = int_field<int32_t>(reader, f[0], "user id");
      movie = int_field<int32_t>(reader, f[1], "movie id");
      if (!parse_float(f[2], rating)) reader.fail("non-numeric rating " + quoted(f[2]));
      rating_text = f[2];
      ts = int_field<int64_t>(reader, f[3], "timestamp");
    }
    if (!scale.contains(rating)) {
      reader.fail("rating " + std::string(rating_text) + " is not on the scale " + describe(scale));
    }
    if (format.users != nullptr && !format.users->contains(user)) {
      reader.fail("user " + std::to_string(user) + " is not in " + format.users_path);
    }
    if (!format.movies->contains(movie)) {
      reader.fail("movie " + std::to_string(movie) + " is not in " + format.movies_path);
    }
    raw.user_id.push_back(user);
    raw.movie_id.push_back(movie);
    raw.rating.push_back(rating);
    raw.timestamp.push_back(ts);
  }
  if (raw.rating.empty()) fail_no_data(path);
}

[[noreturn]] void fail_missing(const std::string& dir, const char* name, Release release,
                               const char* needs) {
  throw InputError::in(join_path(dir, name), std::string("missing (an ") + release_name(release) +
                                                  " release needs " + needs + ")");
}

}  // namespace

std::string describe(const RatingScale& scale) {
  return format_number(scale.min_rating) + ".." + format_number(scale.max_rating) + " in steps of " +
         format_number(scale.step);
}

const char* release_name(Release release) {
  switch (release) {
    case Release::kMovieLens1M:
      return "ml-1m";
    case Release::kMovieLens100K:
      return "ml-100k";
    case Release::kMovieLensCsv:
      return "csv";
    case Release::kInteractions:
      return "interactions";
  }
  return "unknown";
}

RatingScale scale_of(Release release) {
  if (release == Release::kMovieLensCsv) return RatingScale{0.5f, 5.0f, 0.5f};
  return RatingScale{1.0f, 5.0f, 1.0f};
}

Release detect_release(const std::string& dir, std::vector<std::string>* others) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw InputError("no MovieLens release found: data directory " + dir +
                     " does not exist or is not a directory; " + fetch_hint(dir));
  }
  if (others) {
    bool first = true;
    for (const char* name : {"ratings.dat", "u.data", "ratings.csv"}) {
      if (!is_file(join_path(dir, name))) continue;
      if (!first) others->push_back(name);
      first = false;
    }
  }
  if (is_file(join_path(dir, "ratings.dat"))) {
    for (const char* name : {"users.dat", "movies.dat"}) {
      if (!is_file(join_path(dir, name))) {
        fail_missing(dir, name, Release::kMovieLens1M, "ratings.dat, users.dat and movies.dat");
      }
    }
    return Release::kMovieLens1M;
  }
  if (is_file(join_path(dir, "u.data"))) {
    for (const char* name : {"u.user", "u.item", "u.occupation"}) {
      if (!is_file(join_path(dir, name))) {
        fail_missing(dir, name, Release::kMovieLens100K, "u.data, u.user, u.item and u.occupation");
      }
    }
    return Release::kMovieLens100K;
  }
  if (is_file(join_path(dir, "ratings.csv"))) {
    if (!is_file(join_path(dir, "movies.csv"))) {
      fail_missing(dir, "movies.csv", Release::kMovieLensCsv, "ratings.csv and movies.csv");
    }
    return Release::kMovieLensCsv;
  }
  throw InputError("no MovieLens release found in " + dir +
                   " (expected ratings.dat, u.data or ratings.csv); " + fetch_hint(dir));
}

namespace {

std::string name_of(const std::vector<std::string>& names, int32_t raw_id, const char* what) {
  if (names.empty()) return std::to_string(raw_id);
  MLREC_CHECK(raw_id >= 0 && static_cast<size_t>(raw_id) < names.size(),
              std::string("raw ") + what + " id " + std::to_string(raw_id) + " has no name");
  return names[static_cast<size_t>(raw_id)];
}

}  // namespace

std::string user_name(const RawRatings& raw, int32_t raw_id) { return name_of(raw.user_names, raw_id, "user"); }

std::string movie_name(const RawRatings& raw, int32_t raw_id) {
  return name_of(raw.movie_names, raw_id, "movie");
}

RawRatings load_movielens(const std::string& dir) {
  std::vector<std::string> others;
  const Release release = detect_release(dir, &others);
  RawRatings raw = load_movielens(dir, release);
  raw.other_releases = others;
  return raw;
}

int64_t drop_repeated_ratings(RawRatings& raw) {
  const size_t n = raw.rating.size();
  // A first pass with an open-addressing set of (user, movie) keys finds out whether any pair
  // repeats (none does in the MovieLens releases): a few milliseconds per million ratings.
  size_t capacity = 2;
  int capacity_bits = 1;
  while (capacity < 2 * n + 2) capacity <<= 1, ++capacity_bits;
  // Every 64-bit value is some pair's key ((-1, -1) is all ones), so emptiness is kept apart.
  std::vector<uint64_t> table(capacity, 0);
  std::vector<uint8_t> used(capacity, 0);
  auto key_of = [&](size_t i) { return (uint64_t(uint32_t(raw.user_id[i])) << 32) | uint32_t(raw.movie_id[i]); };
  auto slot_of = [&](uint64_t key) {
    // The product's high bits: its low ones depend on the movie id's low bits only, which piles
    // every user's pairs with one movie into one run of slots (minutes on 32 million ratings).
    size_t slot = static_cast<size_t>((key * 0x9e3779b97f4a7c15ULL) >> (64 - capacity_bits));
    while (used[slot] && table[slot] != key) slot = (slot + 1) & (capacity - 1);
    return slot;
  };
  bool repeated = false;
  for (size_t i = 0; i < n && !repeated; ++i) {
    const uint64_t key = key_of(i);
    const size_t slot = slot_of(key);
    repeated = used[slot] != 0;
    table[slot] = key;
    used[slot] = 1;
  }
  if (!repeated) return 0;
  // Some pair repeats: a second pass gathers the rows of the repeated pairs (each pair's first row
  // remembered in its slot), and only those are ordered by (pair, timestamp, line): each pair
  // keeps its last.
  std::fill(used.begin(), used.end(), 0);
  std::vector<size_t> first_row(capacity);
  std::vector<uint8_t> seen_again(capacity, 0);
  std::vector<size_t> rows;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t key = key_of(i);
    const size_t slot = slot_of(key);
    if (!used[slot]) {
      table[slot] = key;
      used[slot] = 1;
      first_row[slot] = i;
      continue;
    }
    if (!seen_again[slot]) {
      seen_again[slot] = 1;
      rows.push_back(first_row[slot]);
    }
    rows.push_back(i);
  }
  std::vector<uint64_t>().swap(table);
  std::vector<uint8_t>().swap(used);
  std::sort(rows.begin(), rows.end(), [&](size_t a, size_t b) {
    const uint64_t ka = key_of(a), kb = key_of(b);
    if (ka != kb) return ka < kb;
    if (raw.timestamp[a] != raw.timestamp[b]) return raw.timestamp[a] < raw.timestamp[b];
    return a < b;
  });
  std::vector<char> keep(n, 1);
  for (size_t j = 0; j + 1 < rows.size(); ++j) {
    if (key_of(rows[j]) == key_of(rows[j + 1])) keep[rows[j]] = 0;
  }
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    raw.user_id[out] = raw.user_id[i];
    raw.movie_id[out] = raw.movie_id[i];
    raw.rating[out] = raw.rating[i];
    raw.timestamp[out] = raw.timestamp[i];
    ++out;
  }
  for (auto* column : {&raw.user_id, &raw.movie_id}) column->resize(out);
  raw.rating.resize(out);
  raw.timestamp.resize(out);
  return static_cast<int64_t>(n - out);
}

RawRatings load_movielens(const std::string& dir, Release release) {
  RawRatings raw;
  raw.release = release;
  raw.dir = dir;
  raw.scale = scale_of(release);
  switch (release) {
    case Release::kMovieLens1M: {
      const std::string movies_path = join_path(dir, "movies.dat");
      const std::string users_path = join_path(dir, "users.dat");
      IdSet movies = read_movies(movies_path, kMovies1M);
      IdSet users = read_users_1m(users_path, raw.user_features);
      raw.has_user_features = true;
      raw.catalog_movies = movies.size();
      read_ratings(join_path(dir, "ratings.dat"),
                   RatingsFormat{"::", "", &users, users_path, &movies, movies_path}, raw);
      break;
    }
    case Release::kMovieLens100K: {
      const std::string items_path = join_path(dir, "u.item");
      const std::string users_path = join_path(dir, "u.user");
      const std::string occupation_path = join_path(dir, "u.occupation");
      IdSet movies = read_movies(items_path, kItems100K);
      std::vector<std::string> occupations = read_occupations_100k(occupation_path);
      IdSet users = read_users_100k(users_path, occupation_path, occupations, raw.user_features);
      raw.has_user_features = true;
      raw.catalog_movies = movies.size();
      read_ratings(join_path(dir, "u.data"),
                   RatingsFormat{"\t", "", &users, users_path, &movies, items_path}, raw);
      break;
    }
    case Release::kMovieLensCsv: {
      const std::string movies_path = join_path(dir, "movies.csv");
      IdSet movies = read_movies(movies_path, kMoviesCsv);
      raw.catalog_movies = movies.size();
      read_ratings(join_path(dir, "ratings.csv"),
                   RatingsFormat{",", kRatingsHeaderCsv, nullptr, "", &movies, movies_path}, raw);
      break;
    }
    case Release::kInteractions:
      // Not a MovieLens layout: data.format=interactions reads it (load_interactions).
      throw InputError::in(dir, "an interactions file is read by load_interactions, not as a MovieLens release");
  }
  raw.duplicates_dropped = drop_repeated_ratings(raw);
  return raw;
}

}  // namespace mlrec::data
