// AdamW on CUDA with lr and beta1 read from device memory (src/ops/scheduled_adamw.cpp); internal.
#pragma once

#include <ATen/core/Tensor.h>

namespace mlrec::ops::detail {

/// ATen's fused AdamW update of every tensor of `params` (float32, contiguous, CUDA), with lr and
/// beta1 taken from row steps_taken - 1 of `settings` ([steps, 2] float32: lr, beta1) instead of
/// host numbers. `steps` (each tensor's step count) and `steps_taken` must already count this
/// step: the caller advances them first, in one launch.
void scheduled_adamw_cuda_(at::TensorList params, at::TensorList grads, at::TensorList exp_avgs,
                           at::TensorList exp_avg_sqs, at::TensorList steps, const at::Tensor& settings,
                           const at::Tensor& steps_taken, double beta2, double eps, double weight_decay);

}  // namespace mlrec::ops::detail
