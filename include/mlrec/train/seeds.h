// The same configuration trained over several seeds, to tell a difference from seed noise.
#pragma once

#include <cstdint>
#include <vector>

#include "mlrec/config/config.h"
#include "mlrec/distributed/process_group.h"
#include "mlrec/train/metrics.h"

namespace mlrec::train {

/// Trains `config` once per seed, into output.dir/seed-<seed>, on all ranks of the group
/// together, then (rank 0) writes output.dir/seeds.json and prints the mean and standard
/// deviation (sample, n - 1) of every validation and test metric over the seeds.
void run_seeds(const config::Config& config, dist::ProcessGroup& group, const std::vector<int64_t>& seeds);

/// One seed's outcome: its selected model's validation metrics, and test's (count 0 without a test set).
struct SeedResult {
  int64_t seed = 0;
  Metrics valid, test;
  int best_epoch = 0;  // 0: not trained by epochs (a blend)
};

/// Prints the mean and standard deviation over the seeds and (where `write`) writes them, with
/// each seed's figures, to dir/seeds.json, labelled with `model`.
void summarize_seeds(const std::string& dir, const std::string& model, const std::vector<SeedResult>& results,
                     bool write);

}  // namespace mlrec::train
