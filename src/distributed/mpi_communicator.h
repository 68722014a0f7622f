// The MPI backend (private header): collectives on CPU tensors, run by one communication
// thread so that the training thread can go on computing while buckets are reduced.
#pragma once

#include <mpi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "mlrec/distributed/communicator.h"

namespace mlrec::dist {

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm world, double timeout_seconds);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  void all_reduce_sum(at::Tensor& tensor, const char* label) override;
  std::shared_ptr<Work> all_reduce_sum_async(const at::Tensor& tensor, const char* label) override;
  void all_gather(const at::Tensor& input, at::Tensor& output, const char* label) override;
  void broadcast(at::Tensor& tensor, int root, const char* label) override;
  void barrier(const char* label) override;

  void set_timeout(double seconds) { timeout_seconds_ = seconds; }
  double timeout() const { return timeout_seconds_; }
  /// Broadcasts raw bytes from root (the NCCL unique id travels this way).
  void broadcast_bytes(void* data, int bytes, int root, const char* label);
  /// Where one collective was issued: its number among the backend's collectives (the same on
  /// every rank) and the training position when it was issued.
  struct Position {
    static constexpr int64_t kMpi = 0, kNccl = 1;
    int64_t sequence = 0;
    int64_t epoch = 0;
    int64_t step = -1;
    int64_t backend = kMpi;  // whose collectives `sequence` counts: MPI's and NCCL's are numbered apart
  };
  /// "'LABEL' (collective #N, epoch E, step S)", as timeout reports name a collective.
  static std::string describe(const std::string& label, const Position& at);
  /// Called when the collective `what`, issued at `at`, timed out (here or in another backend,
  /// NCCL): finds out over MPI where the other ranks wait, reports it, and ends the job.
  [[noreturn]] void report_stall_and_abort(const std::string& what, const Position& at, double waited_seconds);

 private:
  struct Task;
  class TaskWork;
  std::shared_ptr<TaskWork> enqueue(std::function<MPI_Request()> start, std::string label,
                                    std::function<void()> finish = nullptr);
  void run();                      // the communication thread
  void wait_for(MPI_Request& request, const Task& task);

  MPI_Comm comm_ = MPI_COMM_NULL;   // collectives
  MPI_Comm diag_comm_ = MPI_COMM_NULL;  // stall reports, apart from the collectives' traffic
  int rank_ = 0, size_ = 1;
  double timeout_seconds_;
  int64_t sequence_ = 0;            // collectives issued so far (the same count on every rank)

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Task>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mlrec::dist
