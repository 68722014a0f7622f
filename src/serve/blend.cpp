// mlrec_dist blend: a linear combination of finished runs, fitted on validation predictions only
// and reported once on test (serve.h says what it refuses, and why).
#include <fmt/format.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/serve/serve.h"
#include "trained_run.h"

namespace mlrec::serve {

namespace {

BlendScores scores(const torch::Tensor& prediction, const torch::Tensor& target) {
  const auto error = prediction.to(torch::kFloat64) - target.to(torch::kFloat64);
  return {error.abs().mean().item<double>(), error.square().mean().sqrt().item<double>()};
}

}  // namespace

BlendReport blend(const BlendOptions& options) {
  if (options.runs.size() < 2) throw ConfigError("blend: give at least two finished run directories");
  if (!options.out.empty()) check_writable(options.out);
  BlendReport report;
  std::vector<torch::Tensor> valid, test;  // each member's predictions, float64
  torch::Tensor valid_target, test_target;
  double low = 0, high = 0;
  for (const std::string& dir : options.runs) {
    RunOptions run{dir, options.overrides, options.device, options.threads};
    TrainedRun trained(run);
    const data::LoadedData& d = trained.data();
    if (d.test.size() == 0) {
      throw InputError::in(dir, "has no test set (the study's protocol): a blend is fitted on validation and "
                                "reported on test; train its members with --set data.test_per_user=1");
    }
    const std::string fingerprint = data::data_fingerprint(d);
    if (report.data.empty()) {
      report.data = fingerprint;
      valid_target = d.valid.targets().to(torch::kFloat64);
      test_target = d.test.targets().to(torch::kFloat64);
      low = d.info.rating_min;
      high = d.info.rating_max;
    } else if (fingerprint != report.data) {
      throw InputError::in(dir, "was trained on other data or another split than " + options.runs[0] + " (" +
                                    fingerprint + " against " + report.data + ")");
    }
    BlendMember member;
    member.run = dir;
    member.model = trained.config().model.name;
    valid.push_back(trained.predict_all(d.valid).to(torch::kFloat64));
    test.push_back(trained.predict_all(d.test).to(torch::kFloat64));
    member.valid = scores(valid.back(), valid_target);
    member.test = scores(test.back(), test_target);
    log_info(fmt::format("{} ({}): valid MAE {:.5f}, test MAE {:.5f}", dir, member.model, member.valid.mae,
                         member.test.mae));
    report.members.push_back(member);
  }
  // Least squares with an intercept, on validation: [predictions, 1] w = targets.
  const auto with_ones = [](std::vector<torch::Tensor> columns) {
    columns.push_back(torch::ones_like(columns.front()));
    return torch::stack(columns, 1);
  };
  const auto x_valid = with_ones(valid), x_test = with_ones(test);
  // (gelsd: an SVD solver, for members whose predictions are nearly collinear, as seeds' are)
  const auto weights =
      std::get<0>(torch::linalg_lstsq(x_valid, valid_target.unsqueeze(1), std::nullopt, "gelsd")).squeeze(1);
  const auto predict = [&](const torch::Tensor& x) { return torch::mv(x, weights).clamp(low, high); };
  report.valid = scores(predict(x_valid), valid_target);
  report.test = scores(predict(x_test), test_target);
  report.mean_valid = scores(torch::stack(valid, 1).mean(1), valid_target);
  report.mean_test = scores(torch::stack(test, 1).mean(1), test_target);
  const auto w = weights.contiguous();
  for (size_t m = 0; m < report.members.size(); ++m) report.members[m].weight = w[static_cast<int64_t>(m)].item<double>();
  report.intercept = w[static_cast<int64_t>(report.members.size())].item<double>();
  report.valid_count = valid_target.size(0);
  report.test_count = test_target.size(0);
  if (!options.out.empty()) write_file_atomic(options.out, blend_json(report));
  return report;
}

std::string blend_table(const BlendReport& r) {
  std::string table = fmt::format(
      "| member | model | weight | valid MAE | valid RMSE | test MAE | test RMSE |\n|---|---|---|---|---|---|---|\n");
  for (const auto& m : r.members) {
    table += fmt::format("| {} | {} | {:.4f} | {:.5f} | {:.5f} | {:.5f} | {:.5f} |\n", m.run, m.model, m.weight,
                         m.valid.mae, m.valid.rmse, m.test.mae, m.test.rmse);
  }
  table += fmt::format("| plain average | | | {:.5f} | {:.5f} | {:.5f} | {:.5f} |\n", r.mean_valid.mae,
                       r.mean_valid.rmse, r.mean_test.mae, r.mean_test.rmse);
  table += fmt::format("| **blend** (intercept {:.4f}; fitted on {} validation ratings) | | | {:.5f} | {:.5f} | "
                       "**{:.5f}** | **{:.5f}** |\n",
                       r.intercept, r.valid_count, r.valid.mae, r.valid.rmse, r.test.mae, r.test.rmse);
  return table;
}

std::string blend_json(const BlendReport& r) {
  nlohmann::ordered_json j;
  j["format"] = 1;
  j["fitted_on"] = "validation";
  j["data"] = r.data;
  j["members"] = nlohmann::ordered_json::array();
  for (const auto& m : r.members) {
    j["members"].push_back({{"run", m.run},
                            {"model", m.model},
                            {"weight", m.weight},
                            {"valid", {{"mae", m.valid.mae}, {"rmse", m.valid.rmse}}},
                            {"test", {{"mae", m.test.mae}, {"rmse", m.test.rmse}}}});
  }
  j["intercept"] = r.intercept;
  j["valid"] = {{"mae", r.valid.mae}, {"rmse", r.valid.rmse}, {"count", r.valid_count}};
  j["test"] = {{"mae", r.test.mae}, {"rmse", r.test.rmse}, {"count", r.test_count}};
  j["plain_average"] = {{"valid", {{"mae", r.mean_valid.mae}, {"rmse", r.mean_valid.rmse}}},
                        {"test", {{"mae", r.mean_test.mae}, {"rmse", r.mean_test.rmse}}}};
  return j.dump(2) + "\n";
}

}  // namespace mlrec::serve
