// Small string helpers shared by the configuration and its error messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mlrec {

/// The shortest "%g" rendering that reads back as exactly `v` ("0.01", "1e-8", "10000"); whole
/// numbers below 1e15 without an exponent.
std::string format_double(double v);

/// A value quoted for an error message: 'value', or for one longer than 80 characters its first
/// 60 and "... (N characters)", so that a 1 MB value does not flood the log.
std::string quote_value(const std::string& value);

/// `items` joined by `separator`.
std::string join(const std::vector<std::string>& items, const std::string& separator);

/// `s` without leading and trailing blanks (space, tab, CR, LF).
std::string trim(const std::string& s);

/// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
/// U+10FFFF). Ids and feature values must be, as they end up in JSON files (id_maps.json).
bool is_valid_utf8(std::string_view s);

/// The length in bytes of the well-formed UTF-8 character starting at s[i] (1 for ASCII), or 0
/// where none does (a stray byte, a Latin-1 'é'): for showing text that may hold either.
size_t utf8_length_at(std::string_view s, size_t i);

/// Levenshtein distance: how many one-character edits turn `a` into `b` ("did you mean ...?").
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace mlrec
