#include "mlrec/config/sweep.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/config/config.h"

namespace mlrec::config {
namespace {

// Checks "key=value" against the parameter table by applying it to a default configuration:
// the same parser and bounds as --set, so a sweep can't hold a value a run would refuse.
void check_override(const std::string& key, const std::string& value) {
  Config scratch = default_config();
  set_param(scratch, key, value);
}

std::string scalar_text(const YAML::Node& node, const std::string& key) {
  if (node.IsScalar()) return node.Scalar();
  if (node.IsSequence()) {  // an int list value, e.g. model.mlp_dims: [[64, 32], [128, 64]]
    std::string text = "[";
    for (size_t i = 0; i < node.size(); ++i) text += (i ? "," : "") + scalar_text(node[i], key);
    return text + "]";
  }
  throw ConfigError::for_key(key, "expected a value");
}

// A deterministic 64-bit generator: std::mt19937_64 is specified exactly by the standard (the
// distributions are not, so values are made from its raw output).
struct Draw {
  std::mt19937_64 engine;
  double uniform() { return (engine() >> 11) * (1.0 / 9007199254740992.0); }
};

std::string format_double(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

}  // namespace

SweepSpec sweep_from_yaml_string(const std::string& text, const std::string& source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError::at(source_name, e.mark.line + 1, e.msg);
  }
  if (!root.IsMap()) throw InputError::in(source_name, "a sweep file is a map (base, set, grid or random, trials)");
  // Every value is checked for its kind before it is read: yaml-cpp's own conversions fail with
  // "bad conversion" and no file.
  const auto fail_at = [&](const YAML::Node& node, const std::string& reason) -> InputError {
    return InputError::at(source_name, node.Mark().line + 1, reason);
  };
  const auto name_of = [&](const YAML::Node& key) {
    if (!key.IsScalar()) throw fail_at(key, "keys must be plain names");
    return key.Scalar();
  };
  // The entries of a map, each key once (yaml-cpp keeps both of a repeated key, and the later
  // one silently won, or made an axis twice).
  const auto entries_of = [&](const YAML::Node& map, const std::string& what, bool may_be_empty) {
    if (!map.IsMap() || (!may_be_empty && map.size() == 0)) {
      throw fail_at(map, "'" + what + "' must be a map of " + (may_be_empty ? "" : "one or more ") +
                             "configuration keys to values");
    }
    std::vector<std::pair<std::string, YAML::Node>> out;
    for (const auto& entry : map) {
      const std::string key = name_of(entry.first);
      for (const auto& [seen, node] : out) {
        if (seen == key) {
          throw fail_at(entry.first, "'" + key + "' is given twice" + (what.empty() ? "" : " in '" + what + "'"));
        }
      }
      out.emplace_back(key, entry.second);
    }
    return out;
  };
  const auto whole_number = [&](const YAML::Node& node, const std::string& what, int64_t low) {
    int64_t value = 0;
    try {
      if (!node.IsScalar()) throw std::invalid_argument(what);
      size_t used = 0;
      value = std::stoll(node.Scalar(), &used);
      if (used != node.Scalar().size() || value < low) throw std::invalid_argument(what);
    } catch (const std::exception&) {
      throw fail_at(node, "'" + what + "' must be a whole number >= " + std::to_string(low) + ", got " +
                              (node.IsScalar() ? "'" + node.Scalar() + "'" : std::string("a list or map")));
    }
    return value;
  };
  const auto number = [&](const YAML::Node& node, const std::string& what) {
    try {
      if (!node.IsScalar()) throw std::invalid_argument(what);
      size_t used = 0;
      const double value = std::stod(node.Scalar(), &used);
      if (used != node.Scalar().size() || !std::isfinite(value)) throw std::invalid_argument(what);
      return value;
    } catch (const std::exception&) {
      throw fail_at(node, what + " must be a finite number, got " +
                              (node.IsScalar() ? "'" + node.Scalar() + "'" : std::string("a list or map")));
    }
  };

  SweepSpec spec;
  for (const auto& [key, node] : entries_of(root, "", true)) {
    if (key != "base" && key != "output" && key != "set" && key != "grid" && key != "random" && key != "trials" &&
        key != "seed") {
      throw ConfigError("sweep file " + source_name + ": unknown entry '" + key +
                        "' (expected base, output, set, grid, random, trials, seed)");
    }
  }
  if (!root["base"] || !root["base"].IsScalar()) throw ConfigError("sweep file " + source_name + ": 'base' (a config file) is required");
  spec.base = root["base"].Scalar();
  if (root["output"]) {
    if (!root["output"].IsScalar()) throw fail_at(root["output"], "'output' must be a folder name");
    spec.output = root["output"].Scalar();
  }
  std::vector<std::string> fixed_keys;
  if (root["set"]) {
    for (const auto& [key, node] : entries_of(root["set"], "set", true)) {
      const std::string value = scalar_text(node, key);
      check_override(key, value);
      spec.fixed.push_back(key + "=" + value);
      fixed_keys.push_back(key);
    }
  }
  // A key both fixed and searched: which value would a trial take? (the search's, silently)
  const auto not_fixed = [&](const std::string& key, const std::string& where) {
    if (std::find(fixed_keys.begin(), fixed_keys.end(), key) != fixed_keys.end()) {
      throw ConfigError::for_key(key, "is in both 'set' and '" + where + "' of " + source_name);
    }
  };
  const bool grid = static_cast<bool>(root["grid"]), random = static_cast<bool>(root["random"]);
  if (grid == random) throw ConfigError("sweep file " + source_name + ": give exactly one of 'grid' and 'random'");
  int64_t budget = -1;
  if (root["trials"]) {
    try {
      budget = root["trials"].as<int64_t>();
    } catch (const YAML::Exception&) {
      throw ConfigError("sweep file " + source_name + ": 'trials' must be a whole number");
    }
    if (budget < 1) throw ConfigError("sweep file " + source_name + ": 'trials' must be at least 1");
  }
  const uint64_t seed = root["seed"] ? static_cast<uint64_t>(whole_number(root["seed"], "seed", 0)) : 0;
  Draw draw{std::mt19937_64(seed)};

  if (grid) {
    std::vector<std::pair<std::string, std::vector<std::string>>> axes;
    for (const auto& [key, node] : entries_of(root["grid"], "grid", false)) {
      not_fixed(key, "grid");
      if (!node.IsSequence() || node.size() == 0) {
        throw ConfigError::for_key(key, "a grid axis is a non-empty list of values");
      }
      std::vector<std::string> values;
      for (const auto& v : node) {
        values.push_back(scalar_text(v, key));
        check_override(key, values.back());
      }
      axes.emplace_back(key, values);
    }
    // Combination c, in grid order (the first axis varies slowest), is decoded from its number,
    // so that only the numbers of the kept ones are ever held, not every combination's settings
    // (810,000 combinations took 738 MB to keep 5).
    constexpr uint64_t kMaxCombinations = 10'000'000;
    uint64_t combinations = 1;
    for (const auto& [key, values] : axes) {
      if (combinations > kMaxCombinations / values.size()) {
        throw ConfigError("sweep file " + source_name + ": the grid has more than " +
                          std::to_string(kMaxCombinations) + " combinations: search it with 'random' instead");
      }
      combinations *= values.size();
    }
    std::vector<uint32_t> kept(combinations);
    for (size_t i = 0; i < kept.size(); ++i) kept[i] = static_cast<uint32_t>(i);
    if (budget > 0 && static_cast<uint64_t>(budget) < combinations) {
      // Over budget: a seeded random subset, kept in grid order.
      for (size_t i = kept.size() - 1; i > 0; --i) std::swap(kept[i], kept[draw.engine() % (i + 1)]);
      kept.resize(static_cast<size_t>(budget));
      std::sort(kept.begin(), kept.end());
    }
    for (const uint32_t c : kept) {
      std::vector<std::string> trial(axes.size());
      uint64_t rest = c;
      for (size_t a = axes.size(); a-- > 0;) {
        const auto& [key, values] = axes[a];
        trial[a] = key + "=" + values[rest % values.size()];
        rest /= values.size();
      }
      spec.trials.push_back(std::move(trial));
    }
  } else {
    if (budget < 1) throw ConfigError("sweep file " + source_name + ": a random search needs 'trials'");
    struct Axis {
      std::string key, kind;
      std::vector<std::string> choices;
      double low = 0, high = 0;
    };
    std::vector<Axis> axes;
    for (const auto& [key, node] : entries_of(root["random"], "random", false)) {
      not_fixed(key, "random");
      Axis axis;
      axis.key = key;
      if (!node.IsMap() || node.size() != 1) {
        throw ConfigError::for_key(axis.key, "a random axis is {uniform|log_uniform|int_uniform|choice: [...]}");
      }
      axis.kind = name_of(node.begin()->first);
      const YAML::Node args = node.begin()->second;
      if (axis.kind == "choice") {
        if (!args.IsSequence() || args.size() == 0) throw ConfigError::for_key(axis.key, "choice needs a non-empty list");
        for (const auto& v : args) {
          axis.choices.push_back(scalar_text(v, axis.key));
          check_override(axis.key, axis.choices.back());
        }
      } else if (axis.kind == "uniform" || axis.kind == "log_uniform" || axis.kind == "int_uniform") {
        if (!args.IsSequence() || args.size() != 2) throw ConfigError::for_key(axis.key, axis.kind + " needs [low, high]");
        axis.low = number(args[0], axis.key + "'s low");
        axis.high = number(args[1], axis.key + "'s high");
        if (!(axis.low <= axis.high) || (axis.kind == "log_uniform" && axis.low <= 0)) {
          throw ConfigError::for_key(axis.key, axis.kind + ": need low <= high" +
                                                   std::string(axis.kind == "log_uniform" ? " and low > 0" : ""));
        }
        // Whole bounds of an int's range: 1.5 drew 1, and 1e30 overflowed the conversion.
        if (axis.kind == "int_uniform" && !(std::floor(axis.low) == axis.low && std::floor(axis.high) == axis.high &&
                                            std::fabs(axis.low) <= 2147483647.0 && std::fabs(axis.high) <= 2147483647.0)) {
          throw ConfigError::for_key(axis.key, "int_uniform needs whole-number bounds within +-2147483647");
        }
      } else {
        throw ConfigError::for_key(axis.key, "unknown distribution '" + axis.kind + "'");
      }
      axes.push_back(axis);
    }
    for (int64_t t = 0; t < budget; ++t) {
      std::vector<std::string> trial;
      for (const auto& axis : axes) {
        std::string value;
        const double u = draw.uniform();
        if (axis.kind == "choice") {
          value = axis.choices[std::min(axis.choices.size() - 1, static_cast<size_t>(u * axis.choices.size()))];
        } else if (axis.kind == "uniform") {
          value = format_double(axis.low + u * (axis.high - axis.low));
        } else if (axis.kind == "log_uniform") {
          value = format_double(std::exp(std::log(axis.low) + u * (std::log(axis.high) - std::log(axis.low))));
        } else {
          value = std::to_string(static_cast<int64_t>(std::floor(axis.low + u * (axis.high - axis.low + 1))));
        }
        check_override(axis.key, value);
        trial.push_back(axis.key + "=" + value);
      }
      spec.trials.push_back(trial);
    }
  }
  return spec;
}

SweepSpec load_sweep(const std::string& path) {
  return sweep_from_yaml_string(read_file(path, "sweep file"), path);
}

std::string SweepSpec::trial_dir(size_t i) const {
  return (std::filesystem::path(output) / fmt::format("trial-{:03}", i)).string();
}

std::string SweepSpec::trial_settings(size_t i, const std::string& separator) const {
  return fmt::format("{}", fmt::join(trials[i], separator));
}

}  // namespace mlrec::config
