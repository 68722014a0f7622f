#pragma once

#include "mlrec/models/model.h"

namespace mlrec::models {

struct MatrixFactorizationOptions {
  int64_t num_users = 0, num_movies = 0;  // dense ids 1..n; row 0 is padding
  int64_t factors = 120;
  double embedding_init_std = 1.0;        // N(0, std); PyTorch's default is 1
  double bias_init_std = 1.0;             // N(0, std) for the biases; 0 = zeros
  RatingRange range;
};

/// Matrix factorisation with user and item biases:
/// sigmoid(u . i + b_u + b_i) scaled to the rating range. Uses only the target movie.
class MatrixFactorization : public RatingModel {
 public:
  explicit MatrixFactorization(const MatrixFactorizationOptions& options);
  torch::Tensor forward(const data::Batch& batch) override;

 private:
  RatingRange range_;
  torch::nn::Embedding user_{nullptr}, item_{nullptr}, user_bias_{nullptr}, item_bias_{nullptr};
};

}  // namespace mlrec::models
