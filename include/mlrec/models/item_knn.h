#pragma once

#include <torch/nn/module.h>

#include "mlrec/config/config.h"
#include "mlrec/models/model.h"

namespace mlrec::models {

/// Item-based neighbourhood model on baseline residuals (Sarwar et al. 2001; Koren 2008, section
/// 2.2), fitted in closed form (issue 20):
///
///   prediction(u, i) = mu + b_u + b_i + sum_j w_ij e_uj / sum_j |w_ij|,   w_ij = s_ij c_j
///   e_uj             = r_uj - mu - b_u - b_j          (the user's training residuals)
///   s_ij             = cos(e_.i, e_.j) * n_ij / (n_ij + model.shrinkage)
///
/// over the model.neighbours items j the user rated with the largest |w_ij|; c_j is
/// model.recent_weight for the items of the sample's window (the ratings just before the target,
/// on MovieLens mostly its session) and 1 for the others.
/// The biases are ridge-regularised least squares, by alternating sweeps; the cosine runs over the
/// users who rated both items (n_ij of them), in training. What it knows of the user is their
/// training ratings and the ratings of the sample's window before the target: for a test row the
/// window adds the validation rating, the user's latest, which is before the test rating (the
/// window's last position, the target, is never read). On the leave-last-out split every
/// training rating is before every validation and test rating.
///
/// Why it is here: it predicts each rating from the user's ratings of similar items, where MF
/// predicts from a few global factors. Alone it scores about as MF on ML-1M; its errors differ,
/// which a blend (`mlrec_dist blend`) turns into a gain (README, "Protocols and seeds").
///
/// It keeps the dense item-item similarity (num_movies^2 floats: 55 MB on ML-1M) and every
/// training rating (8 bytes each), in buffers, so that best.pt holds the fitted model. It computes
/// on the CPU (a loop per sample), whatever the run's device (a CpuFittedModel).
class ItemNeighbourhood : public CpuFittedModel {
 public:
  /// ConfigError (model.name) when the similarity would not fit: catalogs of more than
  /// kMaxMovies movies.
  ItemNeighbourhood(const config::Config::Model& options, const data::DatasetInfo& data);
  torch::Tensor forward(const data::Batch& batch) override;
  void fit(const data::RatingDataset& train) override;

  static constexpr int32_t kMaxMovies = 20000;  // a 1.6 GB similarity

 private:
  int neighbours_;
  double shrinkage_, recent_weight_;
  float rating_min_, rating_max_, rating_step_;
  torch::Tensor mean_;        // float64 [1]
  torch::Tensor user_bias_;   // float64 [num_users + 1]
  torch::Tensor item_bias_;   // float64 [num_movies + 1]
  torch::Tensor similarity_;  // float32 [num_movies + 1, num_movies + 1], zero diagonal and padding
  torch::Tensor user_start_;  // int64 [num_users + 2]: user u's training ratings are [start[u], start[u + 1])
  torch::Tensor rated_item_;  // int32 [train samples], grouped by user
  torch::Tensor residual_;    // float32 [train samples], e_uj of rated_item_
};

}  // namespace mlrec::models
