// Learning-rate (and Adam beta1) schedules, stepped once per optimizer step.
#pragma once

#include <cstdint>
#include <memory>

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

struct OneCycleOptions {
  double max_lr = 0.01;
  int64_t total_steps = 1;
  double pct_start = 0.3;
  double div_factor = 25;          // initial lr = max_lr / div_factor
  double final_div_factor = 1e4;   // final lr = initial lr / final_div_factor
  bool cycle_momentum = true;
  double base_momentum = 0.85, max_momentum = 0.95;
  double beta1 = 0.9;              // used when cycle_momentum is false
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
