// Learning-rate (and Adam beta1) schedules, stepped once per optimizer step.
#pragma once

#include <cstdint>
#include <memory>

#include "mlrec/config/config.h"

namespace mlrec::train {

/// The optimizer settings of one step.
struct StepSettings {
  double lr = 0;
  double beta1 = 0;
};

class Schedule {
 public:
  virtual ~Schedule() = default;
  /// Settings for optimizer step `step` (0-based).
  virtual StepSettings at(int64_t step) const = 0;
};

/// OneCycle's settings. Their defaults are the configuration's (train.*, declared once in
/// src/config/config.cpp): build them with from().
struct OneCycleOptions {
  double max_lr;
  int64_t total_steps;
  double pct_start;
  double div_factor;               // initial lr = max_lr / div_factor
  double final_div_factor;         // final lr = initial lr / final_div_factor
  bool cycle_momentum;
  double base_momentum, max_momentum;
  double beta1;                    // used when cycle_momentum is false
  /// train.lr as the peak and train's OneCycle settings, over `total_steps` optimizer steps.
  static OneCycleOptions from(const config::Config::Train& train, int64_t total_steps);
};

/// PyTorch's OneCycleLR (two phases, cosine annealing), step for step: lr rises from
/// max_lr / div_factor to max_lr over the first pct_start of the steps, then falls to
/// initial / final_div_factor; beta1 moves the opposite way between max and base momentum.
/// Asking for a step at or past total_steps is an error, as in PyTorch.
class OneCycleSchedule final : public Schedule {
 public:
  explicit OneCycleSchedule(const OneCycleOptions& options);
  StepSettings at(int64_t step) const override;

 private:
  OneCycleOptions options_;
};

/// A fixed lr and beta1.
class ConstantSchedule final : public Schedule {
 public:
  ConstantSchedule(double lr, double beta1) : settings_{lr, beta1} {}
  StepSettings at(int64_t) const override { return settings_; }

 private:
  StepSettings settings_;
};

}  // namespace mlrec::train
