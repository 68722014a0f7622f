#include "mlrec/report/compare.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"

namespace mlrec::report {

namespace fs = std::filesystem;

std::vector<std::string> seed_run_dirs(const std::string& dir) {
  const fs::path seeds_file = fs::path(dir) / "seeds.json";
  if (!fs::exists(seeds_file) || fs::exists(fs::path(dir) / "summary.json")) return {};
  std::vector<std::string> dirs;
  try {
    // Ordered: the seeds in the order they were given (and trained).
    const auto seeds = nlohmann::ordered_json::parse(read_file(seeds_file.string(), "seeds summary"));
    for (const auto& [seed, entry] : seeds.at("runs").items()) dirs.push_back((fs::path(dir) / ("seed-" + seed)).string());
  } catch (const nlohmann::json::exception& e) {
    throw InputError::in(seeds_file.string(), std::string("not a seeds summary: ") + e.what());
  }
  if (dirs.empty()) throw InputError::in(seeds_file.string(), "lists no runs");
  return dirs;
}

std::string markdown_cell(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::vector<std::string> unfinished_seed_run_dirs(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("seed-", 0) != 0) continue;
    const std::string number = name.substr(5);
    if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!fs::exists(entry.path() / "metrics.jsonl") && !fs::exists(entry.path() / "summary.json")) continue;
    found.emplace_back(std::stoll(number), entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> dirs;
  for (auto& [seed, path] : found) dirs.push_back(std::move(path));
  return dirs;
}

namespace {

train::RunSummary read_summary(const std::string& dir) {
  const std::string path = (fs::path(dir) / "summary.json").string();
  if (!fs::exists(path)) throw InputError::in(path, "missing (is " + dir + " a finished run directory?)");
  return train::read_run_summary(path);
}

double mean_of(const std::vector<train::RunSummary>& runs, const std::function<double(const train::RunSummary&)>& get) {
  double sum = 0;
  for (const auto& run : runs) sum += get(run);
  return sum / runs.size();
}

train::Metrics mean_metrics(const std::vector<train::RunSummary>& runs, const train::Metrics train::RunSummary::*which) {
  train::Metrics m = runs.front().*which;
  for (auto field : {&train::Metrics::mae, &train::Metrics::mse, &train::Metrics::rmse, &train::Metrics::hr,
                     &train::Metrics::ndcg}) {
    m.*field = mean_of(runs, [&](const train::RunSummary& r) { return (r.*which).*field; });
  }
  return m;
}

}  // namespace

RunRow read_run(const std::string& dir) {
  const std::vector<std::string> seed_dirs = seed_run_dirs(dir);
  if (seed_dirs.empty()) return RunRow{dir, read_summary(dir), {}};
  RunRow row{dir, {}, {}};
  for (const auto& seed_dir : seed_dirs) row.seed_runs.push_back(read_summary(seed_dir));
  const auto& runs = row.seed_runs;
  row.summary = runs.front();
  row.summary.valid = mean_metrics(runs, &train::RunSummary::valid);
  const bool all_tested = std::all_of(runs.begin(), runs.end(), [](const auto& r) { return r.test.has_value(); });
  if (all_tested) {
    std::vector<train::RunSummary> tested = runs;
    for (auto& r : tested) r.valid = *r.test;
    row.summary.test = mean_metrics(tested, &train::RunSummary::valid);
  } else {
    row.summary.test.reset();
  }
  row.summary.samples_per_second = mean_of(runs, [](const auto& r) { return r.samples_per_second; });
  row.summary.train_seconds = mean_of(runs, [](const auto& r) { return r.train_seconds; });
  return row;
}

double RunRow::valid_spread(double train::Metrics::*metric) const {
  if (seed_runs.size() < 2) return NAN;
  const double mean = mean_of(seed_runs, [&](const train::RunSummary& r) { return r.valid.*metric; });
  double squares = 0;
  for (const auto& r : seed_runs) squares += (r.valid.*metric - mean) * (r.valid.*metric - mean);
  return std::sqrt(squares / (seed_runs.size() - 1));
}

std::string RunRow::epochs_text(int train::RunSummary::*field) const {
  if (seed_runs.empty()) return std::to_string(summary.*field);
  int lo = seed_runs.front().*field, hi = lo;
  for (const auto& r : seed_runs) {
    lo = std::min(lo, r.*field);
    hi = std::max(hi, r.*field);
  }
  return lo == hi ? std::to_string(lo) : fmt::format("{}-{}", lo, hi);
}

namespace {

// The last `depth` components of a directory's path: "b/mf" for depth 2 of "runs/b/mf/".
std::string last_components(const std::string& dir, int depth) {
  fs::path path = fs::path(dir).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();
  std::vector<std::string> parts;
  for (const auto& part : path) parts.push_back(part.string());
  const size_t first = parts.size() > static_cast<size_t>(depth) ? parts.size() - depth : 0;
  fs::path out;
  for (size_t i = first; i < parts.size(); ++i) out /= parts[i];
  return out.string();
}

}  // namespace

std::string directory_name(const std::string& dir) { return last_components(dir, 1); }

std::vector<std::string> run_labels(const std::vector<std::string>& models, const std::vector<std::string>& dirs) {
  std::vector<std::string> labels(models.size());
  for (size_t i = 0; i < models.size(); ++i) {
    std::vector<size_t> same_model;
    for (size_t j = 0; j < models.size(); ++j) {
      if (models[j] == models[i]) same_model.push_back(j);
    }
    if (same_model.size() < 2) {
      labels[i] = models[i];
      continue;
    }
    // As many trailing path components as it takes to tell this run from the others of its
    // model: runs/mf_tuned -> "mf_tuned"; a/mf beside b/mf -> "a/mf".
    for (int depth = 1; depth <= 16; ++depth) {
      const std::string name = last_components(dirs[i], depth);
      const bool unique = std::none_of(same_model.begin(), same_model.end(), [&](size_t j) {
        return j != i && last_components(dirs[j], depth) == name;
      });
      if (unique || depth == 16) {
        labels[i] = models[i] + " (" + name + ")";
        break;
      }
    }
  }
  return labels;
}

std::vector<std::string> run_labels(const std::vector<RunRow>& rows) {
  std::vector<std::string> models, dirs;
  for (const auto& row : rows) {
    models.push_back(row.summary.model);
    dirs.push_back(row.dir);
  }
  std::vector<std::string> labels = run_labels(models, dirs);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].seed_runs.empty()) labels[i] += fmt::format(", {} seeds", rows[i].seed_runs.size());
  }
  return labels;
}

std::string metric_text(const RunRow& row, double train::Metrics::*metric) {
  const double spread = row.valid_spread(metric);
  return std::isnan(spread) ? fmt::format("{:.5f}", row.summary.valid.*metric)
                            : fmt::format("{:.5f} ± {:.5f}", row.summary.valid.*metric, spread);
}

int ranking_k(const std::vector<RunRow>& rows) {
  for (const auto& row : rows) {
    if (row.summary.valid.has_ranking()) return row.summary.valid.ranking_k;
  }
  return 0;
}

std::string comparison_table(const std::vector<RunRow>& rows) {
  // Ranking columns appear when any run has ranking metrics; K is the first such run's (a run
  // ranked at another K, or not at all, shows "-").
  const int k = ranking_k(rows);
  std::string out = "| model | MAE | MSE | RMSE |";
  std::string rule = "|---|---|---|---|";
  if (k > 0) {
    out += fmt::format(" HR@{} | NDCG@{} |", k, k);
    rule += "---|---|";
  }
  out += " rows | best / run / max epochs | train samples/s | train time |\n";
  out += rule + "---|---|---|---|\n";
  const std::vector<std::string> labels = run_labels(rows);
  for (size_t i = 0; i < rows.size(); ++i) {
    const RunRow& row = rows[i];
    const train::RunSummary& r = row.summary;
    out += fmt::format("| {} | {} | {} | {} | ", markdown_cell(labels[i]), metric_text(row, &train::Metrics::mae),
                       metric_text(row, &train::Metrics::mse), metric_text(row, &train::Metrics::rmse));
    if (k > 0) {
      out += r.valid.ranking_k == k ? fmt::format("{} | {} | ", metric_text(row, &train::Metrics::hr),
                                                  metric_text(row, &train::Metrics::ndcg))
                                    : "- | - | ";
    }
    out += with_commas(r.valid.count) + " | ";
    if (r.epochs_run == 0) {
      out += "- | - | - |\n";  // the baseline: nothing trained
    } else {
      out += fmt::format("{} / {} / {} | {} | {:.1f} s |\n", row.epochs_text(&train::RunSummary::best_epoch),
                         row.epochs_text(&train::RunSummary::epochs_run), r.max_epochs,
                         with_commas(std::llround(r.samples_per_second)), r.train_seconds);
    }
  }
  return out;
}

}  // namespace mlrec::report
