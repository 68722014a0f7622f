#include "mlrec/models/model.h"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

namespace mlrec::models {

torch::Tensor RatingModel::score_all_items(const data::Batch& batch, int64_t num_items) {
  const int64_t rows = batch.size();
  const int64_t length = batch.movies.size(1);
  const int64_t columns = num_items + 1;
  auto scores = torch::empty({rows, columns}, batch.target.options().dtype(torch::kFloat32));
  auto items = torch::arange(columns, batch.movies.options());
  // One forward over (a few rows) x (every item). The sequence models' feed-forward block holds
  // ~80 KB of activations per sample (10 positions x 2,048 floats): 32K samples keep a forward
  // within a few GB.
  constexpr int64_t kSamplesPerForward = int64_t{1} << 15;
  const int64_t rows_per_forward = std::max<int64_t>(1, kSamplesPerForward / columns);
  for (int64_t begin = 0; begin < rows; begin += rows_per_forward) {
    const int64_t n = std::min(rows_per_forward, rows - begin);
    auto repeat = [&](const torch::Tensor& t) {  // [n, ...] -> [n * columns, ...], rows in blocks
      return t.narrow(0, begin, n).repeat_interleave(columns, 0);
    };
    data::Batch expanded;
    expanded.user = repeat(batch.user);
    expanded.movies = repeat(batch.movies);
    expanded.movies.select(1, length - 1).copy_(items.repeat({n}));
    expanded.levels = repeat(batch.levels);
    expanded.pad_mask = repeat(batch.pad_mask);
    expanded.pad_mask.select(1, length - 1).fill_(false);
    expanded.features = repeat(batch.features);
    expanded.target = repeat(batch.target);
    scores.narrow(0, begin, n).copy_(forward(expanded).view({n, columns}));
  }
  return scores;
}

TrainingRatings training_ratings(const data::RatingDataset& train) {
  // A chunk of samples at a time: a gathered dataset builds each chunk's windows only.
  std::vector<torch::Tensor> users, items, ratings;
  constexpr int64_t kChunk = int64_t{1} << 20;
  for (int64_t begin = 0; begin < train.size(); begin += kChunk) {
    const data::Batch b = train.slice(begin, std::min(train.size(), begin + kChunk));
    users.push_back(b.user.to(torch::kCPU, torch::kInt64));
    items.push_back(b.movies.select(1, b.movies.size(1) - 1).to(torch::kCPU, torch::kInt64));
    ratings.push_back(b.target.to(torch::kCPU, torch::kFloat64));
  }
  if (users.empty()) {
    return {torch::zeros({0}, torch::kInt64), torch::zeros({0}, torch::kInt64), torch::zeros({0}, torch::kFloat64)};
  }
  return {torch::cat(users), torch::cat(items), torch::cat(ratings)};
}

}  // namespace mlrec::models
