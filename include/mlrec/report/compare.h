// The comparison table of several runs, like the study's conclusion.
#pragma once

#include <string>
#include <vector>

#include "mlrec/train/run_record.h"

namespace mlrec::report {

/// A finished run, or a --seeds directory's runs taken together: its directory and summary.
struct RunRow {
  std::string dir;
  /// summary.json; for a --seeds directory, its first seed's with every validation and test
  /// metric, the throughput and the training time replaced by the mean over the seeds.
  train::RunSummary summary;
  /// A --seeds directory's runs (empty for a single run).
  std::vector<train::RunSummary> seed_runs;
  /// The sample standard deviation over the seeds of a validation metric (NaN for a single run).
  double valid_spread(double train::Metrics::*metric) const;
  /// "4", or over seeds the range of the seeds' values, "3-4".
  std::string epochs_text(int train::RunSummary::*field) const;
};

/// The run directories of a --seeds directory (DIR/seed-N for each seed its seeds.json lists),
/// or none where DIR holds no seeds.json. InputError naming seeds.json when it is malformed.
std::vector<std::string> seed_run_dirs(const std::string& dir);

/// `text` for a cell of a Markdown table: '|' escaped, so that a folder or a value holding one
/// does not split the cell.
std::string markdown_cell(const std::string& text);

/// A --seeds directory before its seeds.json is written (training, stopped or failed): its
/// DIR/seed-N folders that hold a run's metrics.jsonl or summary.json, by seed.
std::vector<std::string> unfinished_seed_run_dirs(const std::string& dir);

/// Names for runs in a table or a plot's legend: each run's model, and where several runs share a
/// model (the study's MF beside the tuned one), also its directory's name: "mf (mf_tuned)".
std::vector<std::string> run_labels(const std::vector<std::string>& models, const std::vector<std::string>& dirs);

/// A run directory's own name: "mf_tuned" for "runs/mf_tuned/".
std::string directory_name(const std::string& dir);

/// The K of the ranking columns: the first ranked run's (0 when no run was ranked). A run
/// ranked at another K, or not at all, shows "-" there.
int ranking_k(const std::vector<RunRow>& rows);

/// run_labels of the rows' models and directories; a --seeds row adds ", N seeds".
std::vector<std::string> run_labels(const std::vector<RunRow>& rows);

/// A validation metric of a row, "0.71234", or over seeds "0.71234 ± 0.00120" (mean ± std).
std::string metric_text(const RunRow& row, double train::Metrics::*metric);

/// Reads DIR/summary.json, or a --seeds directory's runs. Throws InputError naming the file when it is missing or malformed.
RunRow read_run(const std::string& dir);

/// A Markdown table, one row per run in the given order, named by model (and by run directory
/// where several runs share a model). A --seeds row shows each metric as mean +- std.
std::string comparison_table(const std::vector<RunRow>& rows);

}  // namespace mlrec::report
