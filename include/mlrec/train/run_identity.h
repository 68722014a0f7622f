// What makes two runs the same run: the resolved configuration, the data and the program. Ranks
// of one job must agree on all three before training (distributed/agreement.h), and a checkpoint
// or a run directory is continued only by a run that matches it. Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mlrec/config/config.h"

namespace mlrec::train {

struct RunIdentity {
  /// Every configuration key with its value as written in config.yaml, in table order.
  std::vector<std::pair<std::string, std::string>> config;
  /// The prepared data's fingerprint ("crc32 1a2b3c4d, 994169 + 6040 + 0 ratings"); "" before
  /// the data is loaded.
  std::string data;
  std::string version;  // common/version.h

  nlohmann::ordered_json to_json() const;
  static RunIdentity from_json(const nlohmann::ordered_json& json);
};

/// The configuration part of the identity (data and version left for the caller).
RunIdentity identity_of(const config::Config& config);

/// Keys that may differ between a run and the run it continues: where it reads the data (the
/// data's fingerprint is compared instead) and writes, how it checkpoints, logs and
/// communicates, and which device it uses, none of which changes what is computed on the CPU
/// (a change of device or rank count is a documented approximation).
bool may_change_on_resume(const std::string& key);

/// The first configuration key (by table order) whose value differs and may not, as
/// "train.lr (0.01 there, 0.02 here)"; nullopt when the configurations match. Keys missing on
/// one side (another mlrec version) count as differing.
std::optional<std::string> first_config_difference(const RunIdentity& there, const RunIdentity& here);

/// How the run whose config.yaml is in `run_dir` differs from `here` (its configuration part), as
/// first_config_difference says it, or "its config.yaml is unreadable"; nullopt when the folder
/// holds no config.yaml or the same run. (A run checks its output.dir with it, a sweep its
/// trials' folders before training any.)
std::optional<std::string> difference_from_run_in(const std::string& run_dir, const RunIdentity& here);

}  // namespace mlrec::train
