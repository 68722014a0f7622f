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
  SweepSpec spec;
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    if (key != "base" && key != "output" && key != "set" && key != "grid" && key != "random" &&
        key != "trials" && key != "seed") {
      throw ConfigError("sweep file " + source_name + ": unknown entry '" + key +
                        "' (expected base, output, set, grid, random, trials, seed)");
    }
  }
  if (!root["base"] || !root["base"].IsScalar()) throw ConfigError("sweep file " + source_name + ": 'base' (a config file) is required");
  spec.base = root["base"].Scalar();
  if (root["output"]) spec.output = root["output"].as<std::string>();
  if (root["set"]) {
    for (const auto& entry : root["set"]) {
      const std::string key = entry.first.as<std::string>();
      const std::string value = scalar_text(entry.second, key);
      check_override(key, value);
      spec.fixed.push_back(key + "=" + value);
    }
  }
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
  const uint64_t seed = root["seed"] ? root["seed"].as<uint64_t>() : 0;
  Draw draw{std::mt19937_64(seed)};

  if (grid) {
    std::vector<std::pair<std::string, std::vector<std::string>>> axes;
    for (const auto& entry : root["grid"]) {
      const std::string key = entry.first.as<std::string>();
      if (!entry.second.IsSequence() || entry.second.size() == 0) {
        throw ConfigError::for_key(key, "a grid axis is a non-empty list of values");
      }
      std::vector<std::string> values;
      for (const auto& v : entry.second) {
        values.push_back(scalar_text(v, key));
        check_override(key, values.back());
      }
      axes.emplace_back(key, values);
    }
    std::vector<std::vector<std::string>> all = {{}};
    for (const auto& [key, values] : axes) {
      std::vector<std::vector<std::string>> next;
      for (const auto& partial : all) {
        for (const auto& v : values) {
          auto trial = partial;
          trial.push_back(key + "=" + v);
          next.push_back(trial);
        }
      }
      all = std::move(next);
    }
    if (budget > 0 && int64_t(all.size()) > budget) {
      // Over budget: a seeded random subset, kept in grid order.
      std::vector<size_t> order(all.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[draw.engine() % (i + 1)]);
      order.resize(static_cast<size_t>(budget));
      std::sort(order.begin(), order.end());
      std::vector<std::vector<std::string>> kept;
      for (size_t i : order) kept.push_back(all[i]);
      all = std::move(kept);
    }
    spec.trials = std::move(all);
  } else {
    if (budget < 1) throw ConfigError("sweep file " + source_name + ": a random search needs 'trials'");
    struct Axis {
      std::string key, kind;
      std::vector<std::string> choices;
      double low = 0, high = 0;
    };
    std::vector<Axis> axes;
    for (const auto& entry : root["random"]) {
      Axis axis;
      axis.key = entry.first.as<std::string>();
      if (!entry.second.IsMap() || entry.second.size() != 1) {
        throw ConfigError::for_key(axis.key, "a random axis is {uniform|log_uniform|int_uniform|choice: [...]}");
      }
      axis.kind = entry.second.begin()->first.as<std::string>();
      const YAML::Node args = entry.second.begin()->second;
      if (axis.kind == "choice") {
        if (!args.IsSequence() || args.size() == 0) throw ConfigError::for_key(axis.key, "choice needs a non-empty list");
        for (const auto& v : args) {
          axis.choices.push_back(scalar_text(v, axis.key));
          check_override(axis.key, axis.choices.back());
        }
      } else if (axis.kind == "uniform" || axis.kind == "log_uniform" || axis.kind == "int_uniform") {
        if (!args.IsSequence() || args.size() != 2) throw ConfigError::for_key(axis.key, axis.kind + " needs [low, high]");
        axis.low = args[0].as<double>();
        axis.high = args[1].as<double>();
        if (!(axis.low <= axis.high) || (axis.kind == "log_uniform" && axis.low <= 0)) {
          throw ConfigError::for_key(axis.key, axis.kind + ": need low <= high" +
                                                   std::string(axis.kind == "log_uniform" ? " and low > 0" : ""));
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
