#include "mlrec/train/schedule.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace mlrec::train {
namespace {

double cosine_anneal(double start, double end, double pct) {
  return end + (start - end) / 2.0 * (std::cos(M_PI * pct) + 1.0);
}

}  // namespace

OneCycleOptions OneCycleOptions::from(const config::Config::Train& train, int64_t total_steps) {
  return OneCycleOptions{train.lr,         total_steps,         train.pct_start,
                         train.div_factor, train.final_div_factor, train.cycle_momentum,
                         train.base_momentum, train.max_momentum, train.beta1};
}

OneCycleSchedule::OneCycleSchedule(const OneCycleOptions& options) : options_(options) {
  if (options.total_steps < 1) throw std::invalid_argument("OneCycle needs at least one step");
}

StepSettings OneCycleSchedule::at(int64_t step) const {
  const auto& o = options_;
  if (step < 0 || step >= o.total_steps) {
    throw std::out_of_range("OneCycle step " + std::to_string(step) + " outside [0, " +
                            std::to_string(o.total_steps) + ")");
  }
  const double initial_lr = o.max_lr / o.div_factor;
  const double min_lr = initial_lr / o.final_div_factor;
  // The phase boundaries are computed exactly as torch.optim.lr_scheduler.OneCycleLR does,
  // in floating point, including its "- 1" so the peak lands on step pct_start * total - 1.
  const double warmup_end = o.pct_start * double(o.total_steps) - 1.0;
  const double last = double(o.total_steps) - 1.0;
  double lr_start, lr_end, m_start, m_end, phase_start, phase_end;
  if (double(step) <= warmup_end) {
    lr_start = initial_lr, lr_end = o.max_lr;
    m_start = o.max_momentum, m_end = o.base_momentum;
    phase_start = 0.0, phase_end = warmup_end;
  } else {
    lr_start = o.max_lr, lr_end = min_lr;
    m_start = o.base_momentum, m_end = o.max_momentum;
    phase_start = warmup_end, phase_end = last;
  }
  const double span = phase_end - phase_start;
  const double pct = span > 0 ? (double(step) - phase_start) / span : 0.0;
  StepSettings s;
  s.lr = cosine_anneal(lr_start, lr_end, pct);
  s.beta1 = o.cycle_momentum ? cosine_anneal(m_start, m_end, pct) : o.beta1;
  return s;
}

}  // namespace mlrec::train
