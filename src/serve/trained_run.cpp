#include "run_files.h"
#include "trained_run.h"

#include <filesystem>
#include <thread>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/models/registry.h"
#include "mlrec/train/autocast.h"
#include "mlrec/train/checkpoint.h"
#include "mlrec/train/run.h"

namespace mlrec::serve {

namespace fs = std::filesystem;

TrainedRun::TrainedRun(const RunOptions& options) {
  const std::string summary_path =
      required_run_file(options.run, "summary.json", "the run has not finished (it has no summary.json)");
  const std::string weights = required_run_file(options.run, "best.pt", "the run saved no weights (output.save_checkpoint)");
  const std::string id_maps_path =
      required_run_file(options.run, "id_maps.json", "no id maps (the run was made by an mlrec older than predict)");
  config_ = config::load_config(required_run_file(options.run, "config.yaml", "the run's configuration"), options.overrides);
  const train::RunSummary summary = train::read_run_summary(summary_path);
  check_weights_intact(weights, summary);

  const int threads = options.threads > 0 ? options.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  device_ = train::choose_device(options.device, 0, "--device");
  where_ = device_.is_cpu() ? "cpu (" + std::to_string(threads) + " threads)" : "cuda:" + std::to_string(device_.index());

  // The run's data again, as it was prepared for training: the same split, windows and ids.
  data_ = data::load_data(config_.data, /*keep_prepared=*/true);
  const std::string where_data = config_.data.format == "interactions" ? config_.data.interactions.path : config_.data.dir;
  const std::string fingerprint = data::data_fingerprint(data_);
  if (!summary.data.empty() && summary.data != fingerprint) {
    throw InputError::in(where_data, "is not the data run " + options.run + " was trained on (its fingerprint: " +
                                         summary.data + "; this data's: " + fingerprint +
                                         "); point the run at its data with --set data.dir=... or "
                                         "data.interactions.path=...");
  }
  const data::IdMaps stored = data::id_maps_from_json(read_file(id_maps_path, "id maps"), id_maps_path);
  if (stored.users != data_.ids.users || stored.items != data_.ids.items) {
    throw InputError::in(id_maps_path, "does not match the ids of the data at " + where_data);
  }

  model_ = models::make_model(config_.model, data_.info);
  model_->to(device_);  // (the models fitted on the CPU stay there)
  train::load_checkpoint(*model_, weights);
  model_->eval();
  bf16_ = config::precision_of(config_.train) == config::Precision::kBf16;

  double sum = 0;
  const auto& prepared = rows();
  for (const int64_t r : prepared.train_rows) sum += prepared.rating[static_cast<size_t>(r)];
  training_mean_ = prepared.train_rows.empty() ? 0 : sum / static_cast<double>(prepared.train_rows.size());
}

data::Batch TrainedRun::batch(const std::vector<int32_t>& users, const std::vector<int32_t>& items,
                              const std::vector<int64_t>& history_end) const {
  const auto& p = rows();
  const int64_t n = static_cast<int64_t>(users.size());
  const int64_t length = config_.data.sequence_length;
  auto movies = torch::zeros({n, length}, torch::kInt32);
  auto levels = torch::zeros({n, length}, torch::kInt32);
  auto pad = torch::ones({n, length}, torch::kBool);
  auto features = torch::zeros({n, 3}, torch::kInt32);
  auto user = torch::empty({n}, torch::kInt32);
  int32_t* m = movies.data_ptr<int32_t>();
  int32_t* l = levels.data_ptr<int32_t>();
  bool* q = pad.data_ptr<bool>();
  int32_t* f = features.data_ptr<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t u = users[static_cast<size_t>(i)];
    MLREC_CHECK(u >= 1 && u <= p.num_users, "user index out of range");
    user[i] = u;
    const int64_t start = p.user_start[static_cast<size_t>(u)];
    const int64_t end = history_end[static_cast<size_t>(i)];
    // Positions 0..L-2: the last ratings before `end`, left-padded; position L-1: the item.
    for (int64_t j = 0; j < length - 1; ++j) {
      const int64_t row = end - (length - 1) + j;
      if (row < start) continue;
      m[i * length + j] = p.movie[static_cast<size_t>(row)];
      l[i * length + j] = p.rating_level[static_cast<size_t>(row)];
      q[i * length + j] = false;
    }
    m[i * length + length - 1] = items[static_cast<size_t>(i)];
    q[i * length + length - 1] = false;
    if (p.has_user_features) {
      f[i * 3 + 0] = p.sex[static_cast<size_t>(u)];
      f[i * 3 + 1] = p.age_group[static_cast<size_t>(u)];
      f[i * 3 + 2] = p.occupation[static_cast<size_t>(u)];
    }
  }
  data::Batch batch;
  batch.user = user.to(device_);
  batch.movies = movies.to(device_);
  batch.levels = levels.to(device_);
  batch.pad_mask = pad.to(device_);
  batch.features = features.to(device_);
  batch.target = torch::zeros({n}, torch::TensorOptions().dtype(torch::kFloat32).device(device_));
  return batch;
}

torch::Tensor TrainedRun::predict(const data::Batch& batch) {
  torch::NoGradGuard no_grad;
  train::AutocastGuard autocast(bf16_, device_.type());
  return model_->forward(batch).to(torch::kFloat32).cpu();
}

torch::Tensor TrainedRun::predict_all(const data::RatingDataset& dataset) {
  const data::RatingDataset there = dataset.to(device_);
  std::vector<torch::Tensor> parts;
  constexpr int64_t kBatch = 8192;
  for (int64_t begin = 0; begin < there.size(); begin += kBatch) {
    parts.push_back(predict(there.slice(begin, std::min(there.size(), begin + kBatch))));
  }
  return parts.empty() ? torch::zeros({0}) : torch::cat(parts);
}

torch::Tensor TrainedRun::score_all_items(const data::Batch& batch) {
  torch::NoGradGuard no_grad;
  // In float32, without the run's bf16 autocast, as its evaluation ranked (HR@K, NDCG@K): in
  // bf16 a BST's ratings fell on a grid of 1/128 to 1/32, many of a user's top items tied, and
  // the ties, ordered by item row, decided the ranking instead of the model.
  return model_->score_all_items(batch, data_.info.num_movies).to(torch::kFloat32);
}

}  // namespace mlrec::serve
