// The interactions reader (mlrec/data/interactions.h says what it accepts). The file is read
// whole; the data lines are cut into up to 8 ranges parsed by as many threads, each into its
// slice of the output columns, with its own table of text ids; the tables are merged, sorted and
// the rows renumbered at the end. A line is cut into fields in one byte loop; only a line that
// holds a '"' takes the RFC-4180 path.
#include "mlrec/data/interactions.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <thread>
#include <unordered_map>
#include <utility>

#include "mlrec/common/error.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/strings.h"
#include "text_reader.h"

namespace mlrec::data {

namespace {

using namespace text;  // the tokenizer: files, numbers, quoting

enum Slot { kUserSlot, kItemSlot, kRatingSlot, kTimeSlot, kSlots };
constexpr std::array<const char*, kSlots> kSlotKeys = {"data.interactions.user", "data.interactions.item",
                                                       "data.interactions.rating", "data.interactions.timestamp"};
constexpr int kMaxThreads = 8;
constexpr size_t kBytesPerThread = size_t{4} << 20;  // smaller files are parsed by one thread
constexpr int kMaxRatingLevels = 1000;

// What the header says: the separator, the number of columns and which column feeds which slot.
struct Layout {
  std::string path;
  const char* begin = nullptr;  // the file buffer
  const char* end = nullptr;
  char separator = ',';
  int columns = 0;
  std::vector<int8_t> slot;               // per column: its slot, or -1 (ignored)
  std::array<std::string, kSlots> names;  // header names of the slots' columns
  bool has_time = false;
  bool declared = false;  // the rating scale is declared (checked per line)
  RatingScale scale;
};

[[noreturn]] void fail_at(const Layout& layout, long line, const std::string& reason) {
  throw InputError::at(layout.path, line, reason);
}

[[noreturn]] void fail_column(const Layout& layout, long line, int slot, const std::string& reason) {
  fail_at(layout, line, "column " + text::quoted(layout.names[static_cast<size_t>(slot)]) + ": " + reason);
}

// ---- ids -------------------------------------------------------------------------------------

// A canonical decimal int32: what std::to_string writes ("0", "17", "-3").
inline bool parse_canonical_int32(std::string_view s, int32_t& out) {
  const char* p = s.data();
  const char* end = p + s.size();
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  if (p == end || end - p > 10) return false;
  if (*p == '0' && (end - p > 1 || negative)) return false;  // leading zero, "-0"
  int64_t v = 0;
  for (; p < end; ++p) {
    if (!is_digit(*p)) return false;
    v = v * 10 + (*p - '0');
  }
  if (negative) v = -v;
  if (v < INT32_MIN || v > INT32_MAX) return false;
  out = static_cast<int32_t>(v);
  return true;
}

inline uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  for (size_t i = 0; i < n; ++i) w |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

// Distinct names, each numbered in first-seen order: an open-addressing table of (hash, index)
// over copies of the names packed in one arena, so that the comparisons of a lookup touch a few
// MB of hot memory rather than the whole file.
class Interner {
 public:
  Interner() : slots_(1024, 0) {}

  /// The index of name (copied if new).
  int32_t intern(std::string_view name) {
    if (last_ >= 0 && same(entries_[static_cast<size_t>(last_)], name)) {
      return last_;  // consecutive rows of one user or item, as in a sorted file
    }
    const uint64_t h = hash_bytes(name.data(), name.size());
    const uint64_t tag = h >> 32;
    const size_t mask = slots_.size() - 1;
    size_t i = static_cast<size_t>(h) & mask;
    while (true) {
      const uint64_t s = slots_[i];
      if (s == 0) break;
      if ((s >> 32) == tag) {
        const auto index = static_cast<int32_t>((s & 0xffffffffULL) - 1);
        if (same(entries_[static_cast<size_t>(index)], name)) return last_ = index;
      }
      i = (i + 1) & mask;
    }
    const auto index = static_cast<int32_t>(entries_.size());
    entries_.push_back(Entry{bytes_.size(), static_cast<uint32_t>(name.size()), static_cast<uint32_t>(tag)});
    bytes_.append(name.data(), name.size());
    slots_[i] = (tag << 32) | (static_cast<uint64_t>(index) + 1);
    if (2 * entries_.size() > slots_.size()) grow();
    return last_ = index;
  }

  size_t size() const { return entries_.size(); }

  /// The names by index (views into this interner).
  std::vector<std::string_view> names() const {
    std::vector<std::string_view> out;
    out.reserve(entries_.size());
    for (const Entry& e : entries_) out.emplace_back(bytes_.data() + e.offset, e.size);
    return out;
  }

 private:
  struct Entry {
    size_t offset;  // in bytes_
    uint32_t size;
    uint32_t tag;  // the hash's high half
  };

  bool same(const Entry& e, std::string_view name) const {
    return e.size == name.size() && std::memcmp(bytes_.data() + e.offset, name.data(), name.size()) == 0;
  }

  void grow() {
    std::vector<uint64_t> bigger(slots_.size() * 2, 0);
    const size_t mask = bigger.size() - 1;
    for (size_t k = 0; k < entries_.size(); ++k) {
      const Entry& e = entries_[k];
      const uint64_t h = hash_bytes(bytes_.data() + e.offset, e.size);
      size_t i = static_cast<size_t>(h) & mask;
      while (bigger[i] != 0) i = (i + 1) & mask;
      bigger[i] = (static_cast<uint64_t>(e.tag) << 32) | (static_cast<uint64_t>(k) + 1);
    }
    slots_.swap(bigger);
  }

  std::vector<uint64_t> slots_;  // 0 = empty; else tag << 32 | (index + 1)
  std::vector<Entry> entries_;
  std::string bytes_;  // the names, back to back
  int32_t last_ = -1;
};

// One id column of one range of lines: integers until a value that is not one is met, then
// names (the integers before it renamed as their text).
struct IdColumn {
  bool is_int = true;
  Interner names;

  /// Turns the first `rows` integer ids into indices of their text.
  void to_names(int32_t* ids, int64_t rows) {
    std::unordered_map<int32_t, int32_t> index_of;
    for (int64_t r = 0; r < rows; ++r) {
      auto [it, fresh] = index_of.try_emplace(ids[r], 0);
      if (fresh) it->second = names.intern(std::to_string(ids[r]));
      ids[r] = it->second;
    }
    is_int = false;
  }
};

// ---- ratings and timestamps ------------------------------------------------------------------

// The distinct rating values of a range of lines (for inferring the scale), up to a cap.
class DistinctRatings {
 public:
  DistinctRatings() : table_(4096, 0) {}

  void add(float value) {
    value += 0.0f;  // -0 -> +0
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    if (bits == last_ && !values_.empty()) return;
    last_ = bits;
    if (overflow_) return;
    const uint64_t key = (uint64_t{1} << 32) | bits;
    size_t i = (bits * 0x9e3779b1u) >> 20;  // 12 bits: the table's 4096 slots
    while (table_[i] != 0) {
      if (table_[i] == key) return;
      i = (i + 1) & (table_.size() - 1);
    }
    if (values_.size() > static_cast<size_t>(kMaxRatingLevels)) {
      overflow_ = true;
      return;
    }
    table_[i] = key;
    values_.push_back(value);
  }

  const std::vector<float>& values() const { return values_; }
  bool overflow() const { return overflow_; }

 private:
  std::vector<uint64_t> table_;
  std::vector<float> values_;
  uint32_t last_ = 0;
  bool overflow_ = false;
};

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// n digits at s[pos] into v.
bool digits(std::string_view s, size_t pos, size_t n, int& v) {
  if (pos + n > s.size()) return false;
  v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  return true;
}

// YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|(+|-)HH[:MM]] as Unix seconds (UTC unless an offset says
// otherwise; fractions of a second are dropped).
bool parse_iso8601(std::string_view s, int64_t& out) {
  int year, month, day;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day)) {
    return false;
  }
  static constexpr int kDays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1]) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return false;
  int64_t seconds = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400;
  size_t pos = 10;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    int hour, minute, second = 0;
    if (!digits(s, pos + 1, 2, hour) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, minute) || hour > 23 || minute > 59) {
      return false;
    }
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!digits(s, pos + 1, 2, second) || second > 60) return false;  // 60: a leap second
      pos += 3;
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        ++pos;
        const size_t start = pos;
        while (pos < s.size() && is_digit(s[pos])) ++pos;
        if (pos == start) return false;
      }
    }
    seconds += hour * 3600 + minute * 60 + second;
  }
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-') && pos > 10) {
    const int sign = s[pos] == '+' ? 1 : -1;
    int hours, minutes = 0;
    if (!digits(s, pos + 1, 2, hours) || hours > 23) return false;
    pos += 3;
    if (pos < s.size() && s[pos] == ':') ++pos;
    if (pos < s.size()) {
      if (!digits(s, pos, 2, minutes) || minutes > 59) return false;
      pos += 2;
    }
    seconds -= sign * (hours * 3600 + minutes * 60);
  }
  if (pos != s.size()) return false;
  out = seconds;
  return true;
}

inline bool parse_timestamp(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec == std::errc() && ptr == s.data() + s.size()) return true;
  return s.size() >= 10 && s[4] == '-' && parse_iso8601(s, out);
}

// ---- one range of lines ----------------------------------------------------------------------

struct Chunk {
  const char* begin = nullptr;  // at a line start
  const char* end = nullptr;    // at a line start, or the end of the buffer
  long first_line = 0;          // line number of begin
  int64_t lines = 0;            // lines in [begin, end)
  int64_t offset = 0;           // the output row of its first line
  int64_t rows = 0;             // data rows read (lines less trailing blank lines)
  std::array<IdColumn, 2> ids;  // user, item
  DistinctRatings ratings;
  std::exception_ptr error;
};

int64_t count_lines_in(const char* p, const char* end) {
  if (p >= end) return 0;
  int64_t n = 0;
  const char* q = p;
  while ((q = static_cast<const char*>(std::memchr(q, '\n', static_cast<size_t>(end - q)))) != nullptr) {
    ++n;
    ++q;
  }
  return n + (end[-1] != '\n' ? 1 : 0);
}

bool only_line_ends(const char* p, const char* end) {
  for (; p < end; ++p) {
    if (*p != '\n' && *p != '\r') return false;
  }
  return true;
}

struct Columns {
  int32_t* user;
  int32_t* item;
  float* rating;
  int64_t* timestamp;
};

[[noreturn]] void fail_field_count(const Layout& layout, long line, int got) {
  fail_at(layout, line,
          "expected " + std::to_string(layout.columns) + " fields separated by " +
              separator_name(std::string_view(&layout.separator, 1)) + " (as in the header), got " +
              std::to_string(got));
}

void parse_chunk(const Layout& layout, Chunk& chunk, Columns out) {
  const char sep = layout.separator;
  const int ncol = layout.columns;
  const int8_t* slot = layout.slot.data();
  std::array<std::string_view, kSlots> f;
  std::vector<std::string_view> all(static_cast<size_t>(ncol));
  std::vector<std::string> storage(static_cast<size_t>(ncol));
  const char* p = chunk.begin;
  long line_number = chunk.first_line - 1;
  int64_t r = 0;
  while (p < chunk.end) {
    ++line_number;
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(chunk.end - p)));
    const char* e = nl != nullptr ? nl : chunk.end;
    const char* next = nl != nullptr ? nl + 1 : chunk.end;
    if (e > p && e[-1] == '\r') --e;
    if (e == p) {
      if (only_line_ends(p, layout.end)) break;
      fail_at(layout, line_number, "blank line before the end of the file");
    }
    // Fields, cut in one pass; a quote sends the line to the RFC-4180 path.
    int n = 0;
    bool has_quote = false;
    for (const char* q = p;;) {
      const char* start = q;
      while (q < e && *q != sep && *q != '"') ++q;
      if (q < e && *q == '"') {
        has_quote = true;
        break;
      }
      if (n < ncol && slot[n] >= 0) f[static_cast<size_t>(slot[n])] = std::string_view(start, static_cast<size_t>(q - start));
      ++n;
      if (q == e) break;
      ++q;
    }
    if (has_quote) {
      QuoteError why;
      n = split_quoted(std::string_view(p, static_cast<size_t>(e - p)), sep, all.data(), storage.data(), ncol, &why);
      if (n < 0) {
        if (why.field < ncol) {
          const int s = slot[why.field];
          if (s >= 0) fail_column(layout, line_number, s, why.reason);
        }
        fail_at(layout, line_number, std::string(why.reason) + " (field " + std::to_string(why.field + 1) + ")");
      }
      for (int c = 0; c < std::min(n, ncol); ++c) {
        if (slot[c] >= 0) f[static_cast<size_t>(slot[c])] = all[static_cast<size_t>(c)];
      }
    }
    if (n != ncol) fail_field_count(layout, line_number, n);

    for (int s : {kUserSlot, kItemSlot}) {
      const std::string_view v = f[static_cast<size_t>(s)];
      IdColumn& column = chunk.ids[static_cast<size_t>(s)];
      int32_t* ids = s == kUserSlot ? out.user : out.item;
      int32_t id;
      if (column.is_int && parse_canonical_int32(v, id)) {
        ids[r] = id;
        continue;
      }
      if (v.find_first_not_of(" \t") == std::string_view::npos) {
        fail_column(layout, line_number, s,
                    std::string(v.empty() ? "empty " : "blank ") + (s == kUserSlot ? "user" : "item") + " id");
      }
      if (column.is_int) column.to_names(ids, r);
      const size_t known = column.names.size();
      ids[r] = column.names.intern(v);
      // Checked once per distinct id: id_maps.json (JSON, so UTF-8) will hold it.
      if (column.names.size() > known && !is_valid_utf8(v)) fail_column(layout, line_number, s, not_utf8(v));
    }

    const std::string_view rating_text = f[kRatingSlot];
    float rating;
    if (!parse_float(rating_text, rating)) {
      fail_column(layout, line_number, kRatingSlot,
                  rating_text.empty() ? std::string("empty rating") : "non-numeric rating " + text::quoted(rating_text));
    }
    if (layout.declared) {
      if (!layout.scale.contains(rating)) {
        fail_column(layout, line_number, kRatingSlot,
                    "rating " + text::quoted(rating_text) + " is not on the declared scale " + describe(layout.scale) +
                        " (data.interactions.rating_min, rating_max, rating_step)");
      }
    } else {
      chunk.ratings.add(rating);
    }
    out.rating[r] = rating;

    if (layout.has_time) {
      const std::string_view t = f[kTimeSlot];
      int64_t ts;
      if (!parse_timestamp(t, ts)) {
        fail_column(layout, line_number, kTimeSlot,
                    t.empty() ? std::string("empty timestamp")
                              : "bad timestamp " + text::quoted(t) +
                                    " (expected an integer, e.g. Unix seconds, or an ISO-8601 date or time "
                                    "such as 2020-01-02 or 2020-01-02T03:04:05Z)");
      }
      out.timestamp[r] = ts;
    } else {
      out.timestamp[r] = chunk.offset + r;  // file order is time order
    }
    ++r;
    p = next;
  }
  chunk.rows = r;
}

// ---- the header and the whole file -----------------------------------------------------------

std::string join_names(const std::vector<std::string>& names) {
  constexpr size_t kMaxShown = 20;  // a message, not the file
  std::string s;
  for (size_t i = 0; i < names.size() && i < kMaxShown; ++i) s += (s.empty() ? "" : ", ") + text::quoted(names[i]);
  if (names.size() > kMaxShown) s += " and " + std::to_string(names.size() - kMaxShown) + " more";
  return s;
}

char separator_of(const config::Config::Data::Interactions& options) {
  const std::string& d = options.delimiter;
  if (d == "tab" || d == "\t" || d == "\\t") return '\t';  // "\t" as typed in a shell, too
  if (d == "," || d == ";" || d == "|") return d[0];
  if (d != "auto") {
    throw ConfigError::for_key("data.interactions.delimiter",
                               "expected one of auto, \",\", \";\", \"|\", tab; got '" + d + "'");
  }
  std::string ext = std::filesystem::path(options.path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".csv") return ',';
  if (ext == ".tsv" || ext == ".tab") return '\t';
  throw ConfigError::for_key("data.interactions.delimiter",
                             "is auto, but " + options.path +
                                 " ends in neither .csv nor .tsv/.tab: set it to \",\", tab, \";\" or \"|\"");
}

// Reads the header line at p (advanced past it) into layout.
void read_header(const config::Config::Data::Interactions& options, const char*& p, Layout& layout) {
  const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(layout.end - p)));
  const char* e = nl != nullptr ? nl : layout.end;
  const char* next = nl != nullptr ? nl + 1 : layout.end;
  if (e > p && e[-1] == '\r') --e;
  const std::string_view line(p, static_cast<size_t>(e - p));
  if (line.find('\r') != std::string_view::npos) fail_at(layout, 1, text::kLoneCarriageReturns);
  if (line.empty()) {
    if (only_line_ends(p, layout.end)) throw InputError::in(layout.path, "empty file");
    fail_at(layout, 1, "empty header line (the first line must name the columns)");
  }
  QuoteError why;
  const int n = split_quoted(line, layout.separator, nullptr, nullptr, 0, &why);
  if (n < 0) fail_at(layout, 1, std::string(why.reason) + " in the header");
  std::vector<std::string_view> fields(static_cast<size_t>(n));
  std::vector<std::string> storage(static_cast<size_t>(n));
  split_quoted(line, layout.separator, fields.data(), storage.data(), n, &why);
  const std::vector<std::string> header(fields.begin(), fields.end());

  layout.columns = n;
  layout.slot.assign(static_cast<size_t>(n), -1);
  const std::array<const std::string*, kSlots> wanted = {&options.user, &options.item, &options.rating,
                                                         &options.timestamp};
  for (int s = 0; s < kSlots; ++s) {
    const std::string& name = *wanted[static_cast<size_t>(s)];
    if (s == kTimeSlot && name.empty()) continue;
    int found = -1;
    for (int c = 0; c < n; ++c) {
      if (header[static_cast<size_t>(c)] != name) continue;
      if (found >= 0) {
        throw ConfigError::for_key(kSlotKeys[static_cast<size_t>(s)],
                                   "column " + text::quoted(name) + " appears twice in " + layout.path + "'s header (columns " +
                                       std::to_string(found + 1) + " and " + std::to_string(c + 1) + ")");
      }
      found = c;
    }
    if (found < 0) {
      std::string hint;
      for (char other : {',', '\t', ';', '|'}) {
        if (other != layout.separator && line.find(other) != std::string_view::npos) {
          hint = "; is the delimiter " + separator_name(std::string_view(&other, 1)) +
                 "? set data.interactions.delimiter";
          break;
        }
      }
      throw ConfigError::for_key(kSlotKeys[static_cast<size_t>(s)],
                                 "no column " + text::quoted(name) + " in " + layout.path + "'s header (columns: " +
                                     join_names(header) + "; the first line must name the columns" + hint + ")");
    }
    if (layout.slot[static_cast<size_t>(found)] >= 0) {
      throw ConfigError::for_key(kSlotKeys[static_cast<size_t>(s)],
                                 "names the same column as " +
                                     std::string(kSlotKeys[static_cast<size_t>(layout.slot[static_cast<size_t>(found)])]));
    }
    layout.slot[static_cast<size_t>(found)] = static_cast<int8_t>(s);
    layout.names[static_cast<size_t>(s)] = name;
  }
  layout.has_time = !options.timestamp.empty();
  p = next;
}

// Merges the chunks' id tables of one column into sorted names and renumbers the rows.
void merge_ids(std::vector<Chunk>& chunks, int s, std::vector<int32_t>& ids, std::vector<std::string>& names,
               const Layout& layout) {
  const auto col = static_cast<size_t>(s);
  bool text = false;
  for (const Chunk& c : chunks) text = text || !c.ids[col].is_int;
  if (!text) return;
  std::vector<std::vector<std::string_view>> locals;
  std::vector<std::string_view> all;
  for (Chunk& c : chunks) {
    if (c.ids[col].is_int) c.ids[col].to_names(ids.data() + c.offset, c.rows);
    locals.push_back(c.ids[col].names.names());
    all.insert(all.end(), locals.back().begin(), locals.back().end());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  if (all.size() > static_cast<size_t>(INT32_MAX)) throw InputError::in(layout.path, "too many distinct ids");
  for (size_t k_chunk = 0; k_chunk < chunks.size(); ++k_chunk) {
    const Chunk& c = chunks[k_chunk];
    const auto& local = locals[k_chunk];
    std::vector<int32_t> global(local.size());
    for (size_t k = 0; k < local.size(); ++k) {
      global[k] = static_cast<int32_t>(std::lower_bound(all.begin(), all.end(), local[k]) - all.begin());
    }
    int32_t* row = ids.data() + c.offset;
    for (int64_t r = 0; r < c.rows; ++r) row[r] = global[static_cast<size_t>(row[r])];
  }
  names.assign(all.begin(), all.end());
}

// Runs fn(k) for k in [0, n) on n threads (this one included); rethrows nothing (fn catches).
template <class Fn>
void run_parallel(size_t n, Fn fn) {
  std::vector<std::thread> workers;
  workers.reserve(n > 0 ? n - 1 : 0);
  for (size_t k = 1; k < n; ++k) workers.emplace_back(fn, k);
  if (n > 0) fn(0);
  for (auto& w : workers) w.join();
}

}  // namespace

bool infer_rating_scale(std::vector<float> values, RatingScale& scale, int max_levels) {
  if (values.empty()) return false;
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  const double lo = values.front(), hi = values.back();
  if (values.size() == 1) {
    scale = RatingScale{values.front(), values.front(), 1.0f};
    return true;
  }
  if (static_cast<int64_t>(values.size()) > max_levels) return false;
  // float32 values carry ~7 significant digits: differences below tol are rounding, not steps.
  const double tol = std::max({std::fabs(lo), std::fabs(hi), hi - lo}) * 1e-5;
  double g = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    double a = g, b = values[i] - lo;
    if (a < b) std::swap(a, b);
    while (b > tol) {  // Euclid's algorithm, with remainders within tol of b counted as 0
      double rem = std::fmod(a, b);
      if (b - rem <= tol) rem = 0;
      a = b;
      b = rem;
    }
    g = a;
    if (g <= tol) return false;
  }
  // "0.5", not 0.50000001: the shortest decimal within tol of the step, where every value lies on
  // its grid too; else the step as found.
  std::vector<double> steps;
  double scale_10 = 1;
  for (int decimals = 0; decimals <= 6; ++decimals, scale_10 *= 10) {
    const double snapped = std::round(g * scale_10) / scale_10;
    if (snapped > 0 && std::fabs(snapped - g) <= tol) {
      steps.push_back(snapped);
      break;
    }
  }
  steps.push_back(g);
  for (double step : steps) {
    if (std::round((hi - lo) / step) + 1 > max_levels) return false;
    const RatingScale s{values.front(), values.back(), static_cast<float>(step)};
    if (std::all_of(values.begin(), values.end(), [&](float v) { return s.contains(v); })) {
      scale = s;
      return true;
    }
  }
  return false;
}

RawRatings load_interactions(const config::Config::Data::Interactions& options, int threads) {
  if (options.path.empty()) {
    throw ConfigError::for_key("data.interactions.path", "must name the interactions file (CSV or TSV)");
  }
  Layout layout;
  layout.path = options.path;
  layout.separator = separator_of(options);
  if (options.rating_step != 0 || options.rating_min != 0 || options.rating_max != 0) {
    // config::validate checks the declared scale; a caller that skipped it gets the same message.
    if (!(options.rating_step > 0 && options.rating_max > options.rating_min)) {
      throw ConfigError::for_key("data.interactions.rating_step",
                                 "declare rating_min < rating_max and rating_step > 0 together, or none");
    }
    layout.declared = true;
    layout.scale = RatingScale{static_cast<float>(options.rating_min), static_cast<float>(options.rating_max),
                               static_cast<float>(options.rating_step)};
  }

  const FileBuffer buf = read_whole_file(options.path);
  layout.begin = buf.data.get();
  layout.end = layout.begin + buf.size;
  const char* p = layout.begin;
  if (buf.size >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;  // an editor's byte-order mark
  if (p == layout.end) throw InputError::in(layout.path, "empty file");
  read_header(options, p, layout);
  if (p == layout.end || only_line_ends(p, layout.end)) fail_no_data(layout.path);

  // Ranges of whole lines, one per thread.
  const size_t bytes = static_cast<size_t>(layout.end - p);
  size_t n_chunks = threads > 0 ? static_cast<size_t>(threads)
                                : std::min<size_t>({static_cast<size_t>(std::max(1u, std::thread::hardware_concurrency())),
                                                    static_cast<size_t>(kMaxThreads), 1 + bytes / kBytesPerThread});
  std::vector<Chunk> chunks(n_chunks);
  const char* start = p;
  for (size_t k = 0; k < n_chunks; ++k) {
    chunks[k].begin = start;
    const char* stop = k + 1 == n_chunks ? layout.end : p + bytes * (k + 1) / n_chunks;
    if (stop < start) stop = start;
    if (stop < layout.end && stop > layout.begin && stop[-1] != '\n') {
      const char* nl = static_cast<const char*>(std::memchr(stop, '\n', static_cast<size_t>(layout.end - stop)));
      stop = nl != nullptr ? nl + 1 : layout.end;
    }
    chunks[k].end = stop;
    start = stop;
  }
  run_parallel(n_chunks, [&](size_t k) { chunks[k].lines = count_lines_in(chunks[k].begin, chunks[k].end); });
  int64_t total = 0;
  for (Chunk& c : chunks) {
    c.offset = total;
    c.first_line = 2 + static_cast<long>(total);  // the header is line 1
    total += c.lines;
  }

  RawRatings raw;
  raw.release = Release::kInteractions;
  raw.dir = options.path;
  raw.user_id.resize(static_cast<size_t>(total));
  raw.movie_id.resize(static_cast<size_t>(total));
  raw.rating.resize(static_cast<size_t>(total));
  raw.timestamp.resize(static_cast<size_t>(total));
  run_parallel(n_chunks, [&](size_t k) {
    Chunk& c = chunks[k];
    try {
      parse_chunk(layout, c,
                  Columns{raw.user_id.data() + c.offset, raw.movie_id.data() + c.offset, raw.rating.data() + c.offset,
                          raw.timestamp.data() + c.offset});
    } catch (...) {
      c.error = std::current_exception();
    }
  });
  for (const Chunk& c : chunks) {  // the first error in file order
    if (c.error) std::rethrow_exception(c.error);
  }
  // Only trailing blank lines are not rows, and nothing but blank lines follows them.
  int64_t rows = 0;
  for (const Chunk& c : chunks) {
    MLREC_CHECK(c.rows == 0 || c.offset == rows, "interactions: rows of a range out of place");
    rows += c.rows;
  }
  if (rows == 0) fail_no_data(layout.path);
  raw.user_id.resize(static_cast<size_t>(rows));
  raw.movie_id.resize(static_cast<size_t>(rows));
  raw.rating.resize(static_cast<size_t>(rows));
  raw.timestamp.resize(static_cast<size_t>(rows));

  merge_ids(chunks, kUserSlot, raw.user_id, raw.user_names, layout);
  merge_ids(chunks, kItemSlot, raw.movie_id, raw.movie_names, layout);

  if (layout.declared) {
    raw.scale = layout.scale;
  } else {
    std::vector<float> values;
    bool overflow = false;
    for (const Chunk& c : chunks) {
      values.insert(values.end(), c.ratings.values().begin(), c.ratings.values().end());
      overflow = overflow || c.ratings.overflow();
    }
    const std::string declare = "declare the scale with data.interactions.rating_min, rating_max and rating_step";
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    if (overflow || values.size() > static_cast<size_t>(kMaxRatingLevels)) {
      throw InputError::in(layout.path, "column " + text::quoted(layout.names[kRatingSlot]) + " holds more than " +
                                            with_commas(kMaxRatingLevels) +
                                            " distinct ratings: no discrete scale can be inferred; " + declare);
    }
    if (!infer_rating_scale(values, raw.scale, kMaxRatingLevels)) {
      throw InputError::in(layout.path, "column " + text::quoted(layout.names[kRatingSlot]) + ": the ratings (" +
                                            format_number(values.front()) + ".." + format_number(values.back()) +
                                            ") lie on no grid of at most " + with_commas(kMaxRatingLevels) +
                                            " levels; " + declare);
    }
    raw.scale_inferred = true;
  }
  raw.duplicates_dropped = drop_repeated_ratings(raw);
  return raw;
}

}  // namespace mlrec::data
