// Data-parallel gradient averaging, what DDP does in Python (LibTorch has none).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <vector>

#include "mlrec/distributed/communicator.h"

namespace mlrec::dist {

/// Averages gradients across ranks in buckets, overlapping communication with the backward pass.
///
/// Parameters are packed, in reverse registration order (roughly the order in which backward
/// produces their gradients), into flat buckets of about `bucket_bytes`. An autograd hook on
/// each parameter copies its gradient into its bucket; when a bucket's last gradient has
/// arrived, its all-reduce starts at once while backward goes on. Buckets start strictly in
/// index order, so every rank issues the same collectives in the same order. finish() waits for
/// them, divides by the world size and writes the averages into the parameters' .grad.
///
/// Gradient accumulation: with k micro-batches per optimizer step, the hooks add each
/// micro-batch's gradients into the buckets and only the last micro-batch starts the
/// all-reduces (begin_micro_batch(last=true)): one synchronisation per optimizer step.
///
/// Works for any module: it sees only its parameters and their gradients.
///
/// SyncPoint::kAfterBackward registers no hooks: finish() packs the parameters' .grad into the
/// buckets and reduces them all then. That is for a training step replayed as a CUDA graph with
/// a communicator whose collectives cannot be captured (MPI staging GPU tensors through host
/// memory): the graph computes the gradients, the all-reduces follow its replay. It gives the
/// same averages, without the overlap.
enum class SyncPoint { kDuringBackward, kAfterBackward };

class GradientSynchronizer {
 public:
  GradientSynchronizer(const std::vector<torch::Tensor>& parameters, Communicator& comm, int64_t bucket_bytes,
                       SyncPoint sync_point = SyncPoint::kDuringBackward);
  ~GradientSynchronizer();
  GradientSynchronizer(const GradientSynchronizer&) = delete;
  GradientSynchronizer& operator=(const GradientSynchronizer&) = delete;

  /// Call before each micro-batch's backward; `first` resets the buckets, `last` lets the
  /// hooks start the all-reduces. (kAfterBackward: nothing to do; .grad sums the micro-batches.)
  void begin_micro_batch(bool first, bool last);
  /// After the last micro-batch's backward: starts any bucket not yet started (parameters
  /// without a gradient this step count as zero), waits for all, and sets every .grad to the
  /// average across ranks. Returns the seconds spent waiting for communication.
  double finish();
  SyncPoint sync_point() const { return sync_point_; }

  size_t bucket_count() const { return buckets_.size(); }
  /// Bytes this rank puts into all-reduces per step: every bucket, each step.
  int64_t bytes_per_step() const;
  /// Parameter indices per bucket, in bucket order (for tests and logs).
  std::vector<std::vector<size_t>> bucket_layout() const;

 private:
  struct Slot {
    size_t bucket = 0;
    int64_t offset = 0, numel = 0;
    bool received = false;
  };
  struct Bucket {
    torch::Tensor buffer;             // flat, one dtype, on the parameters' device
    std::vector<size_t> parameters;
    size_t pending = 0;               // gradients still to come this step
    std::shared_ptr<Work> work;       // the all-reduce in flight
    std::string label;
  };
  void on_gradient(size_t index, const torch::Tensor& grad);
  void launch_ready_buckets();        // in index order, as far as they are ready
  void launch(size_t bucket);
  void pack_gradients();             // kAfterBackward: every .grad into its bucket

  std::vector<torch::Tensor> parameters_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hooks_;
  Communicator& comm_;
  SyncPoint sync_point_;
  std::mutex mutex_;
  size_t next_to_launch_ = 0;
  bool accumulate_ = false, sync_now_ = false;
};

}  // namespace mlrec::dist
