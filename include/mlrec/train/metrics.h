// Rating-prediction metrics from sufficient statistics. Sums and counts (not means) are what
// ranks exchange, so the reduced result is exact whatever the sharding.
#pragma once

#include <cmath>
#include <cstdint>

namespace mlrec::train {

struct ErrorSums {
  double abs_error = 0;     // sum |prediction - target|
  double squared_error = 0; // sum (prediction - target)^2
  double count = 0;         // number of scored samples (double: it travels in one float64 tensor)
  // Full ranking (when asked for): per held-out row, the rank r of its item among the items its
  // user has not rated before it (1 = first; ties count against the held-out item).
  double hits = 0;          // rows with r <= K
  double dcg = 0;           // sum over those rows of 1 / log2(r + 1)
  double ranked = 0;        // rows ranked
};

struct Metrics {
  double mae = NAN, mse = NAN, rmse = NAN;
  int64_t count = 0;
  // Ranking metrics: ranking_k = 0 when not computed (hr and ndcg are then NaN).
  int ranking_k = 0;
  double hr = NAN, ndcg = NAN;  // HR@K and NDCG@K (one relevant item per row, so IDCG = 1)
  static Metrics from(const ErrorSums& sums, int ranking_k = 0) {
    Metrics m;
    m.count = static_cast<int64_t>(sums.count);
    if (sums.count > 0) {
      m.mae = sums.abs_error / sums.count;
      m.mse = sums.squared_error / sums.count;
      m.rmse = std::sqrt(m.mse);
    }
    if (ranking_k > 0 && sums.ranked > 0) {
      m.ranking_k = ranking_k;
      m.hr = sums.hits / sums.ranked;
      m.ndcg = sums.dcg / sums.ranked;
    }
    return m;
  }
  bool has_ranking() const { return ranking_k > 0; }
};

/// Early stopping with the study's semantics (pytorch-accelerated's EarlyStoppingCallback): an
/// epoch counts as improved only when it beats the best seen *by this callback* by more than
/// the threshold; the best then moves to it. Otherwise the patience counter rises, and reaching
/// `patience` stops training. patience 0 disables stopping.
class EarlyStopping {
 public:
  EarlyStopping(int patience, double threshold) : patience_(patience), threshold_(threshold) {}
  /// Records an epoch's validation MAE; returns true when training should stop.
  bool update(double mae) {
    if (!has_best_ || best_ - mae > threshold_) {
      best_ = mae;
      has_best_ = true;
      stale_epochs_ = 0;
    } else {
      ++stale_epochs_;
    }
    return patience_ > 0 && stale_epochs_ >= patience_;
  }
  int stale_epochs() const { return stale_epochs_; }

  /// Its state, for a checkpoint: whether it has a best, the best MAE, the stale epochs.
  struct State {
    bool has_best = false;
    double best = 0;
    int stale_epochs = 0;
  };
  State state() const { return {has_best_, best_, stale_epochs_}; }
  void restore(const State& s) {
    has_best_ = s.has_best;
    best_ = s.best;
    stale_epochs_ = s.stale_epochs;
  }

 private:
  int patience_;
  double threshold_;
  bool has_best_ = false;
  double best_ = 0;
  int stale_epochs_ = 0;
};

}  // namespace mlrec::train
