#include "mlrec/data/id_maps.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "mlrec/common/error.h"

namespace mlrec::data {
namespace {

using Json = nlohmann::ordered_json;

// The ML-1M README's names of the demographic codes (movielens.h: sex F=0/M=1, seven age
// groups, occupations 0..20); ML-100K's ages and occupations map onto the same codes.
std::vector<std::pair<std::string, std::vector<std::string>>> movielens_user_features() {
  std::vector<std::string> occupations;
  for (int i = 0; i <= 20; ++i) occupations.push_back(std::to_string(i));
  return {{"sex", {"F", "M"}},
          {"age", {"Under 18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"}},
          {"occupation", occupations}};
}

int32_t find_index(const std::vector<std::string>& names, std::vector<std::pair<std::string, int32_t>>& lookup,
                   const std::string& id) {
  if (lookup.empty() && names.size() > 1) {
    lookup.reserve(names.size() - 1);
    for (size_t i = 1; i < names.size(); ++i) lookup.emplace_back(names[i], static_cast<int32_t>(i));
    std::sort(lookup.begin(), lookup.end());
  }
  auto it = std::lower_bound(lookup.begin(), lookup.end(), std::make_pair(id, int32_t{0}));
  return it != lookup.end() && it->first == id ? it->second : 0;
}

}  // namespace

int32_t IdMaps::user_index(const std::string& id) const { return find_index(users, user_lookup_, id); }
int32_t IdMaps::item_index(const std::string& id) const { return find_index(items, item_lookup_, id); }

IdMaps make_id_maps(const RawRatings& raw, const PreparedRatings& prepared) {
  IdMaps maps;
  maps.users.resize(prepared.raw_user.size());
  for (size_t u = 1; u < prepared.raw_user.size(); ++u) maps.users[u] = user_name(raw, prepared.raw_user[u]);
  maps.items.resize(prepared.raw_movie.size());
  for (size_t m = 1; m < prepared.raw_movie.size(); ++m) maps.items[m] = movie_name(raw, prepared.raw_movie[m]);
  if (prepared.has_user_features) maps.user_features = movielens_user_features();
  return maps;
}

std::string to_json(const IdMaps& maps) {
  Json j;
  j["format"] = 1;
  j["users"] = maps.users;
  j["items"] = maps.items;
  Json features = Json::object();
  for (const auto& [name, values] : maps.user_features) features[name] = values;
  j["user_features"] = features;
  Json item_features = Json::object();
  for (const auto& [name, values] : maps.item_features) item_features[name] = values;
  j["item_features"] = item_features;
  return j.dump() + "\n";
}

IdMaps id_maps_from_json(const std::string& text, const std::string& source) {
  IdMaps maps;
  try {
    const Json j = Json::parse(text);
    maps.users = j.at("users").get<std::vector<std::string>>();
    maps.items = j.at("items").get<std::vector<std::string>>();
    for (const auto& [name, values] : j.at("user_features").items()) {
      maps.user_features.emplace_back(name, values.get<std::vector<std::string>>());
    }
    if (j.contains("item_features")) {
      for (const auto& [name, values] : j.at("item_features").items()) {
        maps.item_features.emplace_back(name, values.get<std::vector<std::string>>());
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError::in(source, std::string("not valid id maps: ") + e.what());
  }
  return maps;
}

}  // namespace mlrec::data
