// The same configuration trained over several seeds, to tell a difference from seed noise.
#pragma once

#include <cstdint>
#include <vector>

#include "mlrec/config/config.h"
#include "mlrec/distributed/process_group.h"

namespace mlrec::train {

/// Trains `config` once per seed, into output.dir/seed-<seed>, on all ranks of the group
/// together, then (rank 0) writes output.dir/seeds.json and prints the mean and standard
/// deviation (sample, n - 1) of every validation and test metric over the seeds.
void run_seeds(const config::Config& config, dist::ProcessGroup& group, const std::vector<int64_t>& seeds);

}  // namespace mlrec::train
