// Error types shared by every layer. Input and configuration errors are the user's to fix:
// main() prints their one-line message and exits with status 2 (kInputErrorExitCode). Anything
// else is a bug or an environment failure and exits with status 1.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace mlrec {

inline constexpr int kInputErrorExitCode = 2;

/// A data file the user pointed us at is missing or malformed. what() reads "FILE:LINE: reason"
/// (or "FILE: reason" when no line applies).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  static InputError at(const std::string& file, long line, const std::string& reason) {
    return InputError(file + ":" + std::to_string(line) + ": " + reason);
  }
  static InputError in(const std::string& file, const std::string& reason) {
    return InputError(file + ": " + reason);
  }
};

/// A configuration value is unknown, of the wrong type or out of range. what() names the key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  static ConfigError for_key(const std::string& key, const std::string& reason) {
    return ConfigError("config key '" + key + "': " + reason);
  }
};

namespace detail {
[[noreturn]] inline void check_failed(const char* file, int line, const char* cond,
                                      const std::string& msg) {
  std::ostringstream os;
  os << file << ":" << line << ": check failed: " << cond;
  if (!msg.empty()) os << ": " << msg;
  throw std::logic_error(os.str());
}
}  // namespace detail

}  // namespace mlrec

/// Internal invariant check (a bug if it fires), with the source location in the message.
#define MLREC_CHECK(cond, msg)                                                  \
  do {                                                                          \
    if (!(cond)) ::mlrec::detail::check_failed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
