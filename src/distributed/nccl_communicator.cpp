// The NCCL backend: collectives on GPU tensors, on a dedicated CUDA stream, with the unique id
// broadcast over MPI. The host never blocks on a collective: Work::wait() orders the caller's
// stream after it. A watchdog thread watches every collective in flight and, past
// dist.timeout_seconds, reports over MPI which ranks did not arrive and ends the job.
//
// Collectives may be captured into a CUDA graph (a training step replayed with its gradient
// all-reduces): the events that fork the comm stream from the caller's and join it back are
// captured with them, so replays keep the overlap. The watchdog cannot watch a captured
// collective (its event exists only in the graph), and its event queries use the thread-local
// capture mode, so that they never invalidate a capture running on the training thread.
//
// This file compiles and links in every build (CI has no GPU); it runs only on GPU machines.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGraphsC10Utils.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "mlrec/common/logging.h"
#include "mlrec/distributed/process_group.h"
#include "mpi_communicator.h"

namespace mlrec::dist {
namespace {

void check_nccl(ncclResult_t result, const char* what) {
  if (result != ncclSuccess && result != ncclInProgress) {
    throw std::runtime_error(std::string("NCCL ") + what + " failed: " + ncclGetErrorString(result));
  }
}

void check_cuda(cudaError_t result, const char* what) {
  if (result != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA ") + what + " failed: " + cudaGetErrorString(result));
  }
}

ncclDataType_t nccl_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kLong: return ncclInt64;
    case at::kInt: return ncclInt32;
    case at::kByte:
    case at::kBool: return ncclUint8;
    case at::kChar: return ncclInt8;
    default: throw std::invalid_argument(std::string("NCCL cannot reduce dtype ") + at::toString(type));
  }
}

class StreamWork final : public Work {
 public:
  StreamWork(std::shared_ptr<at::cuda::CUDAEvent> done, int device) : done_(std::move(done)), device_(device) {}
  void wait() override { done_->block(c10::cuda::getCurrentCUDAStream(device_)); }

 private:
  std::shared_ptr<at::cuda::CUDAEvent> done_;
  int device_;
};

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<Communicator> bootstrap, int device, double timeout_seconds)
      : bootstrap_(std::move(bootstrap)), device_(device), timeout_seconds_(timeout_seconds),
        stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, static_cast<c10::DeviceIndex>(device))) {
    rank_ = bootstrap_->rank();
    size_ = bootstrap_->world_size();
    ncclUniqueId id;
    if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    if (size_ > 1) {
      auto* mpi = dynamic_cast<MpiCommunicator*>(bootstrap_.get());
      if (!mpi) throw std::logic_error("NCCL with several ranks needs MPI to bootstrap");
      mpi->broadcast_bytes(&id, sizeof id, 0, "nccl unique id");
    }
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
    watchdog_ = std::thread([this] { watch(); });
  }

  ~NcclCommunicator() override {
    stopping_ = true;
    if (watchdog_.joinable()) watchdog_.join();
    if (comm_) ncclCommDestroy(comm_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  std::string backend() const override { return "nccl"; }

  // Tensors in host memory (the tables of the models fitted on the CPU, item_knn and bayes_svdpp,
  // which stay there on a GPU run) go over the host communicator: NCCL reduces device memory
  // only. As torch's "cpu:gloo,cuda:nccl" groups do. Every rank issues the same collectives in
  // the same order, so the two never interleave differently across ranks.
  std::shared_ptr<Work> all_reduce_sum_async(const at::Tensor& tensor, const char* label) override {
    if (tensor.device().is_cpu()) return bootstrap_->all_reduce_sum_async(tensor, label);
    return launch(tensor, label, [&](void* data, size_t count, ncclDataType_t type) {
      check_nccl(ncclAllReduce(data, data, count, type, ncclSum, comm_, stream_.stream()), "ncclAllReduce");
    });
  }

  void all_reduce_sum(at::Tensor& tensor, const char* label) override {
    all_reduce_sum_async(tensor, label)->wait();
  }

  void all_gather(const at::Tensor& input, at::Tensor& output, const char* label) override {
    if (input.device().is_cpu() && output.device().is_cpu()) return bootstrap_->all_gather(input, output, label);
    check_gather_shapes(input, output, size_);
    if (!input.is_contiguous()) throw std::invalid_argument("NCCL collectives need contiguous tensors");
    launch(output, label, [&](void* data, size_t, ncclDataType_t type) {
      check_nccl(ncclAllGather(input.data_ptr(), data, static_cast<size_t>(input.numel()), type, comm_, stream_.stream()),
                 "ncclAllGather");
      c10::cuda::CUDACachingAllocator::recordStream(input.storage().data_ptr(), stream_);
    })->wait();
  }

  void broadcast(at::Tensor& tensor, int root, const char* label) override {
    if (tensor.device().is_cpu()) return bootstrap_->broadcast(tensor, root, label);
    launch(tensor, label, [&](void* data, size_t count, ncclDataType_t type) {
      check_nccl(ncclBroadcast(data, data, count, type, root, comm_, stream_.stream()), "ncclBroadcast");
    })->wait();
  }

  Communicator& host() override { return *bootstrap_; }
  void set_progress(int epoch, int64_t step) override {
    Communicator::set_progress(epoch, step);
    bootstrap_->set_progress(epoch, step);
  }
  void barrier(const char* label) override {
    auto token = at::zeros({1}, at::TensorOptions().dtype(at::kFloat).device(at::kCUDA, device_));
    all_reduce_sum(token, label);
    check_cuda(cudaStreamSynchronize(c10::cuda::getCurrentCUDAStream(device_).stream()), "barrier sync");
  }

  void watch_current_stream(const char* label) override {
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    auto done = std::make_shared<at::cuda::CUDAEvent>();
    done->record(c10::cuda::getCurrentCUDAStream(device_));
    add_to_watch(std::move(done), label);
  }

 private:
  struct InFlight {
    std::shared_ptr<at::cuda::CUDAEvent> done;
    std::chrono::steady_clock::time_point start;
    std::string label;
    MpiCommunicator::Position position;
  };

  template <typename Op>
  std::shared_ptr<Work> launch(const at::Tensor& tensor, const char* label, Op op) {
    if (!tensor.is_cuda() || tensor.get_device() != device_) {
      throw std::invalid_argument("the NCCL communicator works on tensors of cuda:" + std::to_string(device_));
    }
    if (!tensor.is_contiguous()) throw std::invalid_argument("NCCL collectives need contiguous tensors");
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    // The collective runs on its own stream, after what the caller's stream has queued so far.
    auto current = c10::cuda::getCurrentCUDAStream(device_);
    at::cuda::CUDAEvent ready;
    ready.record(current);
    ready.block(stream_);
    op(tensor.data_ptr(), static_cast<size_t>(tensor.numel()), nccl_type(tensor.scalar_type()));
    // The allocator must not reuse this memory before the comm stream is done with it.
    c10::cuda::CUDACachingAllocator::recordStream(tensor.storage().data_ptr(), stream_);
    auto done = std::make_shared<at::cuda::CUDAEvent>();
    done->record(stream_);
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    check_cuda(cudaStreamIsCapturing(current.stream(), &capture), "cudaStreamIsCapturing");
    if (capture == cudaStreamCaptureStatusNone) add_to_watch(done, label);
    return std::make_shared<StreamWork>(done, device_);
  }

  void add_to_watch(std::shared_ptr<at::cuda::CUDAEvent> done, const char* label) {
    std::lock_guard<std::mutex> lock(mutex_);
    const MpiCommunicator::Position position{++sequence_, epoch_, step_, MpiCommunicator::Position::kNccl};
    in_flight_.push_back(
        {std::move(done), std::chrono::steady_clock::now(), MpiCommunicator::describe(label, position), position});
  }

  // Watches the collectives in flight (and replayed graphs holding some); past the timeout,
  // finds the missing ranks over MPI and ends the job (MPI_Abort tears NCCL down with the
  // processes).
  void watch() {
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    c10::cuda::CUDAStreamCaptureModeGuard relaxed(cudaStreamCaptureModeThreadLocal);
    while (!stopping_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      InFlight oldest;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        while (!in_flight_.empty() && in_flight_.front().done->query()) in_flight_.pop_front();
        if (in_flight_.empty()) continue;
        oldest = in_flight_.front();
      }
      ncclResult_t async_error = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async_error);
      if (async_error != ncclSuccess && async_error != ncclInProgress) {
        log_error(std::string("NCCL error during ") + oldest.label + ": " + ncclGetErrorString(async_error));
        abort_job(1);
      }
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - oldest.start).count();
      if (waited > timeout_seconds_) {
        if (auto* mpi = dynamic_cast<MpiCommunicator*>(bootstrap_.get())) {
          mpi->report_stall_and_abort("all_reduce/broadcast " + oldest.label, oldest.position, waited);
        }
        log_error("NCCL collective " + oldest.label + " timed out");
        abort_job(1);
      }
    }
  }

  std::unique_ptr<Communicator> bootstrap_;
  int device_;
  double timeout_seconds_;
  c10::cuda::CUDAStream stream_;
  ncclComm_t comm_ = nullptr;
  int rank_ = 0, size_ = 1;
  int64_t sequence_ = 0;
  std::mutex mutex_;
  std::deque<InFlight> in_flight_;
  std::atomic<bool> stopping_{false};
  std::thread watchdog_;
};

}  // namespace

void use_nccl(ProcessGroup& group, int device_index, double timeout_seconds) {
  group.comm = std::make_unique<NcclCommunicator>(std::move(group.comm), device_index, timeout_seconds);
}

}  // namespace mlrec::dist
