#include "mlrec/models/item_knn.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "mlrec/common/error.h"
#include "mlrec/data/dataset.h"

namespace mlrec::models {
namespace {

// Ridge penalties of the biases, as Koren (2008) uses on Netflix: an item's bias is its mean
// residual over n_i + 25 ratings, a user's over n_u + 10. Not config keys: the neighbourhood's
// accuracy hardly depends on them, and each key is one more thing to sweep.
constexpr double kItemBiasPenalty = 25;
constexpr double kUserBiasPenalty = 10;
constexpr int kBiasSweeps = 10;
// Users per block of the similarity's dense products: [block, num_movies + 1] residuals at a time.
constexpr int64_t kUserBlock = 2048;

}  // namespace

ItemNeighbourhood::ItemNeighbourhood(const config::Config::Model& options, const data::DatasetInfo& data)
    : neighbours_(options.neighbours),
      shrinkage_(options.shrinkage),
      recent_weight_(options.recent_weight),
      rating_min_(data.rating_min),
      rating_max_(data.rating_max),
      rating_step_(data.rating_step) {
  if (data.num_movies > kMaxMovies) {
    throw ConfigError::for_key("model.name", "item_knn keeps a dense item-item similarity, " +
                                                 std::to_string(data.num_movies) + "^2 floats here; it takes at most " +
                                                 std::to_string(kMaxMovies) + " movies");
  }
  const int64_t items = data.num_movies + 1;
  mean_ = register_buffer("mean", torch::zeros({1}, torch::kFloat64));
  user_bias_ = register_buffer("user_bias", torch::zeros({data.num_users + 1}, torch::kFloat64));
  item_bias_ = register_buffer("item_bias", torch::zeros({items}, torch::kFloat64));
  similarity_ = register_buffer("similarity", torch::zeros({items, items}));
  user_start_ = register_buffer("user_start", torch::zeros({data.num_users + 2}, torch::kInt64));
  rated_item_ = register_buffer("rated_item", torch::zeros({data.train_samples}, torch::kInt32));
  residual_ = register_buffer("residual", torch::zeros({data.train_samples}));
}

void ItemNeighbourhood::fit(const data::RatingDataset& train) {
  torch::NoGradGuard no_grad;
  TORCH_CHECK(train.size() == rated_item_.size(0), "item_knn was sized for ", rated_item_.size(0),
              " training samples, not ", train.size());
  const TrainingRatings columns = training_ratings(train);
  const auto &user = columns.user, &item = columns.item, &rating = columns.rating;
  const int64_t num_users = user_bias_.size(0), num_items = item_bias_.size(0);

  // Biases: alternating ridge least squares on r - mu.
  const double mu = rating.mean().item<double>();
  mean_.fill_(mu);
  const auto per_user = torch::bincount(user, {}, num_users).to(torch::kFloat64);
  const auto per_item = torch::bincount(item, {}, num_items).to(torch::kFloat64);
  auto bu = torch::zeros({num_users}, torch::kFloat64), bi = torch::zeros({num_items}, torch::kFloat64);
  for (int sweep = 0; sweep < kBiasSweeps; ++sweep) {
    bi = torch::zeros_like(bi).index_add_(0, item, rating - mu - bu.index_select(0, user)) / (per_item + kItemBiasPenalty);
    bu = torch::zeros_like(bu).index_add_(0, user, rating - mu - bi.index_select(0, item)) / (per_user + kUserBiasPenalty);
  }
  user_bias_.copy_(bu);
  item_bias_.copy_(bi);
  const auto residual = (rating - mu - bu.index_select(0, user) - bi.index_select(0, item)).to(torch::kFloat32);

  // Each user's ratings together (the order within a user does not matter to the model).
  const auto order = std::get<1>(user.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  const auto sorted_user = user.index_select(0, order), sorted_item = item.index_select(0, order);
  rated_item_.copy_(sorted_item);
  residual_.copy_(residual.index_select(0, order));
  user_start_.zero_();
  user_start_.narrow(0, 1, num_users).copy_(per_user.to(torch::kInt64).cumsum(0));

  // Similarity: the residuals' dot products and common-rater counts, over blocks of users as dense
  // [block, items] matrices (one matrix product each), then cosine and shrinkage.
  auto dot = torch::zeros({num_items, num_items});
  auto common = torch::zeros({num_items, num_items});
  const auto& sorted_residual = residual_;
  const auto* start = user_start_.data_ptr<int64_t>();
  for (int64_t first = 0; first < num_users; first += kUserBlock) {
    const int64_t last = std::min(num_users, first + kUserBlock);
    const int64_t begin = start[first], end = start[last];
    if (begin == end) continue;
    const auto block_user = sorted_user.narrow(0, begin, end - begin) - first;
    const auto block_item = sorted_item.narrow(0, begin, end - begin);
    auto values = torch::zeros({last - first, num_items});
    auto rated = torch::zeros({last - first, num_items});
    values.index_put_({block_user, block_item}, sorted_residual.narrow(0, begin, end - begin));
    rated.index_put_({block_user, block_item}, torch::ones({end - begin}));
    dot.addmm_(values.t(), values);
    common.addmm_(rated.t(), rated);
  }
  const auto norm = dot.diagonal().clamp_min(0).sqrt().clamp_min(1e-12);
  // (clamped: with shrinkage 0, two items no one rated both of would be 0 / 0)
  similarity_.copy_(dot / norm.unsqueeze(1) / norm.unsqueeze(0) * common / (common + shrinkage_).clamp_min(1e-12));
  similarity_.fill_diagonal_(0);
}

torch::Tensor ItemNeighbourhood::forward(const data::Batch& batch) {
  const int64_t length = batch.movies.size(1);
  const auto user = batch.user.to(torch::kCPU, torch::kInt32).contiguous();
  const auto window = batch.movies.to(torch::kCPU, torch::kInt32).contiguous();
  const auto levels = batch.levels.to(torch::kCPU, torch::kInt32).contiguous();
  const int64_t n = user.size(0);
  auto prediction = torch::empty({n});
  const int32_t* u = user.data_ptr<int32_t>();
  const int32_t* movies = window.data_ptr<int32_t>();
  const int32_t* level = levels.data_ptr<int32_t>();
  float* out = prediction.data_ptr<float>();
  const double mu = mean_.item<double>();
  const double* bu = user_bias_.data_ptr<double>();
  const double* bi = item_bias_.data_ptr<double>();
  const float* sim = similarity_.data_ptr<float>();
  const int64_t* start = user_start_.data_ptr<int64_t>();
  const int32_t* rated = rated_item_.data_ptr<int32_t>();
  const float* residual = residual_.data_ptr<float>();
  const int64_t num_items = similarity_.size(0), num_users = user_bias_.size(0);
  at::parallel_for(0, n, 64, [&](int64_t row_begin, int64_t row_end) {
    std::vector<std::pair<int32_t, float>> votes;  // (rated item, its residual)
    std::vector<uint8_t> known(static_cast<size_t>(num_items), 0), recent(static_cast<size_t>(num_items), 0);
    for (int64_t r = row_begin; r < row_end; ++r) {
      // Ids outside the fitted tables (a user or movie new to the model) count as unknown (0).
      const int64_t uu = u[r] >= 0 && u[r] < num_users ? u[r] : 0;
      const int32_t target = movies[r * length + length - 1];
      const int64_t ii = target >= 0 && target < num_items ? target : 0;
      double score = mu + bu[uu] + bi[ii];
      if (ii != 0) {
        // The user's training ratings, and those of the window's history that are not among them
        // (for a test row, the validation rating: the user's latest). Never the target's own.
        votes.clear();
        for (int64_t k = start[uu]; k < start[uu + 1]; ++k) {
          votes.emplace_back(rated[k], residual[k]);
          known[static_cast<size_t>(rated[k])] = 1;
        }
        for (int64_t p = 0; p + 1 < length; ++p) {
          const int32_t m = movies[r * length + p];
          if (m <= 0 || m >= num_items) continue;
          recent[static_cast<size_t>(m)] = 1;
          if (known[static_cast<size_t>(m)]) continue;
          const double rating = rating_min_ + (level[r * length + p] - 1) * rating_step_;
          votes.emplace_back(m, static_cast<float>(rating - mu - bu[uu] - bi[m]));
          known[static_cast<size_t>(m)] = 1;
        }
        // Each vote's weight: the similarity, times model.recent_weight for the window's (the
        // ratings just given, mostly the target's session).
        const float* row = sim + ii * num_items;
        const auto weight_of = [&](int32_t item) {
          return double(row[item]) * (recent[static_cast<size_t>(item)] ? recent_weight_ : 1.0);
        };
        const auto closer = [&](const auto& a, const auto& b) { return std::abs(weight_of(a.first)) > std::abs(weight_of(b.first)); };
        if (static_cast<int64_t>(votes.size()) > neighbours_) {
          std::nth_element(votes.begin(), votes.begin() + neighbours_, votes.end(), closer);
        }
        double weighted = 0, weight = 0;
        for (size_t v = 0; v < votes.size() && static_cast<int64_t>(v) < neighbours_; ++v) {
          const double w = weight_of(votes[v].first);
          weighted += w * votes[v].second;
          weight += std::abs(w);
        }
        if (weight > 0) score += weighted / weight;
        for (const auto& vote : votes) known[static_cast<size_t>(vote.first)] = 0;
        for (int64_t p = 0; p + 1 < length; ++p) {
          const int32_t m = movies[r * length + p];
          if (m > 0 && m < num_items) recent[static_cast<size_t>(m)] = 0;
        }
      }
      out[r] = static_cast<float>(std::clamp(score, double(rating_min_), double(rating_max_)));
    }
  });
  return prediction.to(batch.target.device());
}

}  // namespace mlrec::models
