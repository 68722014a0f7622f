// A training step replayed as one CUDA graph. On a GPU an eager step of the sequence model is
// ~250 small kernels whose launch cost on the host (dispatcher, autograd) exceeds their run
// time on the device; captured once, the batch gather, forward and backward are replayed with
// one launch per step. What the step function does is the trainer's choice: the optimizer's
// update too, where it reads lr and beta1 from device memory (train/adamw.h, DeviceSchedule).
//
// Graphs need static shapes and addresses: the batch's indices are copied into one static
// tensor before each replay, and the gradients the capture allocated are rewritten in place by
// every replay (they must not be dropped between steps).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <string>

namespace mlrec::train {

class CudaGraphStep {
 public:
  /// Forward and backward of one step for the samples at `index`; returns the step's loss.
  using StepFunction = std::function<at::Tensor(const at::Tensor& index)>;

  CudaGraphStep(StepFunction step, c10::Device device, int64_t batch);
  ~CudaGraphStep();

  /// Runs the step eagerly on the capture stream (the warm-up that precedes a capture: lazy
  /// initialisation such as cuBLAS workspaces must not happen inside it).
  at::Tensor warm_up(const at::Tensor& index);
  /// Whether enough warm-up steps ran for a capture (3, as torch.cuda.graph's documentation does).
  bool warmed_up() const;
  /// Captures the step. On failure (an operation that cannot be captured) returns false with
  /// the reason in `why`, having run nothing and left no capture open: the caller runs the
  /// step eagerly instead.
  bool capture(std::string* why);
  bool captured() const;
  /// Copies `index` into the static input and replays on the current stream; returns the
  /// step's loss (a static tensor, overwritten by the next replay).
  at::Tensor replay(const at::Tensor& index);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mlrec::train
