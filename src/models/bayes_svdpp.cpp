#include "mlrec/models/bayes_svdpp.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "mlrec/common/error.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/timer.h"
#include "mlrec/data/dataset.h"

namespace mlrec::models {
namespace {

// The priors' hyperparameters, libFM's defaults: the noise precision ~ Gamma(1, 1); each
// dimension's prior mean ~ N(0, 1 / (lambda * 1)) and precision lambda ~ Gamma(1, 1). The data
// outweighs them on any real dataset; not config keys.
constexpr double kGammaShape = 1, kGammaRate = 1, kMeanPriorWeight = 1;
constexpr double kInitStd = 0.1;  // the factors' first draw; the biases start at 0
constexpr int kLogEvery = 10;     // sweeps between progress lines

// Dense symmetric positive-definite K x K systems, one per user or item and sweep, with K =
// factors + 1 (33 on ML-1M): a hand-written Cholesky inside the samplers' per-row loops, where a
// torch call per row would cost more than the arithmetic.
class SmallGaussian {
 public:
  explicit SmallGaussian(int k) : k_(k), y_(static_cast<size_t>(k)) {}

  /// Draws x ~ N(P^-1 b, P^-1) for the precision P (row-major K x K, overwritten by its Cholesky
  /// factor) and the standard normal draws z.
  void sample(std::vector<double>& precision, const double* b, const double* z, double* x) {
    double* l = precision.data();
    for (int j = 0; j < k_; ++j) {
      double d = l[j * k_ + j];
      for (int p = 0; p < j; ++p) d -= l[j * k_ + p] * l[j * k_ + p];
      d = std::sqrt(std::max(d, 1e-12));
      l[j * k_ + j] = d;
      for (int i = j + 1; i < k_; ++i) {
        double s = l[i * k_ + j];
        for (int p = 0; p < j; ++p) s -= l[i * k_ + p] * l[j * k_ + p];
        l[i * k_ + j] = s / d;
      }
    }
    // P = L L^T: y = L^-1 b + z, x = L^-T y, so that E[x] = P^-1 b and Cov[x] = L^-T L^-1 = P^-1.
    for (int i = 0; i < k_; ++i) {
      double s = b[i];
      for (int p = 0; p < i; ++p) s -= l[i * k_ + p] * y_[p];
      y_[i] = s / l[i * k_ + i];
    }
    for (int i = 0; i < k_; ++i) y_[i] += z[i];
    for (int i = k_ - 1; i >= 0; --i) {
      double s = y_[i];
      for (int p = i + 1; p < k_; ++p) s -= l[p * k_ + i] * x[p];
      x[i] = s / l[i * k_ + i];
    }
  }

 private:
  int k_;
  std::vector<double> y_;
};

// A Gaussian prior per dimension, shared by a group of rows (the users' vectors, the implicit
// vectors, the items'), its mean and precision resampled each sweep (Normal-Gamma).
struct GroupPrior {
  std::vector<double> mean, precision;
  explicit GroupPrior(int k) : mean(k, 0.0), precision(k, 1.0) {}

  void resample(const std::vector<double>& rows, int64_t first, int64_t count, int k, std::mt19937_64& rng) {
    for (int f = 0; f < k; ++f) {
      double sum = 0;
      for (int64_t r = first; r < first + count; ++r) sum += rows[r * k + f];
      double squares = 0;
      for (int64_t r = first; r < first + count; ++r) squares += (rows[r * k + f] - mean[f]) * (rows[r * k + f] - mean[f]);
      const double shape = (kGammaShape + count + 1) / 2;
      const double rate = (kGammaRate + squares + kMeanPriorWeight * mean[f] * mean[f]) / 2;
      precision[f] = std::gamma_distribution<double>(shape, 1 / rate)(rng);
      const double weight = count + kMeanPriorWeight;
      mean[f] = std::normal_distribution<double>(sum / weight, 1 / std::sqrt(weight * precision[f]))(rng);
    }
  }
};

// Ratings grouped by one side (users or items): entry n of the group's range is rating index[n].
struct Grouping {
  std::vector<int64_t> start;  // [rows + 1]
  std::vector<int64_t> index;  // [ratings]
};

Grouping group_by(const std::vector<int32_t>& key, int64_t rows) {
  Grouping g;
  g.start.assign(static_cast<size_t>(rows + 1), 0);
  for (const int32_t k : key) ++g.start[static_cast<size_t>(k) + 1];
  for (int64_t r = 0; r < rows; ++r) g.start[r + 1] += g.start[r];
  g.index.resize(key.size());
  std::vector<int64_t> next(g.start.begin(), g.start.end() - 1);
  for (size_t n = 0; n < key.size(); ++n) g.index[static_cast<size_t>(next[key[n]]++)] = static_cast<int64_t>(n);
  return g;
}

// Sum of a a^T (row-major K x K) and of a * residual over a group's ratings, a = feature(rating).
template <typename Feature>
void gram(const Grouping& g, int64_t row, int k, const std::vector<double>& residual, Feature feature,
          double* outer, double* weighted) {
  std::fill(outer, outer + static_cast<ptrdiff_t>(k) * k, 0.0);
  std::fill(weighted, weighted + k, 0.0);
  for (int64_t p = g.start[row]; p < g.start[row + 1]; ++p) {
    const int64_t n = g.index[p];
    const double* a = feature(n);
    const double e = residual[n];
    for (int i = 0; i < k; ++i) {
      weighted[i] += a[i] * e;
      for (int j = 0; j <= i; ++j) outer[i * k + j] += a[i] * a[j];
    }
  }
  for (int i = 0; i < k; ++i) {
    for (int j = i + 1; j < k; ++j) outer[i * k + j] = outer[j * k + i];
  }
}

// One side of the model, the users' or the items': each row's own vector [factors, bias]; the
// implicit vectors, one per row of the other side (for the users: theta_j per item; for the
// items: one per user); and what the prediction reads,
//   vec[row] = own[row] + weight[row] * sum of implicit[o] over the other side's rows o in N(row),
// N(row) being the items the user rated (for an item: the users who rated it) in training.
struct Side {
  int64_t rows = 0;
  std::vector<int32_t> key;             // rating n -> its row on this side
  Grouping ratings;                     // this side's ratings, grouped by row
  std::vector<double> weight;           // 1 / sqrt(|N(row)|), 0 for a row without ratings
  std::vector<double> own, implicit;    // [rows, K], [the other side's rows, K]
  std::vector<double> vec;              // [rows, K]
  std::vector<double> outer, weighted;  // per row: sums of a a^T and of a * residual over its ratings
  GroupPrior own_prior, implicit_prior;

  Side(std::vector<int32_t> keys, int64_t row_count, int64_t other_rows, int k)
      : rows(row_count), key(std::move(keys)), ratings(group_by(key, rows)), weight(static_cast<size_t>(rows), 0.0),
        own(static_cast<size_t>(rows * k)), implicit(static_cast<size_t>(other_rows * k)),
        vec(static_cast<size_t>(rows * k)), outer(static_cast<size_t>(rows * k * k)),
        weighted(static_cast<size_t>(rows * k)), own_prior(k), implicit_prior(k) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = ratings.start[r + 1] - ratings.start[r];
      if (n > 0) weight[r] = 1 / std::sqrt(static_cast<double>(n));
    }
  }

  void compute_vec(const std::vector<int32_t>& other_key, int k) {
    at::parallel_for(0, rows, 64, [&](int64_t first, int64_t last) {
      for (int64_t r = first; r < last; ++r) {
        double* v = &vec[r * k];
        std::copy_n(&own[r * k], k, v);
        for (int64_t p = ratings.start[r]; p < ratings.start[r + 1]; ++p) {
          const double* t = &implicit[static_cast<int64_t>(other_key[ratings.index[p]]) * k];
          for (int f = 0; f < k; ++f) v[f] += weight[r] * t[f];
        }
      }
    });
  }
};

// b + alpha * (weighted + outer . current) and the precision diag(prior) + alpha * outer: the
// Gaussian full conditional of a vector whose ratings' features sum to `outer` and `weighted`
// (the residuals still holding its part, `current`).
void conditional(const double* outer, const double* weighted, const double* current, const GroupPrior& prior,
                 double noise_precision, int k, std::vector<double>& precision, std::vector<double>& b) {
  for (int i = 0; i < k; ++i) {
    double own = 0;
    for (int j = 0; j < k; ++j) {
      precision[i * k + j] = noise_precision * outer[i * k + j];
      own += outer[i * k + j] * current[j];
    }
    precision[i * k + i] += prior.precision[i];
    b[i] = prior.precision[i] * prior.mean[i] + noise_precision * (weighted[i] + own);
  }
}

// A vector moved by `change` (entering its rows' predictions times `scale`): each rating's
// residual loses scale * a . change, so the row's sum of a * residual loses scale * outer . change.
void subtract_moved(const double* outer, const double* change, double scale, int k, double* weighted) {
  for (int i = 0; i < k; ++i) {
    double moved = 0;
    for (int j = 0; j < k; ++j) moved += outer[i * k + j] * change[j];
    weighted[i] -= scale * moved;
  }
}

// One side's Gibbs step given the other's vectors: every row's own vector (independent given the
// other side: in parallel), then the implicit vectors one at a time (implicit[o] moves vec of
// every row in N(o), so each draw updates those rows' residual sums before the next).
void sample_side(Side& side, const Side& other, const std::vector<double>& residual, double noise_precision, int k,
                 std::mt19937_64& rng) {
  const int d = k - 1;
  std::vector<double> feature(static_cast<size_t>(other.rows * k));  // a = [other's vec factors, 1]
  for (int64_t o = 0; o < other.rows; ++o) {
    std::copy_n(&other.vec[o * k], d, &feature[o * k]);
    feature[o * k + d] = 1;
  }
  std::normal_distribution<double> normal;
  std::vector<double> z_own(side.own.size()), z_implicit(side.implicit.size());
  for (double& v : z_own) v = normal(rng);
  for (double& v : z_implicit) v = normal(rng);

  at::parallel_for(0, side.rows, 16, [&](int64_t first, int64_t last) {
    SmallGaussian gaussian(k);
    std::vector<double> precision(static_cast<size_t>(k * k)), b(static_cast<size_t>(k));
    std::vector<double> drawn(static_cast<size_t>(k)), change(static_cast<size_t>(k));
    for (int64_t r = first; r < last; ++r) {
      double* outer = &side.outer[r * k * k];
      double* weighted = &side.weighted[r * k];
      gram(side.ratings, r, k, residual, [&](int64_t n) { return &feature[static_cast<int64_t>(other.key[n]) * k]; },
           outer, weighted);
      double* own = &side.own[r * k];
      conditional(outer, weighted, own, side.own_prior, noise_precision, k, precision, b);
      gaussian.sample(precision, b.data(), &z_own[r * k], drawn.data());
      for (int f = 0; f < k; ++f) {
        change[f] = drawn[f] - own[f];
        own[f] = drawn[f];
      }
      subtract_moved(outer, change.data(), 1.0, k, weighted);  // keep the residual sums current
    }
  });

  SmallGaussian gaussian(k);
  std::vector<double> outer_sum(static_cast<size_t>(k * k)), weighted_sum(static_cast<size_t>(k));
  std::vector<double> precision(static_cast<size_t>(k * k)), b(static_cast<size_t>(k)), change(static_cast<size_t>(k));
  for (int64_t o = 0; o < other.rows; ++o) {
    // implicit[o] enters vec[r] times weight[r] for the rows r that o's ratings belong to.
    std::fill(outer_sum.begin(), outer_sum.end(), 0.0);
    std::fill(weighted_sum.begin(), weighted_sum.end(), 0.0);
    for (int64_t p = other.ratings.start[o]; p < other.ratings.start[o + 1]; ++p) {
      const int64_t r = side.key[other.ratings.index[p]];
      const double w = side.weight[r];
      const double* outer = &side.outer[r * k * k];
      const double* weighted = &side.weighted[r * k];
      for (int i = 0; i < k; ++i) {  // the lower triangle; mirrored below
        for (int j = 0; j <= i; ++j) outer_sum[i * k + j] += w * w * outer[i * k + j];
        weighted_sum[i] += w * weighted[i];
      }
    }
    for (int i = 0; i < k; ++i) {
      for (int j = i + 1; j < k; ++j) outer_sum[i * k + j] = outer_sum[j * k + i];
    }
    double* implicit = &side.implicit[o * k];
    conditional(outer_sum.data(), weighted_sum.data(), implicit, side.implicit_prior, noise_precision, k, precision, b);
    gaussian.sample(precision, b.data(), &z_implicit[o * k], change.data());
    for (int f = 0; f < k; ++f) {
      const double drawn = change[f];
      change[f] = drawn - implicit[f];
      implicit[f] = drawn;
    }
    for (int64_t p = other.ratings.start[o]; p < other.ratings.start[o + 1]; ++p) {
      const int64_t r = side.key[other.ratings.index[p]];
      subtract_moved(&side.outer[r * k * k], change.data(), side.weight[r], k, &side.weighted[r * k]);
    }
  }
}

}  // namespace

int64_t BayesianSvdpp::kept_samples(const config::Config::Model& options) {
  return options.sweeps > options.burn_in ? (options.sweeps - options.burn_in - 1) / options.keep_every + 1 : 0;
}

BayesianSvdpp::BayesianSvdpp(const config::Config::Model& options, const data::DatasetInfo& data)
    : factors_(options.factors),
      sweeps_(options.sweeps),
      burn_in_(options.burn_in),
      keep_every_(options.keep_every),
      rating_min_(data.rating_min),
      rating_max_(data.rating_max) {
  if (options.burn_in >= options.sweeps) {
    throw ConfigError::for_key("model.burn_in", "bayes_svdpp keeps the samples after model.burn_in (" +
                                                    std::to_string(options.burn_in) + ") of model.sweeps (" +
                                                    std::to_string(options.sweeps) + "): it must be smaller");
  }
  const int64_t width = kept_samples(options) * (factors_ + 1);
  offset_ = register_buffer("offset", torch::zeros({data.num_movies + 1}, torch::kFloat64));
  user_vector_ = register_buffer("user_vector", torch::zeros({data.num_users + 1, width}));
  user_implicit_ = register_buffer("user_implicit", torch::zeros({data.num_users + 1, width}));
  item_vector_ = register_buffer("item_vector", torch::zeros({data.num_movies + 1, width}));
  item_implicit_ = register_buffer("item_implicit", torch::zeros({data.num_movies + 1, width}));
  user_start_ = register_buffer("user_start", torch::zeros({data.num_users + 2}, torch::kInt64));
  rated_item_ = register_buffer("rated_item", torch::zeros({data.train_samples}, torch::kInt32));
}

void BayesianSvdpp::fit(const data::RatingDataset& train) {
  torch::NoGradGuard no_grad;
  TORCH_CHECK(train.size() == rated_item_.size(0), "bayes_svdpp was sized for ", rated_item_.size(0),
              " training samples, not ", train.size());
  const TrainingRatings ratings = training_ratings(train);
  const int64_t num_users = user_vector_.size(0), num_items = item_vector_.size(0);
  const int64_t count = ratings.rating.size(0);
  const int k = factors_ + 1, d = factors_;
  const int64_t samples = user_vector_.size(1) / k;

  std::vector<int32_t> user_column(static_cast<size_t>(count)), item_column(static_cast<size_t>(count));
  std::vector<double> rating(static_cast<size_t>(count));
  {
    const auto u = ratings.user.to(torch::kInt32).contiguous(), i = ratings.item.to(torch::kInt32).contiguous();
    const auto r = ratings.rating.contiguous();
    std::copy_n(u.data_ptr<int32_t>(), count, user_column.begin());
    std::copy_n(i.data_ptr<int32_t>(), count, item_column.begin());
    std::copy_n(r.data_ptr<double>(), count, rating.begin());
  }
  Side users(std::move(user_column), num_users, num_items, k), items(std::move(item_column), num_items, num_users, k);
  const std::vector<int32_t>& user_of = users.key;  // rating n's user and item, held by the sides
  const std::vector<int32_t>& item_of = items.key;

  std::mt19937_64 rng(static_cast<uint64_t>(torch::randint(int64_t{1} << 62, {1}, torch::kInt64).item<int64_t>()));
  std::normal_distribution<double> normal;
  for (auto* table : {&users.own, &users.implicit, &items.own, &items.implicit}) {
    for (size_t n = 0; n < table->size(); ++n) (*table)[n] = n % k == static_cast<size_t>(d) ? 0 : kInitStd * normal(rng);
  }
  double w0 = std::accumulate(rating.begin(), rating.end(), 0.0) / static_cast<double>(std::max<int64_t>(1, count));
  double noise_precision = 1;
  users.compute_vec(item_of, k);
  items.compute_vec(user_of, k);

  std::vector<double> residual(static_cast<size_t>(count));
  const auto compute_residuals = [&] {
    at::parallel_for(0, count, 4096, [&](int64_t first, int64_t last) {
      for (int64_t n = first; n < last; ++n) {
        const double* x = &users.vec[static_cast<int64_t>(user_of[n]) * k];
        const double* a = &items.vec[static_cast<int64_t>(item_of[n]) * k];
        double prediction = w0 + x[d] + a[d];
        for (int f = 0; f < d; ++f) prediction += x[f] * a[f];
        residual[n] = rating[n] - prediction;
      }
    });
  };

  std::vector<double> offset_sum(static_cast<size_t>(num_items), 0.0);
  auto user_vector = user_vector_.accessor<float, 2>(), user_implicit = user_implicit_.accessor<float, 2>();
  auto item_vector = item_vector_.accessor<float, 2>(), item_implicit = item_implicit_.accessor<float, 2>();
  const float scale = static_cast<float>(1 / std::sqrt(static_cast<double>(samples)));
  int64_t kept = 0;
  Stopwatch timer;
  compute_residuals();
  for (int sweep = 0; sweep < sweeps_; ++sweep) {
    {  // the global mean w0
      double sum = 0;
      for (int64_t n = 0; n < count; ++n) sum += residual[n] + w0;
      const double precision = noise_precision * static_cast<double>(count) + 1;
      const double drawn = std::normal_distribution<double>(noise_precision * sum / precision, 1 / std::sqrt(precision))(rng);
      for (double& e : residual) e -= drawn - w0;
      w0 = drawn;
    }
    sample_side(users, items, residual, noise_precision, k, rng);
    users.compute_vec(item_of, k);  // afresh, so that rounding does not accumulate over sweeps
    compute_residuals();
    sample_side(items, users, residual, noise_precision, k, rng);
    items.compute_vec(user_of, k);
    compute_residuals();

    double squares = 0;  // the noise precision, then the priors
    for (const double e : residual) squares += e * e;
    noise_precision = std::gamma_distribution<double>((kGammaShape + static_cast<double>(count)) / 2, 2 / (kGammaRate + squares))(rng);
    users.own_prior.resample(users.own, 1, num_users - 1, k, rng);
    users.implicit_prior.resample(users.implicit, 1, num_items - 1, k, rng);
    items.own_prior.resample(items.own, 1, num_items - 1, k, rng);
    items.implicit_prior.resample(items.implicit, 1, num_users - 1, k, rng);

    if ((sweep + 1) % kLogEvery == 0 || sweep + 1 == sweeps_) {
      log_rank0(fmt::format("bayes_svdpp: sweep {}/{}, training RMSE {:.4f}, {:.1f} s", sweep + 1, sweeps_,
                            std::sqrt(squares / static_cast<double>(std::max<int64_t>(1, count))), timer.seconds()));
    }
    // Keep a sample: its vectors side by side, each scaled by 1 / sqrt(samples), so that one dot
    // product of a user's and an item's row is the samples' mean prediction.
    if (sweep < burn_in_ || (sweep - burn_in_) % keep_every_ != 0 || kept >= samples) continue;
    const int64_t column = kept * k;
    for (int64_t u = 1; u < num_users; ++u) {
      const double w = users.weight[u];
      for (int f = 0; f < k; ++f) {
        const double implicit_sum = w > 0 ? (users.vec[u * k + f] - users.own[u * k + f]) / w : 0.0;
        user_vector[u][column + f] = scale * static_cast<float>(users.vec[u * k + f]);
        user_implicit[u][column + f] = scale * static_cast<float>(implicit_sum);
      }
    }
    for (int64_t i = 1; i < num_items; ++i) {
      for (int f = 0; f < k; ++f) {
        item_vector[i][column + f] = scale * static_cast<float>(f == d ? 1.0 : items.vec[i * k + f]);
        item_implicit[i][column + f] = scale * static_cast<float>(users.implicit[i * k + f]);
      }
      offset_sum[i] += w0 + items.vec[i * k + d];
    }
    item_vector[0][column + d] = scale;  // the unknown item: the user's bias counts, no factors
    offset_sum[0] += w0;
    ++kept;
  }
  for (int64_t i = 0; i < num_items; ++i) offset_[i] = offset_sum[i] / static_cast<double>(std::max<int64_t>(1, kept));

  // Each user's training items, ascending, to tell the window's items that are new. (Copied in
  // as whole tensors, whose sizes copy_ checks.)
  const Grouping& by_user = users.ratings;
  std::vector<int32_t> rated_items(static_cast<size_t>(count));
  for (int64_t u = 0; u < num_users; ++u) {
    for (int64_t p = by_user.start[u]; p < by_user.start[u + 1]; ++p) rated_items[p] = item_of[by_user.index[p]];
    std::sort(rated_items.begin() + by_user.start[u], rated_items.begin() + by_user.start[u + 1]);
  }
  user_start_.copy_(torch::tensor(by_user.start, torch::kInt64));
  rated_item_.copy_(torch::tensor(rated_items, torch::kInt32));
}

torch::Tensor BayesianSvdpp::forward(const data::Batch& batch) {
  const int64_t length = batch.movies.size(1);
  const auto user = batch.user.to(torch::kCPU, torch::kInt32).contiguous();
  const auto window = batch.movies.to(torch::kCPU, torch::kInt32).contiguous();
  const int64_t n = user.size(0), width = user_vector_.size(1);
  const int64_t num_users = user_vector_.size(0), num_items = item_vector_.size(0);
  auto prediction = torch::empty({n});
  const int32_t* u = user.data_ptr<int32_t>();
  const int32_t* movies = window.data_ptr<int32_t>();
  float* out = prediction.data_ptr<float>();
  const double* offset = offset_.data_ptr<double>();
  const float* user_vector = user_vector_.data_ptr<float>();
  const float* user_implicit = user_implicit_.data_ptr<float>();
  const float* item_vector = item_vector_.data_ptr<float>();
  const float* item_implicit = item_implicit_.data_ptr<float>();
  const int64_t* start = user_start_.data_ptr<int64_t>();
  const int32_t* rated = rated_item_.data_ptr<int32_t>();
  at::parallel_for(0, n, 64, [&](int64_t row_begin, int64_t row_end) {
    std::vector<float> xu(static_cast<size_t>(width));
    std::vector<int32_t> fresh;  // the window's items the user has no training rating of
    for (int64_t r = row_begin; r < row_end; ++r) {
      // Ids outside the fitted tables (a user or movie new to the model) count as unknown (0).
      const int64_t uu = u[r] > 0 && u[r] < num_users ? u[r] : 0;
      const int32_t target = movies[r * length + length - 1];
      const int64_t ii = target > 0 && target < num_items ? target : 0;
      fresh.clear();
      for (int64_t p = 0; p + 1 < length; ++p) {  // never the target's own position
        const int32_t m = movies[r * length + p];
        if (m <= 0 || m >= num_items) continue;
        if (std::binary_search(rated + start[uu], rated + start[uu + 1], m)) continue;
        if (std::find(fresh.begin(), fresh.end(), m) == fresh.end()) fresh.push_back(m);
      }
      const float* row = user_vector + uu * width;
      if (!fresh.empty()) {
        // x_u over N(u) plus the window's new items: the implicit sum grows, its weight shrinks.
        const double known = static_cast<double>(start[uu + 1] - start[uu]);
        const float old_weight = known > 0 ? static_cast<float>(1 / std::sqrt(known)) : 0.0f;
        const float new_weight = static_cast<float>(1 / std::sqrt(known + static_cast<double>(fresh.size())));
        const float* implicit = user_implicit + uu * width;
        for (int64_t c = 0; c < width; ++c) xu[c] = row[c] + (new_weight - old_weight) * implicit[c];
        for (const int32_t m : fresh) {
          const float* t = item_implicit + static_cast<int64_t>(m) * width;
          for (int64_t c = 0; c < width; ++c) xu[c] += new_weight * t[c];
        }
        row = xu.data();
      }
      const float* item_row = item_vector + ii * width;
      double score = offset[ii];
      for (int64_t c = 0; c < width; ++c) score += double(row[c]) * item_row[c];
      out[r] = static_cast<float>(std::clamp(score, double(rating_min_), double(rating_max_)));
    }
  });
  return prediction.to(batch.target.device());
}

}  // namespace mlrec::models
