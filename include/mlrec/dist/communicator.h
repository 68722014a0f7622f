// The collective operations the trainer needs, behind one small interface. The trainer and the
// metrics code talk only to this; backends (this world-size-1 one now; MPI for CPU tensors and
// NCCL for GPU tensors with the multi-rank work) plug in behind it without changes above.
#pragma once

#include <memory>
#include <string>

namespace at {
class Tensor;
}

namespace mlrec::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  /// "local" (one process), later "mpi" or "nccl": shown in logs and summary.json.
  virtual std::string backend() const = 0;

  /// Sums `tensor` element-wise across ranks, in place. Every rank must call it with a tensor
  /// of the same shape and dtype, in the same order.
  virtual void all_reduce_sum(at::Tensor& tensor) = 0;
  /// Copies `tensor` from rank `root` to every rank, in place.
  virtual void broadcast(at::Tensor& tensor, int root) = 0;
  /// Returns when every rank has called it.
  virtual void barrier() = 0;

  bool is_root() const { return rank() == 0; }
};

/// The single-process communicator: collectives are identities.
std::unique_ptr<Communicator> make_local_communicator();

}  // namespace mlrec::dist
