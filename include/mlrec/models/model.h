// The model interface. Models map a batch to predicted ratings and know nothing of ranks,
// devices or the training loop: the trainer does all of that (the accelerate style).
#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <string>

#include "mlrec/data/dataset.h"

namespace mlrec::models {

class RatingModel : public torch::nn::Module {
 public:
  /// Predicted ratings, float [B].
  virtual torch::Tensor forward(const data::Batch& batch) = 0;
  /// False for models fitted without gradients (the median baseline, item_knn, bayes_svdpp): the run calls
  /// fit() instead of running gradient steps.
  virtual bool trainable() const { return true; }
  /// The fit on the training samples; only for models that are not trainable().
  virtual void fit(const data::RatingDataset& /*train*/) {}
  /// The predicted rating of every item for each row of `batch`: float [B, num_items + 1], column
  /// m the rating the row's user would give item m after the row's history (the window's last
  /// position, the target, replaced by m; column 0, padding, is scored too and ignored by
  /// callers). This is what ranking metrics and `recommend` need. The default runs forward() on
  /// every (row, item) pair, in chunks: exact for any model, but a forward per item. Models whose
  /// score factorises (MF, the constant baseline) override it with one matrix product.
  virtual torch::Tensor score_all_items(const data::Batch& batch, int64_t num_items);
  /// Whether score_all_items costs about one matrix product rather than a forward per item (what
  /// train.ranking=auto asks before ranking every epoch).
  virtual bool scores_all_items_cheaply() const { return false; }
};

using RatingModelPtr = std::shared_ptr<RatingModel>;

/// A model fitted without gradients whose tables live on the CPU (item_knn, bayes_svdpp): its
/// forward computes there, whatever the run's device, so to() leaves it in place (the batch's
/// device gets the predictions back).
class CpuFittedModel : public RatingModel {
 public:
  bool trainable() const override { return false; }
  void to(torch::Device, torch::Dtype, bool) override {}
  void to(torch::Dtype, bool) override {}
  void to(torch::Device, bool) override {}
};

/// The training ratings as columns, on the CPU: int64 user and item, float64 rating [N], in the
/// dataset's order. What the closed-form models fit on.
struct TrainingRatings {
  torch::Tensor user, item, rating;
};
TrainingRatings training_ratings(const data::RatingDataset& train);

/// Maps raw scores in (0, 1) to the rating range widened by half a step on each side, as the
/// study's sigmoid * 5 + 0.5 does for whole stars 1..5.
struct RatingRange {
  double low = 0.5, high = 5.5;
  static RatingRange from(const data::DatasetInfo& info) {
    return {info.rating_min - info.rating_step / 2.0, info.rating_max + info.rating_step / 2.0};
  }
};

}  // namespace mlrec::models
