// The id maps of a run: which of the data's ids each dense index stands for, for users, items
// and the user-feature values. A run directory keeps them in id_maps.json next to the weights
// (README, "What a run writes"), so that `predict`, `recommend` and an exported model speak the
// data's ids, and Python reads them without mlrec. Torch-free.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "mlrec/data/movielens.h"
#include "mlrec/data/prepare.h"

namespace mlrec::data {

struct IdMaps {
  // Index = dense id (the row of the embedding table); index 0 is padding and holds "".
  std::vector<std::string> users, items;
  // Per user feature (sex, age, occupation: the columns of Batch::features), the value each code
  // stands for; empty when the data has no user features.
  std::vector<std::pair<std::string, std::vector<std::string>>> user_features;
  // The item table's features, likewise (code 0, "", is unknown); empty without one.
  std::vector<std::pair<std::string, std::vector<std::string>>> item_features;

  /// The dense id of a data id, or 0 when the map has none (built on first use).
  int32_t user_index(const std::string& id) const;
  int32_t item_index(const std::string& id) const;

 private:
  mutable std::vector<std::pair<std::string, int32_t>> user_lookup_, item_lookup_;  // sorted by id
};

/// The maps of prepared data, with the ids' text from raw (the data's own spelling).
IdMaps make_id_maps(const RawRatings& raw, const PreparedRatings& prepared);

/// id_maps.json's text: {"format": 1, "users": [...], "items": [...], "user_features": {...},
/// "item_features": {...}}.
std::string to_json(const IdMaps& maps);
/// Parses id_maps.json; InputError naming `source` when it is not one.
IdMaps id_maps_from_json(const std::string& text, const std::string& source);

}  // namespace mlrec::data
