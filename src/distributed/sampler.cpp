#include "mlrec/distributed/sampler.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "mlrec/common/error.h"

namespace mlrec::dist {
namespace {

// splitmix64: decorrelates the per-epoch seeds derived from one user seed.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

DistributedSampler::DistributedSampler(int64_t dataset_size, int64_t global_batch, int rank,
                                       int world_size, uint64_t seed, int64_t max_steps_per_epoch)
    : dataset_size_(dataset_size), global_batch_(global_batch), rank_(rank),
      world_size_(world_size), seed_(seed) {
  if (global_batch % world_size != 0) {
    throw ConfigError::for_key("train.batch_size",
                               "the global batch " + std::to_string(global_batch) +
                                   " does not divide by the " + std::to_string(world_size) + " ranks");
  }
  if (global_batch > dataset_size) {
    throw ConfigError::for_key("train.batch_size",
                               "the global batch " + std::to_string(global_batch) +
                                   " exceeds the " + std::to_string(dataset_size) + " training samples");
  }
  steps_per_epoch_ = dataset_size / global_batch;
  if (max_steps_per_epoch > 0) steps_per_epoch_ = std::min(steps_per_epoch_, max_steps_per_epoch);
}

at::Tensor DistributedSampler::epoch_indices(int epoch) const {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(mix(seed_ ^ mix(uint64_t(epoch))));
  auto permutation = torch::randperm(dataset_size_, generator, torch::kInt64);
  const int64_t used = steps_per_epoch_ * global_batch_;
  // [steps, world, local] -> this rank's column, in step order
  return permutation.narrow(0, 0, used)
      .view({steps_per_epoch_, world_size_, local_batch()})
      .select(1, rank_)
      .reshape({-1})
      .contiguous();
}

Shard evaluation_shard(int64_t n, int rank, int world_size) {
  const int64_t base = n / world_size, extra = n % world_size;
  Shard shard;
  shard.begin = rank * base + std::min<int64_t>(rank, extra);
  shard.end = shard.begin + base + (rank < extra ? 1 : 0);
  return shard;
}

}  // namespace mlrec::dist
