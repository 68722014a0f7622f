// The comparison table of several runs, like the study's conclusion.
#pragma once

#include <string>
#include <vector>

namespace mlrec::report {

/// One run directory's summary.json, the fields the table shows.
struct RunRow {
  std::string dir, model, device;
  double mae = 0, mse = 0, rmse = 0;
  long long count = 0;
  int best_epoch = 0, epochs_run = 0, max_epochs = 0;
  double samples_per_second = 0, train_seconds = 0, data_seconds = 0;
};

/// Reads DIR/summary.json. Throws InputError naming the file when it is missing or malformed.
RunRow read_run(const std::string& dir);

/// A Markdown table, one row per run in the given order.
std::string comparison_table(const std::vector<RunRow>& rows);

}  // namespace mlrec::report
