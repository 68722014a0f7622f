#pragma once

#include <torch/nn/module.h>

#include "mlrec/config/config.h"
#include "mlrec/models/model.h"

namespace mlrec::models {

/// Bayesian SVD++ by Gibbs sampling (issue 20): a factorization machine over the user, the item,
/// the items the user rated and the users who rated the item (SVD++'s implicit feedback, on both
/// sides), every parameter given a Gaussian prior whose mean and precision are sampled too, as in
/// libFM's MCMC (Rendle 2012) and the "Bayesian FM with implicit features" of Rendle et al. 2019:
///
///   prediction(u, i) = w0 + x_u . [a_i, 1] + b_i   (x_u, a_i: factors + 1 numbers; b_i = a_i's last)
///   x_u = theta_u + |N(u)|^-1/2 sum_{j in N(u)} theta_j      theta = [factors, bias]
///   a_i = phi_i   + |N(i)|^-1/2 sum_{v in N(i)} phi_v
///
/// averaged over the samples drawn after model.burn_in sweeps (every model.keep_every-th sweep),
/// not a point estimate: no learning rate, weight decay or epochs to tune. N(i) is the users who
/// rated item i in training. N(u) is what the model knows of the user: the items of their training
/// ratings plus those of the sample's window (the ratings just before the target; for a test row
/// the validation rating, the user's latest), never the target's. For a user it has never seen
/// (id 0), N(u) is the window alone.
///
/// Each sweep samples from its full conditional: w0; the users' vectors theta_u (one Gaussian per
/// user given the items: in parallel); the implicit vectors theta_j one item at a time (they are
/// coupled through x_u); then the same for the items' side (phi_i, then phi_v per user); the noise
/// precision; and each group's prior mean and precision per dimension (Normal-Gamma, as libFM).
/// Per-row statistics (the sums of a a^T and of a * residual over a user's ratings) make an
/// implicit vector's draw cost its rows' count times (factors + 1)^2, not their ratings'.
///
/// Why it is here: on ML-1M it is the best single model measured (README, "Protocols and
/// seeds"). Sampling averages over the factors' uncertainty, which the tuned MF's point estimate
/// cannot; who rated what says more about users and items than the ratings' values alone.
///
/// What it keeps (buffers, so best.pt, predict and blend use it like any run): per kept sample,
/// each user's x_u and sum_j theta_j over training, each item's [a_i factors, 1] and theta_i,
/// scaled by 1 / sqrt(samples) and side by side, so that the mean over samples is one dot
/// product; the items' w0 + b_i, averaged; and each user's training items (to tell a window's new
/// items). 30 samples of 33 numbers: 4 KB per user and per item, twice, in float32. It computes
/// on the CPU, whatever the run's device (a CpuFittedModel).
class BayesianSvdpp : public CpuFittedModel {
 public:
  BayesianSvdpp(const config::Config::Model& options, const data::DatasetInfo& data);
  torch::Tensor forward(const data::Batch& batch) override;
  /// Runs the sampler, seeded from torch's default generator (train.seed decides).
  void fit(const data::RatingDataset& train) override;

  /// Samples kept for prediction under these options.
  static int64_t kept_samples(const config::Config::Model& options);

 private:
  int factors_, sweeps_, burn_in_, keep_every_;
  float rating_min_, rating_max_;
  torch::Tensor offset_;          // float64 [num_movies + 1]: w0 + b_i, averaged over samples
  torch::Tensor user_vector_;     // float32 [num_users + 1, S * (factors + 1)]: x_u over training items
  torch::Tensor user_implicit_;   // float32 [num_users + 1, S * (factors + 1)]: sum_j theta_j over them
  torch::Tensor item_vector_;     // float32 [num_movies + 1, S * (factors + 1)]: [a_i's factors, 1]
  torch::Tensor item_implicit_;   // float32 [num_movies + 1, S * (factors + 1)]: theta_i
  torch::Tensor user_start_;      // int64 [num_users + 2]: user u's training items are [start[u], start[u + 1])
  torch::Tensor rated_item_;      // int32 [train samples], grouped by user, ascending within a user
};

}  // namespace mlrec::models
