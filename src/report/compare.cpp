#include "mlrec/report/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "mlrec/common/error.h"

namespace mlrec::report {

RunRow read_run(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "summary.json").string();
  if (!std::filesystem::exists(path)) throw InputError::in(path, "missing (is " + dir + " a finished run directory?)");
  return RunRow{dir, train::read_run_summary(path)};
}

namespace {
// A row's name is its model's; where several rows share a model (the study's MF beside the tuned
// one), each also names its run directory, so that the table says which is which.
std::string row_label(const RunRow& row, const std::vector<RunRow>& rows) {
  const auto same_model = std::count_if(rows.begin(), rows.end(),
                                        [&](const RunRow& other) { return other.summary.model == row.summary.model; });
  if (same_model < 2) return row.summary.model;
  const std::filesystem::path dir = std::filesystem::path(row.dir).lexically_normal();
  const std::string name = dir.has_filename() ? dir.filename().string() : dir.parent_path().filename().string();
  return row.summary.model + " (" + name + ")";
}
}  // namespace

std::string comparison_table(const std::vector<RunRow>& rows) {
  std::string out =
      "| model | MAE | MSE | RMSE | rows | best / run / max epochs | train samples/s | train time |\n"
      "|---|---|---|---|---|---|---|---|\n";
  for (const auto& row : rows) {
    const train::RunSummary& r = row.summary;
    out += fmt::format("| {} | {:.5f} | {:.5f} | {:.5f} | {} | ", row_label(row, rows), r.valid.mae, r.valid.mse,
                       r.valid.rmse, r.valid.count);
    if (r.epochs_run == 0) {
      out += "- | - | - |\n";  // the baseline: nothing trained
    } else {
      out += fmt::format("{} / {} / {} | {:.0f} | {:.1f} s |\n", r.best_epoch, r.epochs_run, r.max_epochs,
                         r.samples_per_second, r.train_seconds);
    }
  }
  return out;
}

}  // namespace mlrec::report
