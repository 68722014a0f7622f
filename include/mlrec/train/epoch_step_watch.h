// Times training steps within an epoch, for rates shown while training (progress lines, bench
// windows). Torch-free, so that it is tested without a trainer.
#pragma once

#include <cstdint>

#include "mlrec/common/timer.h"

namespace mlrec::train {

/// Times the steps of an epoch from the end of the first one this process runs in it: the
/// epoch's first step, or the step a resumed run began at. One-off warm-up (the epoch's
/// permutation, the first gather) is left out, and the steps a resumed run skipped are never
/// counted as run.
class EpochStepWatch {
 public:
  /// At the end of `step` of `epoch`. Returns true where it (re)starts the watch: the first step
  /// seen in an epoch (or an epoch's step 0); there is nothing to time yet.
  bool starts_at(int epoch, int64_t step) {
    if (epoch == epoch_ && step != 0) return false;
    epoch_ = epoch;
    restart(step);
    return true;
  }
  /// Starts a new interval at the end of `step` (a timing window's end).
  void restart(int64_t step) {
    first_step_ = step;
    watch_.restart();
  }
  /// The steps run since the watch started, at the end of `step`.
  int64_t steps_timed(int64_t step) const { return step - first_step_; }
  double seconds() const { return watch_.seconds(); }

 private:
  int epoch_ = -1;  // no epoch seen yet (a new fit starts over)
  int64_t first_step_ = 0;
  Stopwatch watch_;
};

}  // namespace mlrec::train
