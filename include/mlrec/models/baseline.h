#pragma once

#include "mlrec/models/model.h"

namespace mlrec::models {

/// Predicts the median of the training ratings for every sample (the study's baseline).
class MedianBaseline : public RatingModel {
 public:
  MedianBaseline();
  torch::Tensor forward(const data::Batch& batch) override;
  /// The same constant for every item: ranking metrics see all items tied.
  torch::Tensor score_all_items(const data::Batch& batch, int64_t num_items) override;
  bool scores_all_items_cheaply() const override { return true; }
  bool trainable() const override { return false; }
  void fit(const data::RatingDataset& train) override { fit_targets(train.targets()); }
  void fit_targets(const torch::Tensor& train_targets);
  double prediction() const;

 private:
  torch::Tensor prediction_;  // a buffer, so checkpoints carry it
};

}  // namespace mlrec::models
