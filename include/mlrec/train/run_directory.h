// The run directory (output.dir) and its file contract, in one place (README, "What a run
// writes"): config.yaml, metrics.jsonl, summary.json and best.pt, written by rank 0 only, each
// atomically. Torch-free.
#pragma once

#include <string>

#include "mlrec/train/run_record.h"

namespace mlrec::train {

class RunDirectory {
 public:
  /// `writer`: whether this rank writes the files (rank 0). Every rank knows the paths; the
  /// writing methods do nothing on the others.
  RunDirectory(std::string path, bool writer) : path_(std::move(path)), writer_(writer) {}

  const std::string& path() const { return path_; }
  bool writer() const { return writer_; }

  std::string config_path() const { return file("config.yaml"); }
  std::string metrics_path() const { return file("metrics.jsonl"); }
  std::string summary_path() const { return file("summary.json"); }
  std::string best_weights_path() const { return file("best.pt"); }

  /// Creates the folder and writes config.yaml, the resolved configuration. Called once the
  /// data has loaded and the model has been built: bad input leaves no run directory behind.
  void create(const std::string& resolved_config_yaml) const;
  /// metrics.jsonl with no epochs (the baseline, which trains none).
  void write_empty_metrics() const;
  void write_summary(const RunSummary& summary) const;

 private:
  std::string file(const char* name) const;
  std::string path_;
  bool writer_;
};

}  // namespace mlrec::train
