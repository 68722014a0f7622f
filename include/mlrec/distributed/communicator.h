// The collective operations the trainer needs, behind one small interface. The trainer, the
// gradient synchroniser and the metrics code talk only to this; the backends (one process, MPI
// for CPU tensors, NCCL for GPU tensors) plug in behind it without changes above.
//
// Contract shared by every backend: every rank issues the same collectives in the same order
// with tensors of the same shape and dtype. Each collective carries a short label ("grad bucket
// 3/7", "metrics") that, with the trainer's current epoch and step, names it in timeout reports.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace at {
class Tensor;
}

namespace mlrec::dist {

/// A collective in flight. wait() returns once its result may be used: on the host for CPU
/// tensors; for GPU tensors, once work queued afterwards on the caller's current stream is
/// ordered after it (the host need not block).
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  /// "local" (one process), "mpi" or "nccl": shown in logs and summary.json.
  virtual std::string backend() const = 0;

  /// Sums `tensor` element-wise across ranks, in place.
  virtual void all_reduce_sum(at::Tensor& tensor, const char* label = "all_reduce") = 0;
  /// Starts an in-place sum and returns at once. `tensor` must stay alive and untouched until
  /// the returned Work's wait() has returned.
  virtual std::shared_ptr<Work> all_reduce_sum_async(const at::Tensor& tensor, const char* label) = 0;
  /// Every rank's `input` side by side in `output` (contiguous, world_size x input.numel()
  /// elements, rank r's at r x input.numel()), on every rank. Same dtype and device.
  virtual void all_gather(const at::Tensor& input, at::Tensor& output, const char* label = "all_gather") = 0;
  /// Copies `tensor` from rank `root` to every rank, in place.
  virtual void broadcast(at::Tensor& tensor, int root, const char* label = "broadcast") = 0;
  /// Returns when every rank has called it.
  virtual void barrier(const char* label = "barrier") = 0;
  /// Puts the work queued so far on the caller's current GPU stream under the collectives'
  /// timeout, as one collective named `label`: a replayed CUDA graph whose collectives were
  /// captured (and so are not watched one by one). A no-op for backends without GPU streams.
  virtual void watch_current_stream(const char* /*label*/) {}
  /// The communicator for CPU tensors: this one, or (NCCL) the MPI one it was built on. Small
  /// control messages (stop signals, agreement checks, checkpoint bytes) go there, so that they
  /// never synchronise a GPU stream.
  virtual Communicator& host() { return *this; }

  /// Where training stands, for timeout reports (the trainer updates it every step). A backend
  /// with a host communicator of its own (NCCL) passes it on: the stop signal's agreement and
  /// the CPU tensors' collectives go there.
  virtual void set_progress(int epoch, int64_t step) {
    epoch_ = epoch;
    step_ = step;
  }
  bool is_root() const { return rank() == 0; }

 protected:
  int epoch_ = 0;
  int64_t step_ = -1;
};

/// Throws std::invalid_argument unless `output` can hold world_size x `input` (all_gather's
/// contract), for the backends.
void check_gather_shapes(const at::Tensor& input, const at::Tensor& output, int world_size);

/// The single-process communicator: collectives are identities.
std::unique_ptr<Communicator> make_local_communicator();

}  // namespace mlrec::dist
