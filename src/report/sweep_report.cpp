#include "mlrec/report/sweep_report.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <vector>

#include "mlrec/common/file_io.h"
#include "mlrec/report/compare.h"
#include "mlrec/train/run_identity.h"
#include "mlrec/train/run_record.h"

namespace mlrec::report {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

struct TrialRow {
  size_t trial = 0;
  std::string settings;
  std::optional<train::RunSummary> summary;  // the trial's result, or
  std::string error;                         // why it has none: a failure, or
  bool pending = false;                      // not run (or not finished) yet, or
  bool other_run = false;                    // its folder holds another configuration's run

  // What ranks the trials: validation MAE, trials without a result last.
  double rank_key() const { return summary ? summary->valid.mae : INFINITY; }
};

TrialRow read_trial(const config::SweepSpec& spec, size_t i, const std::vector<std::string>& extra_overrides) {
  TrialRow row;
  row.trial = i;
  row.settings = spec.trial_settings(i, ", ");
  const fs::path dir = spec.trial_dir(i);
  const auto difference = train::difference_from_run_in(
      dir.string(), train::identity_of(config::load_config(spec.base, spec.trial_run_overrides(i, extra_overrides))));
  if (difference) {
    // The sweep's settings changed since the trial ran: its result is not this trial's.
    row.other_run = true;
    row.error = "holds a run of another configuration (" + *difference + ")";
  } else if (fs::exists(dir / "summary.json")) {
    row.summary = train::read_run_summary((dir / "summary.json").string());
  } else {
    row.pending = !fs::exists(dir / "failed.txt");
    row.error = row.pending ? "not finished" : read_file((dir / "failed.txt").string(), "trial failure");
    row.error.erase(std::remove(row.error.begin(), row.error.end(), '\n'), row.error.end());
  }
  return row;
}

}  // namespace

std::string write_sweep_report(const config::SweepSpec& spec, const std::vector<std::string>& extra_overrides) {
  std::vector<TrialRow> rows;
  for (size_t i = 0; i < spec.trials.size(); ++i) rows.push_back(read_trial(spec, i, extra_overrides));
  std::stable_sort(rows.begin(), rows.end(),
                   [](const TrialRow& a, const TrialRow& b) { return a.rank_key() < b.rank_key(); });

  std::string table = "| rank | trial | settings | valid MAE | valid RMSE | test MAE | test RMSE | best epoch |\n"
                      "|---|---|---|---|---|---|---|---|\n";
  Json results = Json::array();
  for (size_t k = 0; k < rows.size(); ++k) {
    const TrialRow& r = rows[k];
    Json entry{{"trial", r.trial}, {"settings", r.settings}};
    if (r.summary) {
      const train::RunSummary& s = *r.summary;
      const double test_mae = s.test ? s.test->mae : NAN, test_rmse = s.test ? s.test->rmse : NAN;
      // Without a test set (data.test_per_user: 0) "-", as compare writes, not "nan": no failure.
      const std::string test_cells = s.test ? fmt::format("{:.5f} | {:.5f}", test_mae, test_rmse) : "- | -";
      table += fmt::format("| {} | {} | {} | {:.5f} | {:.5f} | {} | {} |\n", k + 1, r.trial, markdown_cell(r.settings), s.valid.mae,
                           s.valid.rmse, test_cells, s.best_epoch);
      entry["valid_mae"] = s.valid.mae;
      entry["valid_rmse"] = s.valid.rmse;
      entry["test_mae"] = test_mae;
      entry["test_rmse"] = test_rmse;
      entry["best_epoch"] = s.best_epoch;
    } else {
      table += fmt::format("| - | {} | {} | {}{} | | | | |\n", r.trial, markdown_cell(r.settings), r.pending || r.other_run ? "" : "failed: ",
                           markdown_cell(r.error.substr(0, 200)));
      entry["error"] = r.error;
    }
    results.push_back(entry);
  }
  const fs::path out = spec.output;
  fs::create_directories(out);  // --report before any trial has run
  write_file_atomic((out / "results.md").string(), table);
  write_file_atomic((out / "results.json").string(), results.dump(2) + "\n");
  const fs::path best_path = out / "best.yaml";
  if (rows.empty() || !rows.front().summary) fs::remove(best_path);  // an earlier report's: no longer true
  if (!rows.empty() && rows.front().summary) {
    const TrialRow& best = rows.front();
    const std::string best_config = (fs::path(spec.trial_dir(best.trial)) / "config.yaml").string();
    write_file_atomic(best_path.string(),
                      fmt::format("# Best trial of the sweep ({}: {}), selected by validation MAE.\n", best.trial,
                                  best.settings) +
                          read_file(best_config, "best configuration"));
  }
  return table;
}

}  // namespace mlrec::report
