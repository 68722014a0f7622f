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

namespace mlrec::data {

namespace {

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
std::string fetch_hint(const std::string& dir) {
  return "get one with scripts/fetch_movielens.sh ml-1m " + dir + " or set data.dir";
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// A whole file in memory. new char[] rather than std::string so that the (up to hundreds of
// MB) buffer is not zero-filled before being overwritten.
struct FileBuffer {
  std::unique_ptr<char[]> data;
  size_t size = 0;
};

FileBuffer read_whole_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw InputError::in(path, std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    std::FILE* file;
    ~Closer() { std::fclose(file); }
  } closer{f};
  FileBuffer buf;
  long size = -1;
  if (std::fseek(f, 0, SEEK_END) == 0) size = std::ftell(f);
  if (size < 0 || std::fseek(f, 0, SEEK_SET) != 0) {
    throw InputError::in(path, "cannot determine the file size");
  }
  // One spare byte so that a file growing while we read is noticed as a short read below.
  size_t capacity = static_cast<size_t>(size) + 1;
  buf.data.reset(new char[capacity]);
  buf.size = std::fread(buf.data.get(), 1, capacity, f);
  if (std::ferror(f)) throw InputError::in(path, std::string("read error: ") + std::strerror(errno));
  if (buf.size != static_cast<size_t>(size)) throw InputError::in(path, "file changed while reading");
  if (buf.size == 0) throw InputError::in(path, "empty file");
  return buf;
}

// A field quoted for an error message: bounded length, unprintable bytes shown as '?'.
std::string quoted(std::string_view field) {
  constexpr size_t kMaxShown = 40;
  std::string out = "'";
  for (size_t i = 0; i < field.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(field[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (field.size() > kMaxShown) out += "...";
  return out + "'";
}

// Iterates over the lines of a buffer: strips "\n" / "\r\n", accepts a missing final newline
// and blank lines at the very end, and rejects a blank line with data after it (a blank line
// in the middle is more likely a damaged file than intent).
class LineReader {
 public:
  LineReader(const std::string& path, const FileBuffer& buf)
      : path_(path), p_(buf.data.get()), end_(buf.data.get() + buf.size) {
    // A UTF-8 byte-order mark is an editor artefact, not data.
    if (end_ - p_ >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) p_ += 3;
  }

  /// Next line into line; false at the end of the data.
  bool next(std::string_view& line) {
    if (p_ >= end_) return false;
    const char* nl = static_cast<const char*>(std::memchr(p_, '\n', end_ - p_));
    const char* stop = nl != nullptr ? nl : end_;
    const char* e = stop;
    if (e > p_ && e[-1] == '\r') --e;
    ++line_;
    line = std::string_view(p_, e - p_);
    p_ = nl != nullptr ? nl + 1 : end_;
    if (line.empty()) {
      if (rest_is_blank()) {
        p_ = end_;
        return false;
      }
      fail("blank line before the end of the file");
    }
    return true;
  }

  [[noreturn]] void fail(const std::string& reason) const {
    throw InputError::at(path_, line_, reason);
  }

  long line_number() const { return line_; }
  const std::string& path() const { return path_; }

 private:
  bool rest_is_blank() const {
    for (const char* q = p_; q < end_; ++q) {
      if (*q != '\n' && *q != '\r') return false;
    }
    return true;
  }

  const std::string& path_;
  const char* p_;
  const char* end_;
  long line_ = 0;
};

// Splits line at sep (one or more bytes); stores up to capacity fields in out and returns the
// total number of fields, so that a wrong count is reported without storing the extras.
int split_fields(std::string_view line, std::string_view sep, std::string_view* out, int capacity) {
  int count = 0;
  const char* p = line.data();
  const char* end = p + line.size();
  const size_t sep_len = sep.size();
  while (true) {
    const char* q = p;
    const char* found = nullptr;
    while (q < end) {
      const char* c = static_cast<const char*>(std::memchr(q, sep[0], end - q));
      if (c == nullptr) break;
      if (static_cast<size_t>(end - c) >= sep_len && std::memcmp(c, sep.data(), sep_len) == 0) {
        found = c;
        break;
      }
      q = c + 1;
    }
    const char* field_end = found != nullptr ? found : end;
    if (count < capacity) out[count] = std::string_view(p, field_end - p);
    ++count;
    if (found == nullptr) return count;
    p = found + sep_len;
  }
}

// Splits one CSV line with RFC-4180 quoting ("a, b" and doubled quotes ""), as movies.csv
// quotes titles that contain commas. Unquoted fields are views into line; quoted ones are
// unescaped into storage. Returns the number of fields; a malformed quote fails the line.
int split_csv(const LineReader& reader, std::string_view line, std::string_view* out,
              std::string* storage, int capacity) {
  int count = 0;
  size_t i = 0;
  while (true) {
    std::string_view field;
    if (i < line.size() && line[i] == '"') {
      std::string value;
      size_t j = i + 1;
      while (true) {
        if (j >= line.size()) reader.fail("unterminated quoted field");
        if (line[j] == '"') {
          if (j + 1 < line.size() && line[j + 1] == '"') {
            value += '"';
            j += 2;
            continue;
          }
          ++j;
          break;
        }
        value += line[j++];
      }
      if (j < line.size() && line[j] != ',') reader.fail("text after a closing quote");
      if (count < capacity) {
        storage[count] = std::move(value);
        field = storage[count];
      }
      i = j;
    } else {
      size_t j = line.find(',', i);
      if (j == std::string_view::npos) j = line.size();
      field = line.substr(i, j - i);
      if (field.find('"') != std::string_view::npos) reader.fail("quote inside an unquoted field");
      i = j;
    }
    if (count < capacity) out[count] = field;
    ++count;
    if (i >= line.size()) return count;
    ++i;  // the comma
  }
}

std::string separator_name(std::string_view sep) {
  if (sep == "\t") return "tabs";
  return "'" + std::string(sep) + "'";
}

[[noreturn]] void fail_field_count(const LineReader& reader, int expected, int got,
                                   std::string_view sep) {
  reader.fail("expected " + std::to_string(expected) + " fields separated by " +
              separator_name(sep) + ", got " + std::to_string(got));
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool parse_float(std::string_view s, float& out) {
  // Fast paths for the only shapes MovieLens uses ("4" and "3.5"); exact because the integer
  // numerator and the division by 10 are each correctly rounded, as from_chars would be.
  if (s.size() == 1 && is_digit(s[0])) {
    out = static_cast<float>(s[0] - '0');
    return true;
  }
  if (s.size() == 3 && is_digit(s[0]) && s[1] == '.' && is_digit(s[2])) {
    out = static_cast<float>((s[0] - '0') * 10 + (s[2] - '0')) / 10.0f;
    return true;
  }
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(out);
}

template <class T>
T int_field(const LineReader& reader, std::string_view field, const char* what) {
  T value;
  if (!field.empty()) {
    auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (ptr == field.data() + field.size()) {
      if (ec == std::errc()) return value;
      if (ec == std::errc::result_out_of_range) {
        reader.fail(std::string(what) + " " + quoted(field) + " is out of range");
      }
    }
  }
  reader.fail(std::string("non-numeric ") + what + " " + quoted(field));
}

std::string format_number(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

std::string describe(const RatingScale& scale) {
  return format_number(scale.min_rating) + ".." + format_number(scale.max_rating) + " in steps of " +
         format_number(scale.step);
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

size_t count_lines(const FileBuffer& buf) {
  size_t n = 0;
  const char* p = buf.data.get();
  const char* end = p + buf.size;
  while ((p = static_cast<const char*>(std::memchr(p, '\n', end - p))) != nullptr) {
    ++n;
    ++p;
  }
  return n + 1;
}

void expect_header(LineReader& reader, std::string_view header) {
  std::string_view line;
  if (!reader.next(line)) throw InputError::in(reader.path(), "empty file");
  if (line != header) {
    reader.fail("expected the header line '" + std::string(header) + "', got " + quoted(line));
  }
}

[[noreturn]] void fail_no_data(const std::string& path) {
  throw InputError::in(path, "empty file (no data lines)");
}

// ---- movie catalogs -------------------------------------------------------------------------

IdSet read_movies_1m(const std::string& path) {
  FileBuffer buf = read_whole_file(path);
  LineReader reader(path, buf);
  IdSet movies;
  std::string_view line;
  std::array<std::string_view, 3> f;
  while (reader.next(line)) {
    int n = split_fields(line, "::", f.data(), 3);
    if (n != 3) fail_field_count(reader, 3, n, "::");
    movies.add(reader, int_field<int32_t>(reader, f[0], "movie id"));
  }
  if (movies.size() == 0) fail_no_data(path);
  movies.finish(path, "movie");
  return movies;
}

IdSet read_items_100k(const std::string& path) {
  FileBuffer buf = read_whole_file(path);
  LineReader reader(path, buf);
  IdSet movies;
  std::string_view line;
  std::string_view f[1];
  while (reader.next(line)) {
    int n = split_fields(line, "|", f, 1);
    if (n != kItemFields100K) fail_field_count(reader, kItemFields100K, n, "|");
    movies.add(reader, int_field<int32_t>(reader, f[0], "movie id"));
  }
  if (movies.size() == 0) fail_no_data(path);
  movies.finish(path, "movie");
  return movies;
}

IdSet read_movies_csv(const std::string& path) {
  FileBuffer buf = read_whole_file(path);
  LineReader reader(path, buf);
  expect_header(reader, kMoviesHeaderCsv);
  IdSet movies;
  std::string_view line;
  std::array<std::string_view, 3> f;
  std::array<std::string, 3> storage;
  while (reader.next(line)) {
    int n = split_csv(reader, line, f.data(), storage.data(), 3);
    if (n != 3) fail_field_count(reader, 3, n, ",");
    movies.add(reader, int_field<int32_t>(reader, f[0], "movie id"));
  }
  if (movies.size() == 0) fail_no_data(path);
  movies.finish(path, "movie");
  return movies;
}

// ---- users ----------------------------------------------------------------------------------

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
  FileBuffer buf = read_whole_file(path);
  LineReader reader(path, buf);
  IdSet users;
  std::string_view line;
  std::array<std::string_view, 5> f;
  while (reader.next(line)) {
    int n = split_fields(line, "::", f.data(), 5);
    if (n != 5) fail_field_count(reader, 5, n, "::");
    int32_t id = int_field<int32_t>(reader, f[0], "user id");
    UserFeatures uf{};
    uf.sex = parse_sex(reader, f[1]);
    int age = int_field<int>(reader, f[2], "age");
    auto it = std::find(kAgeGroups1M.begin(), kAgeGroups1M.end(), age);
    if (it == kAgeGroups1M.end()) {
      reader.fail("age " + std::to_string(age) +
                  " is not an ML-1M age group (1, 18, 25, 35, 45, 50 or 56)");
    }
    uf.age_group = static_cast<int8_t>(it - kAgeGroups1M.begin());
    int occupation = int_field<int>(reader, f[3], "occupation");
    if (occupation < 0 || occupation >= kNumOccupations) {
      reader.fail("occupation " + std::to_string(occupation) + " outside 0.." +
                  std::to_string(kNumOccupations - 1));
    }
    uf.occupation = static_cast<int8_t>(occupation);
    users.add(reader, id);
    features.emplace(id, uf);
  }
  if (users.size() == 0) fail_no_data(path);
  users.finish(path, "user");
  return users;
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
  FileBuffer buf = read_whole_file(path);
  LineReader reader(path, buf);
  IdSet users;
  std::string_view line;
  std::array<std::string_view, 5> f;
  while (reader.next(line)) {
    int n = split_fields(line, "|", f.data(), 5);
    if (n != 5) fail_field_count(reader, 5, n, "|");
    int32_t id = int_field<int32_t>(reader, f[0], "user id");
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
    users.add(reader, id);
    features.emplace(id, uf);
  }
  if (users.size() == 0) fail_no_data(path);
  users.finish(path, "user");
  return users;
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

const char* release_name(Release release) {
  switch (release) {
    case Release::kMovieLens1M:
      return "ml-1m";
    case Release::kMovieLens100K:
      return "ml-100k";
    case Release::kMovieLensCsv:
      return "csv";
  }
  return "unknown";
}

RatingScale scale_of(Release release) {
  if (release == Release::kMovieLensCsv) return RatingScale{0.5f, 5.0f, 0.5f};
  return RatingScale{1.0f, 5.0f, 1.0f};
}

Release detect_release(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw InputError("no MovieLens release found: data directory " + dir +
                     " does not exist or is not a directory; " + fetch_hint(dir));
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

RawRatings load_movielens(const std::string& dir) { return load_movielens(dir, detect_release(dir)); }

RawRatings load_movielens(const std::string& dir, Release release) {
  RawRatings raw;
  raw.release = release;
  raw.dir = dir;
  raw.scale = scale_of(release);
  switch (release) {
    case Release::kMovieLens1M: {
      const std::string movies_path = join_path(dir, "movies.dat");
      const std::string users_path = join_path(dir, "users.dat");
      IdSet movies = read_movies_1m(movies_path);
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
      IdSet movies = read_items_100k(items_path);
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
      IdSet movies = read_movies_csv(movies_path);
      raw.catalog_movies = movies.size();
      read_ratings(join_path(dir, "ratings.csv"),
                   RatingsFormat{",", kRatingsHeaderCsv, nullptr, "", &movies, movies_path}, raw);
      break;
    }
  }
  return raw;
}

DataStats compute_stats(const RawRatings& raw) {
  DataStats s;
  s.ratings = raw.size();
  if (s.ratings == 0) return s;
  DenseCodes users = dense_codes(raw.user_id);
  s.users = static_cast<int64_t>(users.ids.size());
  s.movies = static_cast<int64_t>(dense_codes(raw.movie_id).ids.size());
  auto [lo, hi] = std::minmax_element(raw.rating.begin(), raw.rating.end());
  s.min_rating = *lo;
  s.max_rating = *hi;
  std::vector<int64_t> per_user(users.ids.size(), 0);
  for (int32_t c : users.code) ++per_user[static_cast<size_t>(c)];
  auto [cmin, cmax] = std::minmax_element(per_user.begin(), per_user.end());
  s.per_user_min = *cmin;
  s.per_user_max = *cmax;
  // Median as numpy computes it (mean of the two middle values), truncated to an integer.
  const size_t mid = per_user.size() / 2;
  std::nth_element(per_user.begin(), per_user.begin() + mid, per_user.end());
  int64_t upper = per_user[mid];
  if (per_user.size() % 2 == 0) {
    int64_t lower = *std::max_element(per_user.begin(), per_user.begin() + mid);
    s.per_user_median = (lower + upper) / 2;
  } else {
    s.per_user_median = upper;
  }
  return s;
}

namespace {
// 1000209 -> "1,000,209", for readable counts.
std::string grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}
}  // namespace

std::string format_stats(const RawRatings& raw, const DataStats& s) {
  std::ostringstream os;
  os << release_name(raw.release) << " release in " << raw.dir << "\n";
  os << "  " << grouped(s.ratings) << " ratings from " << grouped(s.users) << " users on "
     << grouped(s.movies) << " movies (" << grouped(raw.catalog_movies) << " in the catalog)\n";
  os << "  ratings " << format_number(s.min_rating) << ".." << format_number(s.max_rating)
     << " (scale " << describe(raw.scale) << ")\n";
  os << "  ratings per user: min " << grouped(s.per_user_min) << ", median "
     << grouped(s.per_user_median) << ", max " << grouped(s.per_user_max) << "\n";
  os << "  user features: " << (raw.has_user_features ? "sex, age group, occupation" : "none")
     << "\n";
  return os.str();
}

}  // namespace mlrec::data
