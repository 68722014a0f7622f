// AdamW as one fused kernel per step (ATen's _fused_adamw_, on the CPU and on CUDA): one pass
// over each parameter's memory instead of the ~8 of the op-by-op implementation, which is what
// bounds a matrix-factorisation step (large embedding tables, little arithmetic).
//
// The step takes lr and beta1 as host numbers, or from a DeviceSchedule: the whole schedule in
// device memory and a step counter there, which the update advances itself. A CUDA graph can hold
// the latter (src/train/trainer.cpp captures it with the forward and backward).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "mlrec/ops/scheduled_adamw.h"
#include "mlrec/train/schedule.h"

namespace mlrec::train {

/// A schedule's lr and beta1 for every optimizer step of a run, in device memory, and the count
/// of steps taken so far, also there. The count is a float32, as ATen keeps step counts: exact up
/// to kMaxSteps, which the constructor checks.
class DeviceSchedule {
 public:
  static constexpr int64_t kMaxSteps = int64_t(1) << 24;

  DeviceSchedule(const Schedule& schedule, int64_t total_steps, const torch::Device& device);
  /// Makes `step` (0-based) the next step, as after `step` steps taken (a resumed run).
  void seek(int64_t step);
  /// The count of steps taken, read from the device: it waits for the device (for checks).
  int64_t steps_taken() const;
  int64_t total_steps() const { return settings_.size(0); }

  const torch::Tensor& settings() const { return settings_; }  // [total_steps, 2] float32: lr, beta1
  torch::Tensor& steps_taken_tensor() { return steps_taken_; }

 private:
  torch::Tensor settings_, steps_taken_;
};

/// Decoupled weight decay Adam (Loshchilov & Hutter), the same update as torch.optim.AdamW.
/// lr and beta1 are given per step, as the OneCycle schedule changes both.
class FusedAdamW {
 public:
  FusedAdamW(std::vector<torch::Tensor> parameters, double beta2, double eps, double weight_decay);

  /// Applies one update to every parameter that has a gradient.
  void step(double lr, double beta1);
  /// The same update with the lr and beta1 of `schedule`'s next step, whose count it advances.
  void step(DeviceSchedule& schedule);
  /// Whether step(DeviceSchedule&) runs without the host (mlrec's CUDA kernel, float32 CUDA
  /// parameters), so that a CUDA graph can hold it.
  bool steps_on_device() const;
  /// Drops the gradients (set to none), so backward writes fresh ones.
  void zero_grad();

  /// The optimizer's state for a checkpoint, by name ("exp_avg/3", "exp_avg_sq/3", "step/3" for
  /// the 4th trainable parameter): the tensors themselves, not copies.
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  /// Copies `state` (as state() names it) into this optimizer's tensors.
  void load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state);

 private:
  /// The parameters that have a gradient, with their state.
  ops::AdamWTensors with_gradients() const;

  std::vector<torch::Tensor> parameters_, exp_avg_, exp_avg_sq_, steps_;
  double beta2_, eps_, weight_decay_;
};

}  // namespace mlrec::train
