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
  // Ranking columns appear when any run has ranking metrics; K is the first such run's (a run
  // ranked at another K, or not at all, shows "-").
  int k = 0;
  for (const auto& row : rows) {
    if (k == 0 && row.summary.valid.has_ranking()) k = row.summary.valid.ranking_k;
  }
  std::string out = "| model | MAE | MSE | RMSE |";
  std::string rule = "|---|---|---|---|";
  if (k > 0) {
    out += fmt::format(" HR@{} | NDCG@{} |", k, k);
    rule += "---|---|";
  }
  out += " rows | best / run / max epochs | train samples/s | train time |\n";
  out += rule + "---|---|---|---|\n";
  for (const auto& row : rows) {
    const train::RunSummary& r = row.summary;
    out += fmt::format("| {} | {:.5f} | {:.5f} | {:.5f} | ", row_label(row, rows), r.valid.mae, r.valid.mse,
                       r.valid.rmse);
    if (k > 0) {
      out += r.valid.ranking_k == k ? fmt::format("{:.5f} | {:.5f} | ", r.valid.hr, r.valid.ndcg) : "- | - | ";
    }
    out += fmt::format("{} | ", r.valid.count);
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
