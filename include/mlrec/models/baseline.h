#pragma once

#include "mlrec/models/model.h"

namespace mlrec::models {

/// Predicts the median of the training ratings for every sample (the study's baseline).
class MedianBaseline : public RatingModel {
 public:
  MedianBaseline();
  torch::Tensor forward(const data::Batch& batch) override;
  bool trainable() const override { return false; }
  void fit(const torch::Tensor& train_targets) override;
  double prediction() const;

 private:
  torch::Tensor prediction_;  // a buffer, so checkpoints carry it
};

}  // namespace mlrec::models
