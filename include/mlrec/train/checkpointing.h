// Training-state checkpoints and stop signals, as one callback (README, "Checkpoints and
// resuming"). When:
//   - every checkpoint.every_steps optimizer steps and every checkpoint.every_minutes minutes
//     (rank 0's clock decides, the ranks agree),
//   - at the end of each epoch (after its evaluation and the other callbacks),
//   - on a stop signal (common/stop_signal.h): the ranks agree on it at a step boundary (one
//     rank: the next; several: the one after, so that no step waits for the agreement; or at the
//     epoch's end when it arrived during evaluation or the epoch's last steps), every rank stops
//     at the same step, rank 0 writes the checkpoint, and fit() returns; run_training then ends
//     every rank with StopRequested.
// Capturing the state is a collective on the training thread (CPU copies of every tensor); rank 0
// then serialises and writes it on a background thread while training goes on, one write at a
// time, so a checkpoint costs the training loop about one copy of its state.
#pragma once

#include <future>
#include <memory>
#include <optional>
#include <string>

#include "mlrec/common/timer.h"
#include "mlrec/config/config.h"
#include "mlrec/train/checkpoint_store.h"
#include "mlrec/train/run_identity.h"
#include "mlrec/train/trainer.h"

namespace mlrec::train {

class CheckpointCallback : public Callback {
 public:
  /// `identity` is recorded in every checkpoint and checked when one is resumed.
  CheckpointCallback(const config::Config::Checkpoint& options, const std::string& run_dir, RunIdentity identity);
  ~CheckpointCallback() override;

  void on_train_begin(Trainer& trainer) override;
  void on_step_end(Trainer& trainer, int64_t step, const torch::Tensor& loss) override;
  void on_epoch_end(Trainer& trainer, const EpochResult& result) override;
  void on_train_end(Trainer& trainer) override;

  /// The signal that stopped training (0 when none did).
  int stopped_by() const { return stopped_by_; }
  /// The newest checkpoint written by this run ("" before the first).
  const std::string& last_checkpoint() const { return last_checkpoint_; }

 private:
  enum Reason { kSteps, kTime, kEpochEnd, kSignal };
  static const char* reason_text(Reason reason);  // recorded in checkpoint.json
  /// The ranks' agreed stop signal (0 for none) and whether rank 0's timer says a checkpoint
  /// is due: one small all-reduce over the host communicator (none for one rank).
  std::pair<int, bool> agree(Trainer& trainer, bool time_matters);
  /// The same in two halves, for the steps: after step t each rank starts the sum of its flags
  /// without waiting, and after step t + 1 reads it. No step then waits for the other ranks'
  /// flags (a small host all-reduce took ~0.16 ms on a 2-core CPU: an MF step on a GPU is
  /// shorter), and every rank acts on the same sum at the same step: a signal is acted on one
  /// step later than at one rank.
  void start_agreement(Trainer& trainer, bool time_matters);
  /// Whether rank 0's timer says a checkpoint is due (false on the other ranks).
  bool time_due(const dist::Communicator& comm) const;
  /// The sum started last ({0, false} when none is in flight).
  std::pair<int, bool> finish_agreement();
  void save(Trainer& trainer, Reason reason);
  void stop(Trainer& trainer, int signal);
  /// Waits for the write in flight (rethrowing its error) and logs it.
  void finish_write();

  config::Config::Checkpoint options_;
  CheckpointStore store_;
  RunIdentity identity_;
  Stopwatch since_last_;
  std::future<std::string> pending_;
  struct Agreement {
    torch::Tensor flags;  // a slot per rank for its signal, and rank 0's timer in the last
    std::shared_ptr<dist::Work> sum;
  };
  std::optional<Agreement> agreement_;  // started after the previous step
  std::string last_checkpoint_;
  int stopped_by_ = 0;
};

}  // namespace mlrec::train
