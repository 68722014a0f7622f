// The comparison table of several runs, like the study's conclusion.
#pragma once

#include <string>
#include <vector>

#include "mlrec/train/run_record.h"

namespace mlrec::report {

/// A finished run: its directory and its summary.json.
struct RunRow {
  std::string dir;
  train::RunSummary summary;
};

/// Reads DIR/summary.json. Throws InputError naming the file when it is missing or malformed.
RunRow read_run(const std::string& dir);

/// A Markdown table, one row per run in the given order, named by model (and by run directory
/// where several runs share a model).
std::string comparison_table(const std::vector<RunRow>& rows);

}  // namespace mlrec::report
