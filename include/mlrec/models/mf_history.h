#pragma once

#include "mlrec/config/config.h"
#include "mlrec/models/model.h"
#include "mlrec/ops/embedding.h"

namespace mlrec::models {

/// Matrix factorisation that also reads the user's recent history (issue 20): the window's
/// ratings before the target (data.sequence_length - 1 of them, the most recent first to go),
/// which on MovieLens are mostly from the same session as the target.
///
///   score = b_u + b_i + q_i . (p_u + h) + sum_k w_k d_k
///   h     = sum_k (y[m_k] + d_k z[m_k]) / sqrt(n)
///   d_k   = r_k - range(sigmoid(b_u + b[m_k]))
///
/// over the n non-padded history positions k, with m_k the movie and r_k the rating given there;
/// d_k is how far that rating was from what the biases alone predict for it. h is SVD++'s
/// implicit factor over the recent items (Koren 2008), made rating-aware by z: what the user just
/// rated, and how. w_k (one weight per recency position, starting at 0) lets the ratings just
/// given move the prediction directly: a session's mood. The prediction is sigmoid(score) mapped
/// to the rating range, as MF's.
///
/// Only the history is read: the window's last position (the target) contributes its movie, as
/// MF's, never its rating (models_test: NoModelReadsTheTargetsRating).
class MatrixFactorizationWithHistory : public RatingModel {
 public:
  MatrixFactorizationWithHistory(const config::Config::Model& options, const data::DatasetInfo& data);
  torch::Tensor forward(const data::Batch& batch) override;
  torch::Tensor score_all_items(const data::Batch& batch, int64_t num_items) override;
  bool scores_all_items_cheaply() const override { return true; }

 private:
  /// The user's factor plus the history's (p_u + h) [B, F], and the score's item-free terms
  /// (b_u + the recency term) [B].
  std::pair<torch::Tensor, torch::Tensor> user_side(const data::Batch& batch);

  RatingRange range_;
  double rating_min_, rating_step_;
  torch::nn::Embedding user_{nullptr}, item_{nullptr}, user_bias_{nullptr}, item_bias_{nullptr};
  torch::nn::Embedding history_item_{nullptr}, history_rating_{nullptr};
  ops::EmbeddingBackward embedding_backward_;  // model.embedding_backward
  torch::Tensor recency_weight_;  // [L - 1], position 0 the oldest
};

}  // namespace mlrec::models
