// Traces of a few training steps (profile.*): torch's own profiler (Kineto), the one
// torch.profiler drives from Python, so that a trace of mlrec reads as a trace of a PyTorch
// program does: in Perfetto, chrome://tracing, TensorBoard's profiler plugin or Holistic Trace
// Analysis. Every rank writes its own trace (a straggler shows in its rank's file).
//
// What a trace holds: every ATen op and mlrec op ("mlrec::linear", ...) with its time (and its
// input shapes with profile.shapes); each training step as "ProfilerStep#<step>", the name
// torch.profiler gives steps, which those viewers split a trace by; and on a GPU every kernel,
// memset and copy, linked to the CUDA call that launched it. A step replayed from a CUDA graph is
// one cudaGraphLaunch whose kernels still appear one by one; the eager steps before the capture
// (profile.skip_steps: 0) show which op launched which kernel. bench/trace_summary.py tables a
// trace by op and by kernel.
#pragma once

#include <memory>
#include <string>

#include "mlrec/config/config.h"
#include "mlrec/train/trainer.h"

namespace mlrec::train {

class StepProfiler : public Callback {
 public:
  /// Records options.steps steps after options.skip_steps into dir/trace.rank<rank>.json
  /// (dir is created when the trace is written). options.steps must be positive.
  StepProfiler(const config::Config::Profile& options, std::string dir);
  /// Ends a recording still open (a run that failed): nothing is written.
  ~StepProfiler() override;

  void on_train_begin(Trainer& trainer) override;
  void on_step_end(Trainer& trainer, int64_t step_in_epoch, const torch::Tensor& loss) override;
  /// A run that ended before the last step to record (early stopping, a stop signal) writes
  /// what was recorded, and says so.
  void on_train_end(Trainer& trainer) override;

  /// The trace's path once written ("" before).
  const std::string& written() const { return written_; }

 private:
  void start(Trainer& trainer);
  void finish(Trainer& trainer);

  config::Config::Profile options_;
  std::string dir_;
  std::string written_;
  int64_t steps_taken_ = 0;    // by this process since on_train_begin
  int64_t recorded_ = 0;
  bool recording_ = false;
  bool done_ = false;
};

}  // namespace mlrec::train
