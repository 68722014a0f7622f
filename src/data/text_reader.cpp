#include "text_reader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <utility>

#include <sys/stat.h>

#include "mlrec/common/strings.h"

namespace mlrec::data::text {

FileBuffer read_whole_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw InputError::in(path, std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    std::FILE* file;
    ~Closer() { std::fclose(file); }
  } closer{f};
  // fopen opens a folder too, and its ftell is LONG_MAX: a buffer that large cannot be allocated.
  struct stat info {};
  if (::fstat(::fileno(f), &info) == 0 && !S_ISREG(info.st_mode)) {
    throw InputError::in(path, S_ISDIR(info.st_mode) ? "is a folder, not a file" : "is not a regular file");
  }
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

std::string quoted(std::string_view field) {
  constexpr size_t kMaxShown = 40;  // bytes
  std::string out = "'";
  size_t i = 0;
  while (i < field.size() && i < kMaxShown) {
    const auto c = static_cast<unsigned char>(field[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A whole UTF-8 character ('Müller') is shown as it is; control and stray bytes as '?'.
    const size_t length = c >= 0x80 ? utf8_length_at(field, i) : 0;
    if (length > 0) {
      out.append(field.data() + i, length);
      i += length;
    } else {
      out += '?';
      ++i;
    }
  }
  if (i < field.size()) out += "...";
  return out + "'";
}

std::string not_utf8(std::string_view field) {
  return quoted(field) + " is not valid UTF-8 (convert the file, e.g. iconv -f LATIN1 -t UTF-8 FILE > FILE.utf8)";
}

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

int split_quoted(std::string_view line, char separator, std::string_view* out, std::string* storage,
                 int capacity, QuoteError* error) {
  int count = 0;
  size_t i = 0;
  auto fail = [&](const char* reason) {
    error->field = count;
    error->reason = reason;
    return -1;
  };
  while (true) {
    std::string_view field;
    if (i < line.size() && line[i] == '"') {
      std::string value;
      size_t j = i + 1;
      while (true) {
        if (j >= line.size()) return fail("unterminated quoted field");
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
      if (j < line.size() && line[j] != separator) return fail("text after a closing quote");
      if (count < capacity) {
        storage[count] = std::move(value);
        field = storage[count];
      }
      i = j;
    } else {
      size_t j = line.find(separator, i);
      if (j == std::string_view::npos) j = line.size();
      field = line.substr(i, j - i);
      if (field.find('"') != std::string_view::npos) return fail("quote inside an unquoted field");
      i = j;
    }
    if (count < capacity) out[count] = field;
    ++count;
    if (i >= line.size()) return count;
    ++i;  // the separator
  }
}

int split_csv(const LineReader& reader, std::string_view line, std::string_view* out,
              std::string* storage, int capacity) {
  QuoteError error;
  const int count = split_quoted(line, ',', out, storage, capacity, &error);
  if (count < 0) reader.fail(error.reason);
  return count;
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

std::string format_number(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

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

}  // namespace mlrec::data::text
