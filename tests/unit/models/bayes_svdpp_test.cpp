// bayes_svdpp (models/bayes_svdpp.h): the kept samples, the prediction's formula, the sampler's
// seed, and what it may read.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "mlrec/common/error.h"
#include "mlrec/models/bayes_svdpp.h"
#include "mlrec/models/registry.h"
#include "support/synthetic_fixture.h"

namespace mlrec::models {
namespace {

using test_support::small_model;

config::Config::Model bayes(int sweeps = 24, int burn_in = 8, int keep_every = 4) {
  auto m = small_model("bayes_svdpp");
  m.sweeps = sweeps;
  m.burn_in = burn_in;
  m.keep_every = keep_every;
  return m;
}

torch::Tensor buffer(const RatingModel& model, const std::string& name) { return model.named_buffers()[name]; }

RatingModelPtr fitted(const test_support::SyntheticData& d, const config::Config::Model& options, uint64_t seed = 3) {
  torch::manual_seed(seed);
  auto model = make_model(options, d.info);
  model->fit(d.train);
  return model;
}

TEST(BayesSvdpp, KeepsTheSamplesAfterTheBurnInAndPredictsInsideTheScale) {
  test_support::SyntheticData d(40, 30);
  // Sweeps 8, 12, 16, 20 of 0..23 are kept: 4 samples of factors + 1 numbers per row.
  EXPECT_EQ(BayesianSvdpp::kept_samples(bayes()), 4);
  EXPECT_EQ(BayesianSvdpp::kept_samples(bayes(10, 9, 5)), 1);
  auto model = fitted(d, bayes());
  EXPECT_FALSE(model->trainable());
  EXPECT_TRUE(fitted_without_gradients("bayes_svdpp"));
  for (const char* name : {"user_vector", "user_implicit", "item_vector", "item_implicit"}) {
    EXPECT_EQ(buffer(*model, name).size(1), 4 * 9) << name;
    EXPECT_TRUE(torch::isfinite(buffer(*model, name)).all().item<bool>()) << name;
  }
  const auto prediction = model->forward(d.valid.slice(0, 17));
  EXPECT_EQ(prediction.sizes(), torch::IntArrayRef({17}));
  EXPECT_EQ(prediction.scalar_type(), torch::kFloat32);
  EXPECT_GE(prediction.min().item<float>(), 1.0f);
  EXPECT_LE(prediction.max().item<float>(), 5.0f);
}

// The sampler fits the data: on the training ratings its prediction is far closer than the mean
// rating's, and (seeded) it learns what generalises: validation error below the mean's too.
TEST(BayesSvdpp, FitsTheTrainingRatingsAndGeneralises) {
  test_support::SyntheticData d(120, 60);
  auto model = fitted(d, bayes(40, 10, 2));
  const auto train = d.train.slice(0, d.train.size());
  const auto valid = d.valid.slice(0, d.valid.size());
  const double mean = train.target.mean().item<double>();
  const auto rmse = [](const torch::Tensor& p, const torch::Tensor& t) { return (p - t).pow(2).mean().sqrt().item<double>(); };
  EXPECT_LT(rmse(model->forward(train), train.target), 0.8 * rmse(torch::full_like(train.target, mean), train.target));
  EXPECT_LT(rmse(model->forward(valid), valid.target), rmse(torch::full_like(valid.target, mean), valid.target));
}

// One seed, one model: torch's generator (train.seed) seeds the sampler.
TEST(BayesSvdpp, TheSeedDecidesTheSamples) {
  test_support::SyntheticData d(40, 30);
  const auto a = buffer(*fitted(d, bayes(), 3), "user_vector");
  EXPECT_TRUE(torch::equal(a, buffer(*fitted(d, bayes(), 3), "user_vector")));
  EXPECT_FALSE(torch::equal(a, buffer(*fitted(d, bayes(), 4), "user_vector")));
}

// The prediction is the kept samples' mean: the item's offset (w0 + b_i) plus one dot product of
// the user's row and the item's, recomputed here from the buffers; a window item the user has no
// training rating of joins N(u), reweighting the implicit sum.
TEST(BayesSvdpp, PredictionIsTheOffsetPlusTheSamplesDotProduct) {
  test_support::SyntheticData d(40, 120);  // users rate 20 to 60 of 120: each has unrated movies
  auto model = fitted(d, bayes());
  const auto batch = d.valid.slice(0, 10);
  const auto prediction = model->forward(batch);
  const auto start = buffer(*model, "user_start"), rated = buffer(*model, "rated_item");
  const auto offset = buffer(*model, "offset"), user_vector = buffer(*model, "user_vector");
  const auto user_implicit = buffer(*model, "user_implicit"), item_vector = buffer(*model, "item_vector");
  const auto item_implicit = buffer(*model, "item_implicit");
  const int64_t target = batch.movies.size(1) - 1;
  data::Batch widened = batch;
  widened.movies = batch.movies.clone();
  std::vector<int64_t> added;
  for (int64_t r = 0; r < batch.size(); ++r) {
    const int64_t u = batch.user[r].item<int64_t>(), i = batch.movies[r][target].item<int64_t>();
    EXPECT_NEAR(prediction[r].item<double>(),
                std::clamp(offset[i].item<double>() + user_vector[u].dot(item_vector[i]).item<double>(), 1.0, 5.0), 1e-4)
        << "row " << r;
    // The validation row's window holds training ratings only; put an unrated movie at its start.
    const auto own = rated.narrow(0, start[u].item<int64_t>(), start[u + 1].item<int64_t>() - start[u].item<int64_t>());
    int32_t movie = 1;
    while (own.eq(movie).any().item<bool>() || movie == i) ++movie;
    ASSERT_LE(movie, d.info.num_movies);
    widened.movies[r][0] = movie;
    added.push_back(movie);
  }
  const auto with_new_item = model->forward(widened);
  for (int64_t r = 0; r < batch.size(); ++r) {
    const int64_t u = batch.user[r].item<int64_t>(), i = batch.movies[r][target].item<int64_t>();
    // The window's first position held a training item (or padding): losing it changes nothing.
    const double n = static_cast<double>(start[u + 1].item<int64_t>() - start[u].item<int64_t>());
    const auto x = user_vector[u] + (1 / std::sqrt(n + 1) - 1 / std::sqrt(n)) * user_implicit[u] +
                   item_implicit[added[r]] / std::sqrt(n + 1);
    EXPECT_NEAR(with_new_item[r].item<double>(), std::clamp(offset[i].item<double>() + x.dot(item_vector[i]).item<double>(), 1.0, 5.0),
                1e-4)
        << "row " << r;
  }
  EXPECT_GT((with_new_item - prediction).abs().sum().item<float>(), 0.0f);
}

// The no-future-input rule: it reads the window's items, never a rating level, and never the
// target's position; its tables hold the training samples only.
TEST(BayesSvdpp, ReadsNeitherTheTargetsRatingNorAnyHeldOutRating) {
  test_support::SyntheticData d(40, 30);
  auto model = fitted(d, bayes());
  EXPECT_EQ(buffer(*model, "rated_item").size(0), d.train.size());
  const auto valid = d.valid.slice(0, 16);
  const auto base = model->forward(valid);
  data::Batch changed = valid;
  changed.levels = 6 - valid.levels;
  changed.target = 6 - valid.target;
  EXPECT_TRUE(torch::equal(model->forward(changed), base));
}

TEST(BayesSvdpp, AnUnknownUserIsPredictedFromTheWindowAlone) {
  test_support::SyntheticData d(40, 30);
  auto model = fitted(d, bayes());
  auto batch = d.valid.slice(0, 3);
  batch.user = torch::zeros_like(batch.user);  // 0: unknown
  batch.movies = batch.movies.clone();
  const int64_t last = batch.movies.size(1) - 1;
  const auto with_history = model->forward(batch);
  batch.movies.narrow(1, 0, last).zero_();  // and no history
  const auto without = model->forward(batch);
  const auto offset = buffer(*model, "offset"), item_vector = buffer(*model, "item_vector");
  for (int64_t r = 0; r < 3; ++r) {
    const int64_t i = batch.movies[r][last].item<int64_t>();
    EXPECT_NEAR(without[r].item<double>(), std::clamp(offset[i].item<double>(), 1.0, 5.0), 1e-5);
  }
  EXPECT_GT((with_history - without).abs().sum().item<float>(), 0.0f);
}

TEST(BayesSvdpp, ABurnInOfAllTheSweepsIsAConfigError) {
  test_support::SyntheticData d(20, 20);
  try {
    make_model(bayes(10, 10, 1), d.info);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.burn_in"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mlrec::models
