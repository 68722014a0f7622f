// A finished run loaded for scoring: its configuration, its data again (histories, rated items,
// id maps), and the selected model's weights on a device. Internal to src/serve.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "mlrec/config/config.h"
#include "mlrec/data/load.h"
#include "mlrec/models/model.h"
#include "mlrec/serve/serve.h"
#include "mlrec/train/run_record.h"

namespace mlrec::serve {

class TrainedRun {
 public:
  /// InputError naming the file when the run is unfinished, lacks best.pt or id_maps.json, or
  /// its data is no longer the data it was trained on.
  explicit TrainedRun(const RunOptions& options);

  const config::Config& config() const { return config_; }
  const data::IdMaps& ids() const { return data_.ids; }
  const data::PreparedRatings& rows() const { return *data_.prepared; }
  const data::DatasetInfo& info() const { return data_.info; }
  const torch::Device& device() const { return device_; }
  const std::string& where() const { return where_; }
  /// The mean training rating: the prediction for a user or item the run has not seen.
  double training_mean() const { return training_mean_; }

  /// One sample per (user, item): the window holds the user's last ratings among rows
  /// [user_start[user], history_end) of rows() (at most sequence_length - 1), then the item.
  /// Users must be known (1..num_users); on device().
  data::Batch batch(const std::vector<int32_t>& users, const std::vector<int32_t>& items,
                    const std::vector<int64_t>& history_end) const;
  /// Predicted ratings of a batch, float [B] on the CPU.
  torch::Tensor predict(const data::Batch& batch);
  /// Predicted ratings of every sample of a dataset (the run's validation or test set), float [N]
  /// on the CPU, in the dataset's order.
  torch::Tensor predict_all(const data::RatingDataset& dataset);
  /// The run's data, as load_data prepared it for the run's configuration.
  const data::LoadedData& data() const { return data_; }
  /// Predicted ratings of every item for each row of the batch, float [B, num_items + 1] on device().
  torch::Tensor score_all_items(const data::Batch& batch);

 private:
  config::Config config_;
  data::LoadedData data_;
  models::RatingModelPtr model_;
  torch::Device device_{torch::kCPU};
  std::string where_;
  bool bf16_ = false;
  double training_mean_ = 0;
};

}  // namespace mlrec::serve
