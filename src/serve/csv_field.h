// A CSV field as predict and recommend write it: quoted (RFC 4180, quotes doubled) only where it
// holds a comma, a quote or a line break, so that the data's ids come back as they were read.
#pragma once

#include <string>

namespace mlrec::serve {

inline std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace mlrec::serve
