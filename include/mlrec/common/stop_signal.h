// Stop requests from outside the process: SIGTERM (Slurm at a time limit or preemption, scancel,
// Kubernetes, mpirun on SIGTERM or SIGINT), SIGINT (Ctrl-C) and SIGUSR1 (sbatch --signal, and
// forwarded by mpirun as it is). The handler only records the signal; the trainer acts on it at
// the next step boundary, where the ranks agree on it, so that one rank's signal stops all of
// them at the same step (train/checkpointing.h). A second SIGINT or SIGTERM ends the process at
// once, for a user who does not want to wait for the checkpoint.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

namespace mlrec {

/// Installs the handlers for SIGTERM, SIGINT and SIGUSR1 (idempotent).
void install_stop_signal_handlers();
/// The first stop signal received since installation (or the last reset), 0 for none.
int stop_signal_received();
/// Forgets a received signal (tests, and a sweep that goes on after a stopped trial).
void reset_stop_signal();
/// "SIGTERM", "SIGUSR1", ...
std::string signal_name(int signal);

/// Fault injection for tests, through the real signal path: with MLREC_TEST_SIGNAL set to
/// "TERM@train:E:S" (or INT, USR1; ":R" appended for rank R only, default every rank) the
/// process raises the signal on itself just before step S (1-based) of epoch E; with
/// "TERM@eval:E" at the start of epoch E's evaluation. Tests stop a run at an exact step this
/// way; unset (always, outside tests), it costs one branch.
void raise_test_signal_at(const char* phase, int epoch, int64_t step, int rank);

/// The exit status of a run stopped by `signal` after its checkpoint was written: 128 + the
/// signal's number, as a shell reports a process that the signal ended (143 for SIGTERM, 130 for
/// SIGINT, 138 for SIGUSR1), so that a scheduler treats it as terminated rather than finished.
inline int stopped_exit_code(int signal) { return 128 + signal; }

/// Thrown on every rank alike once a stop signal has been agreed on and the checkpoint written.
class StopRequested : public std::exception {
 public:
  StopRequested(int signal, std::string checkpoint)
      : signal_(signal), checkpoint_(std::move(checkpoint)),
        message_("stopped by " + signal_name(signal_)) {}
  int signal() const { return signal_; }
  /// The checkpoint written on the stop ("" when checkpoint.keep is 0).
  const std::string& checkpoint() const { return checkpoint_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  int signal_;
  std::string checkpoint_, message_;
};

}  // namespace mlrec
