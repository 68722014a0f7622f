#include "mlrec/train/run_identity.h"

#include <filesystem>
#include <map>

namespace mlrec::train {

using Json = nlohmann::ordered_json;

Json RunIdentity::to_json() const {
  Json keys = Json::object();
  for (const auto& [key, value] : config) keys[key] = value;
  return Json{{"version", version}, {"data", data}, {"config", keys}};
}

RunIdentity RunIdentity::from_json(const Json& json) {
  RunIdentity identity;
  identity.version = json.value("version", "");
  identity.data = json.value("data", "");
  const Json keys = json.value("config", Json::object());  // items() must not outlive it
  for (const auto& [key, value] : keys.items()) {
    identity.config.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return identity;
}

RunIdentity identity_of(const config::Config& config) {
  RunIdentity identity;
  for (const auto& spec : config::param_specs()) {
    identity.config.emplace_back(spec.key, config::param_text(config, spec.key));
  }
  return identity;
}

bool may_change_on_resume(const std::string& key) {
  for (const char* prefix : {"output.", "checkpoint.", "dist.", "profile."}) {
    if (key.rfind(prefix, 0) == 0) return true;
  }
  // Where the data sits (a node's local copy) and how its samples are held: the data's own
  // fingerprint decides.
  return key == "train.threads" || key == "train.log_every_steps" || key == "train.device" ||
         config::is_data_location_or_storage_key(key);
}

std::optional<std::string> first_config_difference(const RunIdentity& there, const RunIdentity& here) {
  std::map<std::string, std::string> theirs(there.config.begin(), there.config.end());
  for (const auto& [key, value] : here.config) {
    if (may_change_on_resume(key)) continue;
    const auto it = theirs.find(key);
    if (it == theirs.end()) {
      // A key added after that run was made: its default is what the older mlrec did, so a
      // checkpoint of an older version resumes unless the key is set otherwise here.
      if (value == config::param_text(config::default_config(), key)) continue;
      return key + " (absent there, " + value + " here)";
    }
    if (it->second != value) return key + " (" + it->second + " there, " + value + " here)";
  }
  std::map<std::string, std::string> ours(here.config.begin(), here.config.end());
  for (const auto& [key, value] : there.config) {
    if (!may_change_on_resume(key) && !ours.count(key)) return key + " (" + value + " there, absent here)";
  }
  return std::nullopt;
}

std::optional<std::string> difference_from_run_in(const std::string& run_dir, const RunIdentity& here) {
  const std::string path = (std::filesystem::path(run_dir) / "config.yaml").string();
  if (!std::filesystem::exists(path)) return std::nullopt;
  RunIdentity there;
  try {
    there = identity_of(config::load_config(path, {}));
  } catch (const std::exception&) {
    return std::string("its config.yaml is unreadable");  // another version's keys, or a damaged file
  }
  return first_config_difference(there, here);
}

}  // namespace mlrec::train
