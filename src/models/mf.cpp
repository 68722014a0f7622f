#include "mlrec/models/mf.h"

#include <torch/torch.h>

#include "mlrec/models/init.h"
#include "mlrec/ops/embedding.h"
#include "mlrec/ops/matrix_factorization.h"

namespace mlrec::models {

MatrixFactorization::MatrixFactorization(const config::Config::Model& options, const data::DatasetInfo& data)
    // (auto is torch's ops until a GPU has tested and measured mlrec's kernel: scripts/gpu_check.sh)
    : range_(RatingRange::from(data)),
      use_kernels_(options.mf_kernel == "mlrec"),
      embedding_backward_(embedding_backward(options)) {
  user_ = register_padded_embedding(*this, "user", data.num_users + 1, options.factors, options.embedding_init_std);
  item_ = register_padded_embedding(*this, "item", data.num_movies + 1, options.factors, options.embedding_init_std);
  user_bias_ = register_padded_embedding(*this, "user_bias", data.num_users + 1, 1, options.bias_init_std);
  item_bias_ = register_padded_embedding(*this, "item_bias", data.num_movies + 1, 1, options.bias_init_std);
}

torch::Tensor MatrixFactorization::forward(const data::Batch& batch) {
  auto user = batch.user;
  auto item = batch.movies.select(1, batch.movies.size(1) - 1);  // the target movie
  return ops::mf_predict({user_, item_, user_bias_, item_bias_}, user, item, range_.low, range_.high, use_kernels_,
                         embedding_backward_);
}

torch::Tensor MatrixFactorization::score_all_items(const data::Batch& batch, int64_t num_items) {
  TORCH_CHECK(num_items + 1 == item_->weight.size(0), "MF scores ", item_->weight.size(0) - 1, " items, not ", num_items);
  auto user = batch.user;
  auto score = torch::mm(ops::lookup(user_, user, embedding_backward_), item_->weight.t()) +
               ops::lookup(user_bias_, user, embedding_backward_) +
               item_bias_->weight.t();
  return torch::sigmoid(score) * (range_.high - range_.low) + range_.low;
}

}  // namespace mlrec::models
