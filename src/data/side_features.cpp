#include "mlrec/data/side_features.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "mlrec/common/error.h"
#include "mlrec/common/strings.h"
#include "mlrec/data/text_table.h"
#include "text_reader.h"

namespace mlrec::data {

std::vector<int64_t> SideFeatures::sizes() const {
  std::vector<int64_t> out;
  for (const auto& v : values) out.push_back(static_cast<int64_t>(v.size()));
  return out;
}

namespace {

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> names;
  size_t begin = 0;
  while (begin <= list.size()) {
    size_t end = list.find(',', begin);
    if (end == std::string::npos) end = list.size();
    std::string name = list.substr(begin, end - begin);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (!name.empty()) names.push_back(name);
    begin = end + 1;
  }
  return names;
}

}  // namespace

SideFeatures read_side_features(const SideTableOptions& options, const std::vector<std::string>& ids) {
  const TextTable table = read_text_table(options.path);
  std::string header;
  for (const auto& h : table.header) header += (header.empty() ? "" : ", ") + h;
  const int id_col = table.column(options.id_column);
  if (id_col < 0) {
    throw ConfigError::for_key(options.key + "_id", "no column '" + options.id_column + "' in " + options.path +
                                                        "'s header (columns: " + header + ")");
  }
  SideFeatures out;
  std::vector<int> columns;
  for (const auto& name : options.feature_columns.empty() ? table.header : split_names(options.feature_columns)) {
    if (name == options.id_column && options.feature_columns.empty()) continue;
    const int c = table.column(name);
    if (c < 0 || c == id_col) {
      throw ConfigError::for_key(options.key + "_features",
                                 "'" + name + "' is " + (c < 0 ? "no column" : "the id column") + " of " + options.path +
                                     " (columns: " + header + ")");
    }
    columns.push_back(c);
    out.names.push_back(name);
  }
  if (columns.empty()) throw ConfigError::for_key(options.key + "_features", options.path + " has no feature column");

  // Each feature's values, numbered 1.. in sorted order: the same codes whatever the row order.
  const size_t features = columns.size();
  out.values.assign(features, {""});
  std::vector<std::map<std::string, int32_t>> code_of(features);
  for (size_t r = 0; r < table.rows.size(); ++r) {
    for (size_t f = 0; f < features; ++f) {
      const std::string& value = table.rows[r][static_cast<size_t>(columns[f])];
      if (value.empty() || !code_of[f].emplace(value, 0).second) continue;
      // Once per distinct value: id_maps.json (JSON, so UTF-8) will hold it.
      if (!is_valid_utf8(value)) {
        throw InputError::at(options.path, table.lines[r], "column '" + out.names[f] + "': " + text::not_utf8(value));
      }
    }
  }
  for (size_t f = 0; f < features; ++f) {
    for (auto& [value, code] : code_of[f]) {
      code = static_cast<int32_t>(out.values[f].size());
      out.values[f].push_back(value);
    }
  }

  std::unordered_map<std::string, int32_t> dense;
  dense.reserve(ids.size());
  for (size_t i = 1; i < ids.size(); ++i) dense.emplace(ids[i], static_cast<int32_t>(i));
  out.codes.assign(ids.size() * features, 0);
  std::vector<long> listed_at(ids.size(), 0);
  // Every row's id, in the data or not: an id listed twice is an error either way.
  std::unordered_map<std::string, long> line_of_id;
  line_of_id.reserve(table.rows.size());
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    const std::string& id = row[static_cast<size_t>(id_col)];
    if (id.empty()) throw InputError::at(options.path, table.lines[r], "column '" + options.id_column + "': empty id");
    const auto [first, fresh] = line_of_id.emplace(id, table.lines[r]);
    if (!fresh) {
      throw InputError::at(options.path, table.lines[r],
                           "id '" + id + "' is listed twice (first on line " + std::to_string(first->second) + ")");
    }
    const auto it = dense.find(id);
    if (it == dense.end()) {
      ++out.rows_without_id;
      continue;
    }
    const size_t d = static_cast<size_t>(it->second);
    listed_at[d] = table.lines[r];
    for (size_t f = 0; f < features; ++f) {
      const std::string& value = row[static_cast<size_t>(columns[f])];
      out.codes[d * features + f] = value.empty() ? 0 : code_of[f].at(value);
    }
  }
  out.ids_without_row = std::count(listed_at.begin() + 1, listed_at.end(), 0L);
  return out;
}

}  // namespace mlrec::data
