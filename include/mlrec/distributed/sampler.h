// Which samples each rank trains on, step by step.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mlrec::dist {

/// Cuts a per-epoch global permutation into per-rank shards. The permutation is derived from
/// (seed, epoch) inside the sampler, so shuffles differ between epochs with no set_epoch call
/// to forget, and every rank computes the same one without communicating.
///
/// Step s of an epoch uses global positions [s * B, (s + 1) * B) of the permutation (B = the
/// global batch); rank r takes the r-th of N equal slices of that window. Every rank therefore
/// runs exactly steps_per_epoch() steps of global_batch / N samples: the last partial global
/// batch is dropped (a different remainder each epoch, since the permutation changes).
class DistributedSampler {
 public:
  /// Throws ConfigError (train.batch_size) when the global batch doesn't divide by the world
  /// size or exceeds the dataset. max_steps_per_epoch > 0 caps the steps.
  DistributedSampler(int64_t dataset_size, int64_t global_batch, int rank, int world_size,
                     uint64_t seed, int64_t max_steps_per_epoch = 0);

  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  int64_t local_batch() const { return global_batch_ / world_size_; }
  int64_t global_batch() const { return global_batch_; }
  /// This rank's sample indices for `epoch` (1-based), int64 [steps_per_epoch * local_batch]
  /// on the CPU, in step order: step s uses elements [s * local_batch, (s + 1) * local_batch).
  at::Tensor epoch_indices(int epoch) const;

 private:
  int64_t dataset_size_, global_batch_;
  int rank_, world_size_;
  uint64_t seed_;
  int64_t steps_per_epoch_;
};

/// The contiguous slice [begin, end) of n evaluation samples scored by `rank`: the slices of
/// all ranks cover every sample exactly once (sizes differ by at most one).
struct Shard {
  int64_t begin = 0, end = 0;
};
Shard evaluation_shard(int64_t n, int rank, int world_size);

}  // namespace mlrec::dist
