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
