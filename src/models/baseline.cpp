#include "mlrec/models/baseline.h"

#include <torch/torch.h>

namespace mlrec::models {

MedianBaseline::MedianBaseline() {
  prediction_ = register_buffer("prediction", torch::zeros({1}));
}

void MedianBaseline::fit_targets(const torch::Tensor& train_targets) {
  // torch's median of an even count is the lower middle value, as numpy's is not; for ratings
  // on a grid the two agree except when the middle straddles two levels, where we follow
  // numpy (the study's reference) and average them.
  auto sorted = std::get<0>(train_targets.to(torch::kFloat64).flatten().sort());
  const int64_t n = sorted.size(0);
  TORCH_CHECK(n > 0, "median baseline: no training ratings");
  double median = n % 2 ? sorted[n / 2].item<double>()
                        : 0.5 * (sorted[n / 2 - 1].item<double>() + sorted[n / 2].item<double>());
  prediction_.fill_(median);
}

double MedianBaseline::prediction() const { return prediction_.item<double>(); }

torch::Tensor MedianBaseline::forward(const data::Batch& batch) {
  return prediction_.to(batch.target.device()).expand({batch.size()}).to(torch::kFloat32);
}

torch::Tensor MedianBaseline::score_all_items(const data::Batch& batch, int64_t num_items) {
  return prediction_.to(batch.target.device()).to(torch::kFloat32).expand({batch.size(), num_items + 1});
}

}  // namespace mlrec::models
