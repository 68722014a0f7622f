// A small JSON object writer for the run's outputs (metrics.jsonl, summary.json). Reading is
// done with yaml-cpp, which parses the JSON we write (YAML is a superset of it).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mlrec {

/// Builds one JSON object, keys in insertion order. Doubles are written with 17 significant
/// digits (round-trip exact); NaN and infinities become null, as JSON has no spelling for them.
class JsonObject {
 public:
  JsonObject& add(const std::string& key, double value);
  JsonObject& add(const std::string& key, int64_t value);
  JsonObject& add(const std::string& key, int value) { return add(key, int64_t{value}); }
  JsonObject& add(const std::string& key, bool value);
  JsonObject& add(const std::string& key, const std::string& value);
  JsonObject& add(const std::string& key, const char* value) { return add(key, std::string(value)); }
  JsonObject& add(const std::string& key, const JsonObject& value);
  std::string str() const;

 private:
  JsonObject& add_raw(const std::string& key, std::string raw);
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// JSON string literal with the required escapes.
std::string json_quote(const std::string& text);

/// Writes `contents` to `path` atomically: a temporary file in the same folder, flushed, then
/// renamed over the target, so a reader (or a crash) never sees a half-written file.
void write_file_atomic(const std::string& path, const std::string& contents);

/// The whole of a text file; InputError "PATH: cannot open WHAT" (or "cannot read WHAT").
std::string read_file(const std::string& path, const std::string& what);

}  // namespace mlrec
