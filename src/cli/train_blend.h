// A blend as one configuration (blend.members; configs/best.yaml): the members trained and blended
// by one command, as `mlrec_dist --config configs/best.yaml --seeds 42,1,2`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mlrec/config/config.h"
#include "mlrec/distributed/process_group.h"

namespace mlrec::cli {

/// The members of a blend configuration, trained with `seed`: each file of blend.members loaded
/// with `overrides` (the command's --set, less blend.* keys), its data section replaced by the
/// blend's (one split for all), its output.dir `dir`/<file name without extension>, train.seed
/// `seed`; a member trained by gradient comes blend.member_seeds times, copy k >= 1 into
/// `dir`/<name>-<k> with seed `seed` + k * 1000000. ConfigError (blend.members) for a missing
/// file, two members of the same name, or a member that is itself a blend.
std::vector<config::Config> blend_members(const config::Config& blend, const std::vector<std::string>& overrides,
                                          const std::string& dir, int64_t seed);

/// Trains every member (on all ranks of the group; a finished member is not trained again), then,
/// on rank 0, fits their blend (serve/serve.h: blend) into output.dir/blend.json. With `seeds`, once
/// per seed into output.dir/seed-<seed>/, every member with that seed, then the blend's mean and
/// standard deviation over the seeds into output.dir/seeds.json (train/seeds.h).
void train_blend(const config::Config& config, const std::vector<std::string>& overrides, dist::ProcessGroup& group,
                 const std::vector<int64_t>& seeds);

}  // namespace mlrec::cli
