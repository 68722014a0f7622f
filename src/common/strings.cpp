#include "mlrec/common/strings.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mlrec {

std::string format_double(double v) {
  char buf[64];  // "%.17e" of any double fits in 25 characters
  int precision = 1;
  for (; precision < 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  // Write whole numbers below 1e15 without an exponent ("10000", not "1e+04").
  std::snprintf(buf, sizeof buf, "%.*e", precision - 1, v);
  const int exponent = std::atoi(std::strchr(buf, 'e') + 1);
  if (exponent >= precision && exponent < 15) precision = exponent + 1;
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  std::string s = buf;
  // "1e-08" -> "1e-8", "1e+20" -> "1e+20" stays readable; drop exponent leading zeros only.
  const auto e = s.find('e');
  if (e != std::string::npos && e + 2 < s.size()) {
    size_t digits = e + 2;  // after the sign
    size_t first_nonzero = digits;
    while (first_nonzero + 1 < s.size() && s[first_nonzero] == '0') ++first_nonzero;
    s.erase(digits, first_nonzero - digits);
  }
  return s;
}

std::string quote_value(const std::string& value) {
  constexpr size_t kShownWhole = 80, kShownStart = 60;
  if (value.size() <= kShownWhole) return "'" + value + "'";
  return "'" + value.substr(0, kShownStart) + "...' (" + std::to_string(value.size()) + " characters)";
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

size_t utf8_length_at(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  // The lead byte gives the length and the range of the second byte (RFC 3629's table), which
  // excludes overlong forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and > U+10FFFF (F4 90..).
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    if (c == 0xE0) low = 0xA0;
    if (c == 0xED) high = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    if (c == 0xF0) low = 0x90;
    if (c == 0xF4) high = 0x8F;
  } else {
    return 0;  // a continuation byte where a character should start, C0, C1 or F5..FF
  }
  if (s.size() - i < length || p[1] < low || p[1] > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (p[k] < 0x80 || p[k] > 0xBF) return 0;
  }
  return length;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t length = utf8_length_at(s, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace mlrec
