// The tokenizer of mlrec's text readers (src/data/movielens.cpp): a file read whole, its lines,
// their fields, numbers parsed in place, and errors that name the file and line. Internal to
// src/data. Each file is read whole into one buffer and parsed in place (std::from_chars, no
// per-field strings) because ML-1M is a million lines and loading must stay a small fraction of
// a training run; what runs per rating stays inline here.
#pragma once

#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "mlrec/common/error.h"

namespace mlrec::data::text {

// A whole file in memory. new char[] rather than std::string so that the (up to hundreds of
// MB) buffer is not zero-filled before being overwritten.
struct FileBuffer {
  std::unique_ptr<char[]> data;
  size_t size = 0;
};

/// The whole file; InputError naming it (and the system's reason) when it cannot be read or is empty.
FileBuffer read_whole_file(const std::string& path);

/// A field quoted for an error message: bounded length, unprintable bytes shown as '?'.
std::string quoted(std::string_view field);

/// "'caf?' is not valid UTF-8 ..." for a field that is_valid_utf8 refuses, with the fix.
std::string not_utf8(std::string_view field);

/// Why a first line that holds a '\r' is refused: the file's lines end in '\r' alone (classic
/// Mac OS), so the whole file reads as one line, and its errors would quote all of it.
inline constexpr const char* kLoneCarriageReturns =
    "a carriage return (\\r) inside the first line: lines that end in \\r alone are not read "
    "(convert them: tr '\\r' '\\n' < FILE > FILE.unix)";

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
    if (line_ == 1 && line.find('\r') != std::string_view::npos) fail(kLoneCarriageReturns);
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

/// Splits line at sep (one or more bytes); stores up to capacity fields in out and returns the
/// total number of fields, so that a wrong count is reported without storing the extras.
int split_fields(std::string_view line, std::string_view sep, std::string_view* out, int capacity);

/// Where and why a quoted line is malformed (split_quoted).
struct QuoteError {
  int field = -1;                // 0-based index of the field
  const char* reason = nullptr;  // "unterminated quoted field", ...
};

/// Splits one line at `separator` with RFC-4180 quoting ("a, b" and doubled quotes ""), as
/// split_csv does for commas; on a malformed quote returns -1 and fills error instead of failing.
int split_quoted(std::string_view line, char separator, std::string_view* out, std::string* storage,
                 int capacity, QuoteError* error);

/// Splits one CSV line with RFC-4180 quoting ("a, b" and doubled quotes ""), as movies.csv
/// quotes titles that contain commas. Unquoted fields are views into line; quoted ones are
/// unescaped into storage. Returns the number of fields; a malformed quote fails the line.
int split_csv(const LineReader& reader, std::string_view line, std::string_view* out, std::string* storage,
              int capacity);

/// "tabs" or the separator in quotes, for messages.
std::string separator_name(std::string_view sep);

[[noreturn]] void fail_field_count(const LineReader& reader, int expected, int got, std::string_view sep);

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

inline bool parse_float(std::string_view s, float& out) {
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

/// A number as a person writes it ("4", "0.5"), for messages.
std::string format_number(double x);

/// Number of lines in the buffer (for reserving).
size_t count_lines(const FileBuffer& buf);

/// Reads the first line, which must be `header`.
void expect_header(LineReader& reader, std::string_view header);

/// A file with no data lines.
[[noreturn]] void fail_no_data(const std::string& path);

}  // namespace mlrec::data::text
