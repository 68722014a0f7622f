#pragma once

#include "mlrec/config/config.h"
#include "mlrec/models/model.h"
#include "mlrec/ops/embedding.h"

namespace mlrec::models {

/// Matrix factorisation with user and item biases:
/// sigmoid(u . i + b_u + b_i) scaled to the rating range. Uses only the target movie.
class MatrixFactorization : public RatingModel {
 public:
  /// model.factors factors, embeddings N(0, model.embedding_init_std), biases
  /// N(0, model.bias_init_std); one row per user and movie of the data (row 0 is padding).
  MatrixFactorization(const config::Config::Model& options, const data::DatasetInfo& data);
  torch::Tensor forward(const data::Batch& batch) override;
  /// One product of the rows' user factors with every item's: [B, F] x [F, num_items + 1].
  torch::Tensor score_all_items(const data::Batch& batch, int64_t num_items) override;
  bool scores_all_items_cheaply() const override { return true; }

 private:
  RatingRange range_;
  bool use_kernels_;  // model.mf_kernel: mlrec's CUDA kernels where they apply (ops/matrix_factorization.h)
  ops::EmbeddingBackward embedding_backward_;  // model.embedding_backward, for torch's ops
  torch::nn::Embedding user_{nullptr}, item_{nullptr}, user_bias_{nullptr}, item_bias_{nullptr};
};

}  // namespace mlrec::models
