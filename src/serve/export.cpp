// mlrec_dist export: a run's selected model for use without mlrec (README, "Exported models"):
//   model.safetensors  the weights, named as in best.pt ("user.weight", "encoder0.ff1.weight", ...)
//   id_maps.json       row i of a user/item table is the data's id users[i] / items[i]
//   model.json         the model's name, rating range, window length and how it predicts
//   config.yaml        the run's full configuration
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/version.h"
#include "mlrec/config/config.h"
#include "mlrec/serve/serve.h"
#include "mlrec/train/run_record.h"
#include "run_files.h"
#include "safetensors.h"

namespace mlrec::serve {

namespace fs = std::filesystem;

namespace {

// How each model turns its tensors into a rating, for people reading model.json.
std::string prediction_formula(const std::string& model) {
  if (model == "mf") {
    return "low + (high - low) * sigmoid(user.weight[u] . item.weight[i] + user_bias.weight[u, 0] + "
           "item_bias.weight[i, 0]), u and i the rows of the user and item in id_maps.json";
  }
  if (model == "mf_history") {
    return "MF plus the user's last sequence_length - 1 ratings (src/models/mf_history.h): low + (high - low) * "
           "sigmoid(b_u + b_i + item.weight[i] . (user.weight[u] + h) + sum_k recency_weight[k] d_k), "
           "h = sum_k (history_item.weight[m_k] + d_k history_rating.weight[m_k]) / sqrt(n), d_k = r_k - low - "
           "(high - low) sigmoid(b_u + item_bias.weight[m_k, 0]) over the n rated history positions k";
  }
  if (model == "item_knn") {
    return "item neighbourhood (src/models/item_knn.h): clamp(mean + user_bias[u] + item_bias[i] + sum_j w_j e_j / "
           "sum_j |w_j|, rating_scale.min, rating_scale.max) over the model.neighbours votes j with the largest |w_j|. "
           "The votes: the user's training ratings, item rated_item[k] with e = residual[k] for k in [user_start[u], "
           "user_start[u + 1]), and the ratings of the pair's history window (the user's sequence_length - 1 ratings "
           "before it, validation and test ratings included) of items not among those, item j rated r with e = r - "
           "mean - user_bias[u] - item_bias[j]. w_j = similarity[i, j], times model.recent_weight for the window's "
           "items";
  }
  if (model == "bayes_svdpp") {
    return "Bayesian SVD++, the mean over the kept Gibbs samples (src/models/bayes_svdpp.h): clamp(offset[i] + x . "
           "item_vector[i], rating_scale.min, rating_scale.max), x = user_vector[u] for a history of the user's "
           "training items (rated_item[k], k in [user_start[u], user_start[u + 1])); with n of them and the history's e "
           "other items j, x = user_vector[u] + (1/sqrt(n + e) - 1/sqrt(n)) user_implicit[u] + sum_j item_implicit[j] / "
           "sqrt(n + e)";
  }
  if (model == "baseline") return "prediction[0] for every pair";
  return "the Behavior Sequence Transformer of mlrec's src/models/bst.cpp over the user's last "
         "sequence_length - 1 ratings and the item; load it with mlrec (mlrec_dist predict)";
}

}  // namespace

void export_model(const ExportOptions& options) {
  if (options.run.empty() || options.out.empty()) throw ConfigError("export needs --run DIR and --out DIR");
  const std::string summary_path = required_run_file(options.run, "summary.json", "the run has not finished (no summary.json)");
  const std::string weights = required_run_file(options.run, "best.pt", "the run saved no weights (output.save_checkpoint)");
  const std::string id_maps =
      required_run_file(options.run, "id_maps.json", "no id maps (the run was made by an mlrec older than export)");
  const std::string config_path = required_run_file(options.run, "config.yaml", "the run's configuration");
  const train::RunSummary summary = train::read_run_summary(summary_path);
  check_weights_intact(weights, summary);
  const config::Config config = config::load_config(config_path, {});
  if (std::isnan(summary.rating_min)) {
    throw InputError::in(summary_path, "has no rating_scale (written by an older mlrec): train the run again");
  }
  if (fs::exists(options.out) && !fs::is_directory(options.out)) {  // --overwrite replaces files in a folder only
    throw ConfigError("--out " + options.out + " is a file, not a folder: export writes a folder of files");
  }
  if (fs::exists(options.out) && !fs::is_empty(options.out) && !options.overwrite) {
    throw ConfigError("--out " + options.out + " exists and is not empty; pass --overwrite to replace its files");
  }

  torch::serialize::InputArchive archive;
  try {
    archive.load_from(weights, torch::Device(torch::kCPU));
  } catch (const c10::Error&) {
    throw InputError::in(weights, "not a readable checkpoint");
  }
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& key : archive.keys()) {
    torch::Tensor value;
    if (!archive.try_read(key, value, /*is_buffer=*/false) && !archive.try_read(key, value, /*is_buffer=*/true)) {
      throw InputError::in(weights, "tensor '" + key + "' cannot be read");
    }
    tensors.emplace_back(key, value);
  }

  const double low = summary.rating_min - summary.rating_step / 2, high = summary.rating_max + summary.rating_step / 2;
  nlohmann::ordered_json model{
      {"format", 1},
      {"model", summary.model},
      {"rating_range", {low, high}},
      {"rating_scale", {{"min", summary.rating_min}, {"max", summary.rating_max}, {"step", summary.rating_step}}},
      {"sequence_length", config.data.sequence_length},
      {"prediction", prediction_formula(summary.model)},
      {"valid", summary.valid},
      {"mlrec", program_version()},
  };
  fs::create_directories(options.out);
  const fs::path out = options.out;
  write_file_atomic((out / "model.safetensors").string(),
                    safetensors_bytes(tensors, {{"format", "pt"}, {"model", summary.model}, {"mlrec", program_version()}}));
  write_file_atomic((out / "id_maps.json").string(), read_file(id_maps, "id maps"));
  write_file_atomic((out / "config.yaml").string(), read_file(config_path, "configuration"));
  write_file_atomic((out / "model.json").string(), model.dump(2) + "\n");
  log_info(fmt::format("exported {} ({} tensors) from {} to {}", summary.model, tensors.size(), options.run, options.out));
}

}  // namespace mlrec::serve
