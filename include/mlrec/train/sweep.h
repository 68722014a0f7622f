// A sweep's trials, spread over the ranks (its report: report/sweep_report.h).
#pragma once

#include <string>
#include <vector>

#include "mlrec/config/sweep.h"
#include "mlrec/distributed/process_group.h"

namespace mlrec::train {

/// Runs the sweep's trials, trial i on rank i mod N, each a normal one-rank training run in
/// spec.trial_dir(i) (so models too small to gain from data parallelism use every rank). A
/// trial that fails is recorded (trial-NNN/failed.txt) and the rank goes on. Returns once every
/// rank has finished its trials.
///
/// Run again after an interruption, a sweep continues: finished trials are read back, the
/// interrupted one resumes from its checkpoint (checkpoint.resume=auto), and failed trials stay
/// failed unless `retry_failed`. A stop signal ends the trial in progress with a checkpoint and
/// propagates (StopRequested).
///
/// `only` (when not empty) runs just those trials, spread over the ranks in the same way: a Slurm
/// job array runs one trial per array task (launch/sweep.sbatch).
void run_sweep_trials(const config::SweepSpec& spec, const std::vector<std::string>& extra_overrides,
                      dist::ProcessGroup& group, bool retry_failed = false, const std::vector<size_t>& only = {});

}  // namespace mlrec::train
