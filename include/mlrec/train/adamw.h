// AdamW as one fused kernel per step (ATen's _fused_adamw_, on the CPU and on CUDA): one pass
// over each parameter's memory instead of the ~8 of the op-by-op implementation, which is what
// bounds a matrix-factorisation step (large embedding tables, little arithmetic).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace mlrec::train {

/// Decoupled weight decay Adam (Loshchilov & Hutter), the same update as torch.optim.AdamW.
/// lr and beta1 are given per step, as the OneCycle schedule changes both.
class FusedAdamW {
 public:
  FusedAdamW(std::vector<torch::Tensor> parameters, double beta2, double eps, double weight_decay);

  /// Applies one update to every parameter that has a gradient.
  void step(double lr, double beta1);
  /// Drops the gradients (set to none), so backward writes fresh ones.
  void zero_grad();

  /// The optimizer's state for a checkpoint, by name ("exp_avg/3", "exp_avg_sq/3", "step/3" for
  /// the 4th trainable parameter): the tensors themselves, not copies.
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  /// Copies `state` (as state() names it) into this optimizer's tensors.
  void load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state);

 private:
  std::vector<torch::Tensor> parameters_, exp_avg_, exp_avg_sq_, steps_;
  double beta2_, eps_, weight_decay_;
};

}  // namespace mlrec::train
