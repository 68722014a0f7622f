#include "mlrec/models/mf_history.h"

#include <torch/torch.h>

#include "mlrec/models/init.h"
#include "mlrec/ops/embedding.h"

namespace mlrec::models {

MatrixFactorizationWithHistory::MatrixFactorizationWithHistory(const config::Config::Model& options,
                                                               const data::DatasetInfo& data)
    : range_(RatingRange::from(data)),
      rating_min_(data.rating_min),
      rating_step_(data.rating_step),
      embedding_backward_(embedding_backward(options)) {
  user_ = register_padded_embedding(*this, "user", data.num_users + 1, options.factors, options.embedding_init_std);
  item_ = register_padded_embedding(*this, "item", data.num_movies + 1, options.factors, options.embedding_init_std);
  user_bias_ = register_padded_embedding(*this, "user_bias", data.num_users + 1, 1, options.bias_init_std);
  item_bias_ = register_padded_embedding(*this, "item_bias", data.num_movies + 1, 1, options.bias_init_std);
  history_item_ =
      register_padded_embedding(*this, "history_item", data.num_movies + 1, options.factors, options.embedding_init_std);
  history_rating_ = register_padded_embedding(*this, "history_rating", data.num_movies + 1, options.factors,
                                              options.embedding_init_std);
  recency_weight_ = register_parameter("recency_weight", torch::zeros({data.sequence_length - 1}));
}

std::pair<torch::Tensor, torch::Tensor> MatrixFactorizationWithHistory::user_side(const data::Batch& batch) {
  const int64_t history = batch.movies.size(1) - 1;  // the last position is the target
  const auto movies = batch.movies.narrow(1, 0, history);
  const auto present = batch.pad_mask.narrow(1, 0, history).logical_not().to(torch::kFloat32);  // [B, H]
  const auto rating = batch.levels.narrow(1, 0, history).to(torch::kFloat32).sub(1).mul(rating_step_).add(rating_min_);
  const auto count = present.sum(1, /*keepdim=*/true).clamp_min(1);
  auto lookup = [this](torch::nn::Embedding& table, const torch::Tensor& indices) {
    return ops::lookup(table, indices, embedding_backward_);
  };
  const auto user_bias = lookup(user_bias_, batch.user);  // [B, 1]
  // How far each rating just given was from what the biases alone predict for it (0 where padded).
  const auto expected =
      torch::sigmoid(lookup(item_bias_, movies).squeeze(2) + user_bias) * (range_.high - range_.low) + range_.low;
  const auto deviation = (rating - expected) * present;
  // Padded positions look up row 0, the padding row, which stays zero.
  const auto implicit =
      (lookup(history_item_, movies) + deviation.unsqueeze(2) * lookup(history_rating_, movies)).sum(1) /
      count.sqrt();
  const auto recency = (deviation * recency_weight_.unsqueeze(0)).sum(1);
  return {lookup(user_, batch.user) + implicit, user_bias.squeeze(1) + recency};
}

torch::Tensor MatrixFactorizationWithHistory::forward(const data::Batch& batch) {
  const auto item = batch.movies.select(1, batch.movies.size(1) - 1);  // the target movie
  const auto [factor, offset] = user_side(batch);
  const auto score = (factor * ops::lookup(item_, item, embedding_backward_)).sum(1) + offset +
                     ops::lookup(item_bias_, item, embedding_backward_).squeeze(1);
  return torch::sigmoid(score) * (range_.high - range_.low) + range_.low;
}

torch::Tensor MatrixFactorizationWithHistory::score_all_items(const data::Batch& batch, int64_t num_items) {
  TORCH_CHECK(num_items + 1 == item_->weight.size(0), "mf_history scores ", item_->weight.size(0) - 1, " items, not ",
              num_items);
  const auto [factor, offset] = user_side(batch);
  const auto score = torch::mm(factor, item_->weight.t()) + offset.unsqueeze(1) + item_bias_->weight.t();
  return torch::sigmoid(score) * (range_.high - range_.low) + range_.low;
}

}  // namespace mlrec::models
