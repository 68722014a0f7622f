#include "mlrec/report/compare.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>

#include "mlrec/common/error.h"

namespace mlrec::report {

RunRow read_run(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "summary.json").string();
  if (!std::filesystem::exists(path)) throw InputError::in(path, "missing (is " + dir + " a finished run directory?)");
  RunRow row;
  row.dir = dir;
  try {
    // summary.json is JSON, which is YAML: no second parser needed.
    const YAML::Node s = YAML::LoadFile(path);
    row.model = s["model"].as<std::string>();
    row.device = s["device"].as<std::string>("");
    const YAML::Node valid = s["valid"];
    row.mae = valid["mae"].as<double>();
    row.mse = valid["mse"].as<double>();
    row.rmse = valid["rmse"].as<double>();
    row.count = valid["count"].as<long long>();
    row.best_epoch = s["best_epoch"].as<int>();
    row.epochs_run = s["epochs_run"].as<int>();
    row.max_epochs = s["max_epochs"].as<int>(0);
    row.samples_per_second = s["samples_per_second"].as<double>(0);
    row.train_seconds = s["train_seconds"].as<double>(0);
    row.data_seconds = s["data_seconds"].as<double>(0);
  } catch (const YAML::Exception& e) {
    throw InputError::in(path, std::string("not a valid run summary: ") + e.what());
  }
  return row;
}

std::string comparison_table(const std::vector<RunRow>& rows) {
  std::string out =
      "| model | MAE | MSE | RMSE | rows | best / run / max epochs | train samples/s | train time |\n"
      "|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    char line[320];
    if (r.epochs_run == 0) {
      std::snprintf(line, sizeof line, "| %s | %.5f | %.5f | %.5f | %lld | - | - | - |\n",
                    r.model.c_str(), r.mae, r.mse, r.rmse, r.count);
    } else {
      std::snprintf(line, sizeof line, "| %s | %.5f | %.5f | %.5f | %lld | %d / %d / %d | %.0f | %.1f s |\n",
                    r.model.c_str(), r.mae, r.mse, r.rmse, r.count, r.best_epoch, r.epochs_run,
                    r.max_epochs, r.samples_per_second, r.train_seconds);
    }
    out += line;
  }
  return out;
}

}  // namespace mlrec::report
