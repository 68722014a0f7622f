// Sweep files: a base configuration, fixed overrides, and a grid or a seeded random search over
// configuration keys, within a budget of trials. Torch-free: this only turns a sweep file into
// the list of trials (each a list of "key=value" overrides); src/train/sweep.cpp runs them and
// src/report/sweep_report.cpp ranks their results.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mlrec::config {

struct SweepSpec {
  std::string base;                      // the configuration file every trial starts from
  std::vector<std::string> fixed;        // "key=value" applied to every trial
  std::vector<std::vector<std::string>> trials;  // per trial, its own "key=value" overrides
  std::string output = "runs/sweep";     // trial i runs in output/trial-NNN
  std::string metric = "valid.mae";      // what ranks the trials (lower is better)

  /// Trial i's overrides in the order they apply: the fixed ones, the trial's own, then `extra`
  /// (e.g. --set on the command line, which wins).
  std::vector<std::string> trial_overrides(size_t i, const std::vector<std::string>& extra) const {
    std::vector<std::string> all = fixed;
    all.insert(all.end(), trials[i].begin(), trials[i].end());
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }
  /// trial_overrides with output.dir set to the trial's directory: what trial i runs with.
  std::vector<std::string> trial_run_overrides(size_t i, const std::vector<std::string>& extra) const {
    std::vector<std::string> all = trial_overrides(i, extra);
    all.push_back("output.dir=" + trial_dir(i));
    return all;
  }
  /// Trial i's run directory: output/trial-NNN.
  std::string trial_dir(size_t i) const;
  /// Trial i's own settings, "key=value" joined by `separator`.
  std::string trial_settings(size_t i, const std::string& separator) const;
};

/// Reads a sweep file:
///   base: configs/mf.yaml            # required
///   output: runs/sweep-mf            # optional
///   set: {data.test_per_user: 1}     # optional fixed overrides
///   grid: {train.lr: [0.001, 0.003], model.factors: [32, 64]}          # every combination, or
///   random: {train.lr: {log_uniform: [1e-4, 1e-2]}, model.factors: {choice: [32, 64, 128]},
///            model.dropout: {uniform: [0, 0.3]}, model.heads: {int_uniform: [2, 8]}}
///   trials: 12                       # the budget: at most this many (required for random)
///   seed: 0                          # for random draws and for thinning a grid over budget
/// Every key is checked against the configuration's parameters and every value parsed with the
/// key's type (a ConfigError naming the key otherwise); a malformed file is an InputError
/// naming the file and line.
SweepSpec load_sweep(const std::string& path);
SweepSpec sweep_from_yaml_string(const std::string& text, const std::string& source_name = "<string>");

}  // namespace mlrec::config
