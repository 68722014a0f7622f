// Side tables of your own data (data.interactions.user_table / item_table): a headered CSV or
// TSV with one row per user (or item), an id column and categorical feature columns. Each
// feature's distinct values are numbered 1.. in sorted order (0 = unknown: an id with no row, or
// an empty field), per dense id of the run, for the embeddings of seq_features. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mlrec::data {

struct SideFeatures {
  std::vector<std::string> names;                // the feature columns
  std::vector<std::vector<std::string>> values;  // per feature: values[f][c] is code c's value; [0] = ""
  std::vector<int32_t> codes;                    // row-major [ids + 1, features]; row 0 (padding) zeros
  int64_t rows_without_id = 0;                   // table rows naming an id the data lacks (ignored)
  int64_t ids_without_row = 0;                   // ids of the data with no table row (all codes 0)

  bool empty() const { return names.empty(); }
  int64_t num_features() const { return static_cast<int64_t>(names.size()); }
  /// Codes per feature, padding/unknown included.
  std::vector<int64_t> sizes() const;
};

/// Where a side table is and what to read. `key` ("data.interactions.user_table") prefixes the
/// configuration keys named in errors.
struct SideTableOptions {
  std::string key;
  std::string path;
  std::string id_column;                 // the table's id column
  std::string feature_columns;           // comma-separated; "" = every column but the id
};

/// Reads the table for the dense ids whose data ids are `ids` (index = dense id, [0] padding).
/// ConfigError naming the key for a missing id or feature column; InputError "FILE:LINE: ..." for
/// an id listed twice, an empty id, or a malformed line.
SideFeatures read_side_features(const SideTableOptions& options, const std::vector<std::string>& ids);

}  // namespace mlrec::data
