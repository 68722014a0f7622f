#include "mlrec/train/experiments.h"

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "mlrec/common/error.h"
#include "mlrec/common/json.h"
#include "mlrec/common/logging.h"
#include "mlrec/train/run.h"

namespace mlrec::train {
namespace {

namespace fs = std::filesystem;

struct MeanStd {
  double mean = NAN, std = NAN;
};

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd r;
  if (values.empty()) return r;
  double sum = 0;
  for (double v : values) sum += v;
  r.mean = sum / values.size();
  if (values.size() > 1) {
    double sq = 0;
    for (double v : values) sq += (v - r.mean) * (v - r.mean);
    r.std = std::sqrt(sq / (values.size() - 1));
  }
  return r;
}

JsonObject stats_json(const std::vector<Metrics>& runs) {
  JsonObject out;
  auto add = [&](const char* name, auto field) {
    std::vector<double> values;
    for (const auto& m : runs) values.push_back(field(m));
    const MeanStd s = mean_std(values);
    JsonObject entry;
    entry.add("mean", s.mean).add("std", s.std);
    out.add(name, entry);
  };
  add("mae", [](const Metrics& m) { return m.mae; });
  add("mse", [](const Metrics& m) { return m.mse; });
  add("rmse", [](const Metrics& m) { return m.rmse; });
  return out;
}

std::string describe(const char* what, const std::vector<Metrics>& runs) {
  std::vector<double> mae, rmse;
  for (const auto& m : runs) mae.push_back(m.mae), rmse.push_back(m.rmse);
  const MeanStd a = mean_std(mae), b = mean_std(rmse);
  char line[200];
  std::snprintf(line, sizeof line, "%s over %zu seeds: MAE %.5f +- %.5f, RMSE %.5f +- %.5f", what, runs.size(),
                a.mean, a.std, b.mean, b.std);
  return line;
}

}  // namespace

void run_seeds(const config::Config& config, dist::ProcessGroup& group, const std::vector<int64_t>& seeds) {
  std::vector<Metrics> valid, test;
  JsonObject per_seed;
  for (int64_t seed : seeds) {
    config::Config run = config;
    run.train.seed = seed;
    run.output.dir = (fs::path(config.output.dir) / ("seed-" + std::to_string(seed))).string();
    log_rank0("seed " + std::to_string(seed) + ": " + run.output.dir);
    const RunResult result = run_training(run, group);
    valid.push_back(result.best);
    JsonObject entry;
    entry.add("valid_mae", result.best.mae).add("valid_rmse", result.best.rmse).add("best_epoch", result.best_epoch);
    if (result.test.count > 0) {
      test.push_back(result.test);
      entry.add("test_mae", result.test.mae).add("test_rmse", result.test.rmse);
    }
    per_seed.add(std::to_string(seed), entry);
  }
  log_rank0(describe("validation", valid));
  if (!test.empty()) log_rank0(describe("test", test));
  if (group.rank != 0) return;
  JsonObject summary;
  summary.add("model", config.model.name).add("seeds", static_cast<int64_t>(seeds.size())).add("runs", per_seed);
  summary.add("valid", stats_json(valid));
  if (!test.empty()) summary.add("test", stats_json(test));
  write_file_atomic((fs::path(config.output.dir) / "seeds.json").string(), summary.str() + "\n");
}

void run_sweep(const config::SweepSpec& spec, const std::vector<std::string>& extra_overrides,
               dist::ProcessGroup& group) {
  const fs::path out = spec.output;
  if (group.rank == 0) fs::create_directories(out);
  // Each trial is a one-rank run: this rank alone, its share of the host's cores.
  dist::ProcessGroup alone;
  alone.host = group.host;
  alone.local_size = group.local_size;
  alone.comm = dist::make_local_communicator();

  const size_t count = spec.trials.size();
  log_rank0("sweep: " + std::to_string(count) + " trials of " + spec.base + " over " +
            std::to_string(group.world_size) + " rank(s), into " + out.string());
  auto trial_dir = [&](size_t i) {
    char name[32];
    std::snprintf(name, sizeof name, "trial-%03zu", i);
    return out / name;
  };
  for (size_t i = static_cast<size_t>(group.rank); i < count; i += static_cast<size_t>(group.world_size)) {
    const fs::path dir = trial_dir(i);
    std::vector<std::string> overrides = spec.trial_overrides(i, extra_overrides);
    overrides.push_back("output.dir=" + dir.string());
    std::string settings;
    for (const auto& o : spec.trials[i]) settings += (settings.empty() ? "" : " ") + o;
    try {
      const config::Config config = config::load_config(spec.base, overrides);
      const RunResult result = run_training(config, alone);
      char line[256];
      std::snprintf(line, sizeof line, "trial %zu (%s): valid MAE %.5f", i, settings.c_str(), result.best.mae);
      log_info(line);
    } catch (const std::exception& e) {
      // A failed trial is a result too: recorded, and the sweep goes on.
      fs::create_directories(dir);
      write_file_atomic((dir / "failed.txt").string(), std::string(e.what()) + "\n");
      log_error("trial " + std::to_string(i) + " (" + settings + ") failed: " + e.what());
    }
  }
  // Trials take as long as they take: the final barrier must not time out on a slow rank.
  dist::set_collective_timeout(*group.comm, 30 * 24 * 3600.0);
  group.comm->barrier("sweep end");
  if (group.rank != 0) return;

  struct Row {
    size_t trial;
    std::string settings, error;
    double valid_mae = INFINITY, valid_rmse = NAN, test_mae = NAN, test_rmse = NAN;
    int best_epoch = 0;
  };
  std::vector<Row> rows;
  for (size_t i = 0; i < count; ++i) {
    Row row;
    row.trial = i;
    for (const auto& o : spec.trials[i]) row.settings += (row.settings.empty() ? "" : ", ") + o;
    const fs::path dir = trial_dir(i);
    if (fs::exists(dir / "summary.json")) {
      const YAML::Node s = YAML::LoadFile((dir / "summary.json").string());
      row.valid_mae = s["valid"]["mae"].as<double>();
      row.valid_rmse = s["valid"]["rmse"].as<double>();
      row.best_epoch = s["best_epoch"].as<int>();
      if (s["test"]) {
        row.test_mae = s["test"]["mae"].as<double>();
        row.test_rmse = s["test"]["rmse"].as<double>();
      }
    } else {
      row.error = fs::exists(dir / "failed.txt") ? read_file((dir / "failed.txt").string(), "trial failure") : "no result";
      row.error.erase(std::remove(row.error.begin(), row.error.end(), '\n'), row.error.end());
    }
    rows.push_back(row);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.valid_mae < b.valid_mae; });

  std::string table = "| rank | trial | settings | valid MAE | valid RMSE | test MAE | test RMSE | best epoch |\n"
                      "|---|---|---|---|---|---|---|---|\n";
  std::string json = "[\n";
  for (size_t k = 0; k < rows.size(); ++k) {
    const Row& r = rows[k];
    char line[512];
    if (r.error.empty()) {
      std::snprintf(line, sizeof line, "| %zu | %zu | %s | %.5f | %.5f | %.5f | %.5f | %d |\n", k + 1, r.trial,
                    r.settings.c_str(), r.valid_mae, r.valid_rmse, r.test_mae, r.test_rmse, r.best_epoch);
    } else {
      std::snprintf(line, sizeof line, "| - | %zu | %s | failed: %s | | | | |\n", r.trial, r.settings.c_str(),
                    r.error.substr(0, 200).c_str());
    }
    table += line;
    JsonObject entry;
    entry.add("trial", static_cast<int64_t>(r.trial)).add("settings", r.settings);
    if (r.error.empty()) {
      entry.add("valid_mae", r.valid_mae).add("valid_rmse", r.valid_rmse).add("test_mae", r.test_mae)
          .add("test_rmse", r.test_rmse).add("best_epoch", r.best_epoch);
    } else {
      entry.add("error", r.error);
    }
    json += "  " + entry.str() + (k + 1 < rows.size() ? ",\n" : "\n");
  }
  json += "]\n";
  write_file_atomic((out / "results.md").string(), table);
  write_file_atomic((out / "results.json").string(), json);
  if (!rows.empty() && rows.front().error.empty()) {
    const fs::path best = trial_dir(rows.front().trial) / "config.yaml";
    write_file_atomic((out / "best.yaml").string(),
                      "# Best trial of the sweep (" + std::to_string(rows.front().trial) + ": " + rows.front().settings +
                          "), selected by validation MAE.\n" + read_file(best.string(), "best configuration"));
  }
  std::printf("%s", table.c_str());
  log_info("sweep results: " + (out / "results.md").string() + ", best configuration: " + (out / "best.yaml").string());
}

}  // namespace mlrec::train
