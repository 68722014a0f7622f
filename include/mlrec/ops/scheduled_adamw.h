// AdamW whose lr and beta1 come from device memory: a table of the whole schedule and a step
// counter on the device, advanced by the update itself. Nothing in a step then changes on the
// host, so a CUDA graph can hold the optimizer with the forward and backward (train/adamw.h).
#pragma once

#include <torch/types.h>

#include <vector>

namespace mlrec::ops {

/// The tensors of one AdamW update, index for index; every tensor of `params` has its gradient.
struct AdamWTensors {
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
};

/// Whether scheduled_adamw_ runs without the host for these parameters (a CUDA kernel of
/// mlrec's: CUDA, float32, contiguous), i.e. may be captured into a CUDA graph.
bool scheduled_adamw_on_device(const std::vector<torch::Tensor>& params);

/// Adds one to every step count and to `steps_taken` (a float32 scalar), then applies AdamW
/// (torch.optim.AdamW's update; ATen's fused kernel's arithmetic) with the lr and beta1 of row
/// steps_taken - 1 of `settings` ([steps, 2] float32: lr, beta1). Where scheduled_adamw_on_device
/// is false the row is read on the host and ATen's fused AdamW applies it, with the same result.
void scheduled_adamw_(AdamWTensors& tensors, const torch::Tensor& settings, torch::Tensor& steps_taken, double beta2,
                      double eps, double weight_decay);

}  // namespace mlrec::ops
