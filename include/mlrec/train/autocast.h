// bf16 autocast for a forward pass (training, evaluation's rating predictions, and `predict`,
// which predicts as the run's evaluation did; ranking, in evaluation and `recommend`, scores in
// float32).
#pragma once

#include <ATen/autocast_mode.h>

namespace mlrec::train {

// bf16 autocast around the forward pass, as torch.autocast does in Python.
class AutocastGuard {
 public:
  AutocastGuard(bool enabled, c10::DeviceType device) : enabled_(enabled), device_(device) {
    if (!enabled_) return;
    previous_ = at::autocast::is_autocast_enabled(device_);
    at::autocast::set_autocast_enabled(device_, true);
    at::autocast::set_autocast_dtype(device_, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(device_, previous_);
  }

 private:
  bool enabled_;
  c10::DeviceType device_;
  bool previous_ = false;
};

}  // namespace mlrec::train
