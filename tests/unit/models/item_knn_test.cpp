// item_knn (models/item_knn.h): the fitted tables, the prediction's formula, and what it may read.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "mlrec/common/error.h"
#include "mlrec/models/item_knn.h"
#include "mlrec/models/registry.h"
#include "support/synthetic_fixture.h"

namespace mlrec::models {
namespace {

using test_support::small_model;

config::Config::Model knn(int neighbours = 5, double shrinkage = 10) {
  auto m = small_model("item_knn");
  m.neighbours = neighbours;
  m.shrinkage = shrinkage;
  return m;
}

torch::Tensor buffer(const RatingModel& model, const std::string& name) { return model.named_buffers()[name]; }

TEST(ItemKnn, PredictsInsideTheRatingScaleAfterFitting) {
  // 120 movies, users rating 20 to 60: many pairs of movies have no rater in common, which with
  // shrinkage 0 must not turn into 0 / 0.
  test_support::SyntheticData d(40, 120);
  for (const double shrinkage : {10.0, 0.0}) {
    auto model = make_model(knn(5, shrinkage), d.info);
    EXPECT_FALSE(model->trainable());
    model->fit(d.train);
    EXPECT_TRUE(torch::isfinite(buffer(*model, "similarity")).all().item<bool>()) << shrinkage;
    const auto prediction = model->forward(d.valid.slice(0, 17));
    EXPECT_EQ(prediction.sizes(), torch::IntArrayRef({17}));
    EXPECT_EQ(prediction.scalar_type(), torch::kFloat32);
    EXPECT_GE(prediction.min().item<float>(), 1.0f) << shrinkage;
    EXPECT_LE(prediction.max().item<float>(), 5.0f) << shrinkage;
  }
}

// The similarity is the cosine of two items' residual columns, over the users who rated both,
// shrunk by n / (n + shrinkage); recomputed here from the stored residuals, pair by pair.
TEST(ItemKnn, SimilarityIsTheShrunkCosineOfTheResiduals) {
  test_support::SyntheticData d(40, 30);
  const double shrinkage = 10;
  auto model = make_model(knn(5, shrinkage), d.info);
  model->fit(d.train);
  const auto start = buffer(*model, "user_start");
  const auto item = buffer(*model, "rated_item");
  const auto residual = buffer(*model, "residual");
  const int64_t items = d.info.num_movies + 1;
  auto column = torch::zeros({d.info.num_users + 1, items}, torch::kFloat64);
  auto rated = torch::zeros_like(column);
  for (int64_t u = 1; u <= d.info.num_users; ++u) {
    for (int64_t k = start[u].item<int64_t>(); k < start[u + 1].item<int64_t>(); ++k) {
      column[u][item[k].item<int64_t>()] = residual[k].item<double>();
      rated[u][item[k].item<int64_t>()] = 1;
    }
  }
  const auto similarity = buffer(*model, "similarity");
  for (const auto& [a, b] : {std::pair{1, 2}, {3, 17}, {5, 28}, {29, 8}}) {
    const double dot = (column.select(1, a) * column.select(1, b)).sum().item<double>();
    const double n = (rated.select(1, a) * rated.select(1, b)).sum().item<double>();
    const double cosine = dot / std::sqrt(column.select(1, a).pow(2).sum().item<double>() *
                                          column.select(1, b).pow(2).sum().item<double>());
    EXPECT_NEAR(similarity[a][b].item<double>(), cosine * n / (n + shrinkage), 1e-5) << a << ", " << b;
  }
  EXPECT_EQ(similarity.diagonal().abs().sum().item<float>(), 0.0f);
}

// The prediction: the biases plus the weighted mean residual of the `neighbours` rated items with
// the largest weights, a weight being the similarity to the target, times recent_weight for the
// items of the window.
TEST(ItemKnn, PredictionIsTheBiasesPlusTheNearestRatedItemsResiduals) {
  test_support::SyntheticData d(40, 30);
  const int neighbours = 4;
  for (const double recent_weight : {1.0, 2.5}) {
    auto options = knn(neighbours);
    options.recent_weight = recent_weight;
    auto model = make_model(options, d.info);
    model->fit(d.train);
    const auto batch = d.valid.slice(0, 12);
    const auto prediction = model->forward(batch);
    const auto start = buffer(*model, "user_start");
    const auto item = buffer(*model, "rated_item");
    const auto residual = buffer(*model, "residual");
    const auto similarity = buffer(*model, "similarity");
    const double mu = buffer(*model, "mean").item<double>();
    const int64_t target = batch.movies.size(1) - 1;
    for (int64_t r = 0; r < batch.size(); ++r) {
      const int64_t u = batch.user[r].item<int64_t>();
      const int64_t i = batch.movies[r][target].item<int64_t>();
      const auto window = batch.movies[r].narrow(0, 0, target);
      std::vector<std::pair<double, double>> votes;  // (weight, residual)
      for (int64_t k = start[u].item<int64_t>(); k < start[u + 1].item<int64_t>(); ++k) {
        const int64_t j = item[k].item<int64_t>();
        const double c = window.eq(j).any().item<bool>() ? recent_weight : 1.0;
        votes.emplace_back(similarity[i][j].item<double>() * c, residual[k].item<double>());
      }
      std::sort(votes.begin(), votes.end(), [](auto a, auto b) { return std::abs(a.first) > std::abs(b.first); });
      votes.resize(neighbours);
      double weighted = 0, weight = 0;
      for (const auto& [w, e] : votes) weighted += w * e, weight += std::abs(w);
      const double expected = mu + buffer(*model, "user_bias")[u].item<double>() +
                              buffer(*model, "item_bias")[i].item<double>() + weighted / weight;
      EXPECT_NEAR(prediction[r].item<double>(), std::clamp(expected, 1.0, 5.0), 1e-4)
          << "row " << r << ", recent_weight " << recent_weight;
    }
  }
}

// The no-future-input rule: what the model knows of a user is their training ratings. Changing
// the held-out ratings (the window's last level, the target) changes no prediction, and its
// tables hold the training samples only.
TEST(ItemKnn, ReadsNeitherTheTargetsRatingNorAnyHeldOutRating) {
  test_support::SyntheticData d(40, 30);
  auto model = make_model(knn(), d.info);
  model->fit(d.train);
  EXPECT_EQ(buffer(*model, "rated_item").size(0), d.train.size());
  const auto valid = d.valid.slice(0, 16);
  const auto base = model->forward(valid);
  data::Batch changed = valid;
  changed.levels = valid.levels.clone();
  const int64_t last = valid.levels.size(1) - 1;
  changed.levels.select(1, last).copy_(6 - valid.levels.select(1, last));
  changed.target = 6 - valid.target;
  EXPECT_TRUE(torch::equal(model->forward(changed), base));
}

// A rating of the window the training set lacks (for a test row: the validation rating) votes
// too; one it holds is counted once, with its training residual.
TEST(ItemKnn, ReadsTheWindowsRatingsTheTrainingSetLacks) {
  test_support::SyntheticData d(40, 120);  // users rate 20 to 60: each has unrated movies
  auto model = make_model(knn(30), d.info);  // every rated item votes
  model->fit(d.train);
  const auto batch = d.valid.slice(0, 8);
  const auto base = model->forward(batch);
  const int64_t before_target = batch.movies.size(1) - 2;
  // The position before the target holds a training rating: changing its level changes nothing.
  data::Batch relevelled = batch;
  relevelled.levels = batch.levels.clone();
  relevelled.levels.select(1, before_target).copy_(6 - batch.levels.select(1, before_target));
  EXPECT_TRUE(torch::equal(model->forward(relevelled), base));
  // A movie the user has not rated in training, put there, votes with its rating.
  const auto start = buffer(*model, "user_start");
  const auto item = buffer(*model, "rated_item");
  data::Batch unseen = batch;
  unseen.movies = batch.movies.clone();
  unseen.levels = batch.levels.clone();
  for (int64_t r = 0; r < batch.size(); ++r) {
    const int64_t u = batch.user[r].item<int64_t>();
    const auto rated = item.narrow(0, start[u].item<int64_t>(), start[u + 1].item<int64_t>() - start[u].item<int64_t>());
    int32_t movie = 1;
    while (rated.eq(movie).any().item<bool>() || movie == batch.movies[r][before_target + 1].item<int32_t>()) ++movie;
    ASSERT_LE(movie, d.info.num_movies);
    unseen.movies[r][before_target] = movie;
  }
  unseen.levels.select(1, before_target).fill_(5);
  const auto fives = model->forward(unseen);
  unseen.levels.select(1, before_target).fill_(1);
  const auto ones = model->forward(unseen);
  EXPECT_GT((fives - ones).abs().sum().item<float>(), 0.0f);  // its sign follows the similarity's
}

TEST(ItemKnn, UnknownUsersAndMoviesGetTheBiases) {
  test_support::SyntheticData d(40, 30);
  auto model = make_model(knn(), d.info);
  model->fit(d.train);
  auto batch = d.valid.slice(0, 2);
  batch.user = torch::zeros_like(batch.user);  // 0: unknown, and no history
  batch.movies = batch.movies.clone();
  batch.movies.narrow(1, 0, batch.movies.size(1) - 1).zero_();
  const auto prediction = model->forward(batch);
  const int64_t i = batch.movies[0][batch.movies.size(1) - 1].item<int64_t>();
  EXPECT_NEAR(prediction[0].item<double>(),
              std::clamp(buffer(*model, "mean").item<double>() + buffer(*model, "item_bias")[i].item<double>(), 1.0, 5.0),
              1e-5);
}

TEST(ItemKnn, ACatalogTooLargeForTheDenseSimilarityIsAConfigError) {
  data::DatasetInfo info;
  info.num_users = 10;
  info.num_movies = ItemNeighbourhood::kMaxMovies + 1;
  EXPECT_THROW(make_model(knn(), info), ConfigError);
}

}  // namespace
}  // namespace mlrec::models
