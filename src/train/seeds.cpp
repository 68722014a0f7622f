#include "mlrec/train/seeds.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>

#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/train/run.h"

namespace mlrec::train {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

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

MeanStd metric_stats(const std::vector<Metrics>& runs, double Metrics::*field) {
  std::vector<double> values;
  for (const auto& m : runs) values.push_back(m.*field);
  return mean_std(values);
}

bool all_ranked(const std::vector<Metrics>& runs) {
  for (const auto& m : runs) {
    if (!m.has_ranking()) return false;
  }
  return !runs.empty();
}

Json stats_json(const std::vector<Metrics>& runs) {
  Json out;
  for (const auto& [name, field] : {std::pair{"mae", &Metrics::mae}, {"mse", &Metrics::mse}, {"rmse", &Metrics::rmse}}) {
    const MeanStd s = metric_stats(runs, field);
    out[name] = Json{{"mean", s.mean}, {"std", s.std}};
  }
  if (all_ranked(runs)) {
    out["k"] = runs.front().ranking_k;
    for (const auto& [name, field] : {std::pair{"hr", &Metrics::hr}, {"ndcg", &Metrics::ndcg}}) {
      const MeanStd s = metric_stats(runs, field);
      out[name] = Json{{"mean", s.mean}, {"std", s.std}};
    }
  }
  return out;
}

std::string describe(const char* what, const std::vector<Metrics>& runs) {
  const MeanStd mae = metric_stats(runs, &Metrics::mae), rmse = metric_stats(runs, &Metrics::rmse);
  std::string text = fmt::format("{} over {} seeds: MAE {:.5f} +- {:.5f}, RMSE {:.5f} +- {:.5f}", what, runs.size(),
                                 mae.mean, mae.std, rmse.mean, rmse.std);
  if (all_ranked(runs)) {
    const MeanStd hr = metric_stats(runs, &Metrics::hr), ndcg = metric_stats(runs, &Metrics::ndcg);
    const int k = runs.front().ranking_k;
    text += fmt::format(", HR@{} {:.5f} +- {:.5f}, NDCG@{} {:.5f} +- {:.5f}", k, hr.mean, hr.std, k, ndcg.mean, ndcg.std);
  }
  return text;
}

}  // namespace

void run_seeds(const config::Config& config, dist::ProcessGroup& group, const std::vector<int64_t>& seeds) {
  std::vector<SeedResult> results;
  for (int64_t seed : seeds) {
    config::Config run = config;
    run.train.seed = seed;
    run.output.dir = (fs::path(config.output.dir) / ("seed-" + std::to_string(seed))).string();
    log_rank0("seed " + std::to_string(seed) + ": " + run.output.dir);
    const RunResult result = run_training(run, group);
    results.push_back({seed, result.best, result.test, result.best_epoch});
  }
  summarize_seeds(config.output.dir, config.model.name, results, group.rank == 0);
}

void summarize_seeds(const std::string& dir, const std::string& model, const std::vector<SeedResult>& results,
                     bool write) {
  std::vector<Metrics> valid, test;
  Json per_seed = Json::object();
  for (const SeedResult& r : results) {
    valid.push_back(r.valid);
    Json entry{{"valid_mae", r.valid.mae}, {"valid_rmse", r.valid.rmse}};
    if (r.best_epoch > 0) entry["best_epoch"] = r.best_epoch;
    if (r.valid.has_ranking()) {
      entry["valid_hr"] = r.valid.hr;
      entry["valid_ndcg"] = r.valid.ndcg;
    }
    if (r.test.count > 0) {
      test.push_back(r.test);
      entry["test_mae"] = r.test.mae;
      entry["test_rmse"] = r.test.rmse;
      if (r.test.has_ranking()) {
        entry["test_hr"] = r.test.hr;
        entry["test_ndcg"] = r.test.ndcg;
      }
    }
    per_seed[std::to_string(r.seed)] = entry;
  }
  log_rank0(describe("validation", valid));
  if (!test.empty()) log_rank0(describe("test", test));
  if (!write) return;
  Json summary{{"model", model}, {"seeds", results.size()}, {"runs", per_seed}, {"valid", stats_json(valid)}};
  if (!test.empty()) summary["test"] = stats_json(test);
  write_file_atomic((fs::path(dir) / "seeds.json").string(), summary.dump() + "\n");
}

}  // namespace mlrec::train
