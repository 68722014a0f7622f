// Runs made of several training runs: the same configuration over several seeds, and sweeps
// over configurations spread across ranks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mlrec/config/config.h"
#include "mlrec/config/sweep.h"
#include "mlrec/dist/process_group.h"

namespace mlrec::train {

/// Trains `config` once per seed, into output.dir/seed-<seed>, on all ranks of the group
/// together, then (rank 0) writes output.dir/seeds.json and prints the mean and standard
/// deviation (sample, n - 1) of every validation and test metric over the seeds.
void run_seeds(const config::Config& config, dist::ProcessGroup& group, const std::vector<int64_t>& seeds);

/// Runs the sweep's trials, trial i on rank i mod N, each a normal one-rank training run in
/// output/trial-NNN (so models too small to gain from data parallelism use every rank). A trial
/// that fails is recorded (output/trial-NNN/failed.txt) and the rank goes on. At the end rank 0
/// writes output/results.md and results.json (trials ranked by validation MAE) and
/// output/best.yaml (the best trial's resolved configuration).
void run_sweep(const config::SweepSpec& spec, const std::vector<std::string>& extra_overrides,
               dist::ProcessGroup& group);

}  // namespace mlrec::train
