#include "mpi_communicator.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "mlrec/common/logging.h"

namespace mlrec::dist {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// MPI has no bf16/half sums and no bool type: those tensors travel as float32 / uint8.
MPI_Datatype mpi_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kLong: return MPI_INT64_T;
    case at::kInt: return MPI_INT32_T;
    case at::kByte: return MPI_UINT8_T;
    case at::kChar: return MPI_INT8_T;
    default: return MPI_DATATYPE_NULL;
  }
}

// The buffer MPI works on: the tensor itself when it is contiguous and of an MPI type, else a
// converted copy that is written back when the collective completes.
struct Staged {
  at::Tensor buffer;
  bool copied = false;
};

Staged stage(const at::Tensor& tensor) {
  Staged s;
  at::ScalarType type = tensor.scalar_type();
  if (type == at::kBool) type = at::kByte;
  else if (mpi_type(type) == MPI_DATATYPE_NULL) type = at::kFloat;
  // GPU tensors (dist.backend=mpi on a GPU run) travel through host memory: correct, not fast.
  if (type != tensor.scalar_type() || !tensor.is_contiguous() || !tensor.device().is_cpu()) {
    s.buffer = tensor.to(at::kCPU, type).contiguous();
    s.copied = true;
  } else {
    s.buffer = tensor;
  }
  if (s.buffer.numel() > INT_MAX) throw std::invalid_argument("tensor too large for one MPI collective");
  return s;
}

// Stall reports travel on their own communicator with this tag.
constexpr int kStallTag = 7701;

}  // namespace

struct MpiCommunicator::Task {
  std::function<MPI_Request()> start;
  std::function<void()> finish;
  std::string label;
  Position position;  // the collective this task is, for a timeout report
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr error;
};

class MpiCommunicator::TaskWork final : public Work {
 public:
  explicit TaskWork(std::shared_ptr<Task> task) : task_(std::move(task)) {}
  void wait() override {
    std::unique_lock<std::mutex> lock(task_->mutex);
    task_->cv.wait(lock, [&] { return task_->done; });
    if (task_->error) std::rethrow_exception(task_->error);
  }

 private:
  std::shared_ptr<Task> task_;
};

MpiCommunicator::MpiCommunicator(MPI_Comm world, double timeout_seconds)
    : timeout_seconds_(timeout_seconds) {
  MPI_Comm_dup(world, &comm_);
  MPI_Comm_dup(world, &diag_comm_);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  thread_ = std::thread([this] { run(); });
}

MpiCommunicator::~MpiCommunicator() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  MPI_Comm_free(&comm_);
  MPI_Comm_free(&diag_comm_);
}

std::shared_ptr<MpiCommunicator::TaskWork> MpiCommunicator::enqueue(std::function<MPI_Request()> start,
                                                                    std::string label,
                                                                    std::function<void()> finish) {
  auto task = std::make_shared<Task>();
  task->start = std::move(start);
  task->finish = std::move(finish);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Numbered at enqueue time: every rank enqueues the same collectives in the same order.
    task->position = {++sequence_, epoch_, step_};
    task->label = describe(label, task->position);
    queue_.push_back(task);
  }
  cv_.notify_one();
  return std::make_shared<TaskWork>(task);
}

void MpiCommunicator::run() {
  for (;;) {
    std::shared_ptr<Task> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      task = queue_.front();
      queue_.pop_front();
    }
    try {
      MPI_Request request = task->start();
      wait_for(request, *task);
      if (task->finish) task->finish();
    } catch (...) {
      task->error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(task->mutex);
      task->done = true;
    }
    task->cv.notify_all();
  }
}

namespace {
// "collective #N, epoch E, step S"
std::string position_text(const MpiCommunicator::Position& at) {
  const char* kind = at.backend == MpiCommunicator::Position::kNccl ? "NCCL collective" : "collective";
  if (at.step < 0) return fmt::format("{} #{}, epoch {}, outside a training step", kind, at.sequence, at.epoch);
  return fmt::format("{} #{}, epoch {}, step {}", kind, at.sequence, at.epoch, at.step);
}
}  // namespace

std::string MpiCommunicator::describe(const std::string& label, const Position& at) {
  return fmt::format("'{}' ({})", label, position_text(at));
}

void MpiCommunicator::wait_for(MPI_Request& request, const Task& task) {
  const auto start = Clock::now();
  // Poll rather than block in MPI_Wait: a blocking wait cannot time out. The sleep grows from
  // a few microseconds so short collectives finish fast without spinning a core on long ones.
  auto pause = std::chrono::microseconds(2);
  for (;;) {
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    const double waited = seconds_since(start);
    // The stalled collective is this task's, not the last one queued: the training thread may
    // have queued several more (asynchronous buckets) and moved on to another step.
    if (waited > timeout_seconds_) report_stall_and_abort(task.label, task.position, waited);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(500));
  }
}

void MpiCommunicator::report_stall_and_abort(const std::string& what, const Position& at, double waited_seconds) {
  log_error(fmt::format("collective timed out after {:.0f} s (dist.timeout_seconds): {}; asking the other ranks "
                        "where they are",
                        waited_seconds, what));

  // Tell every other rank where this one waits, then listen for a grace period: ranks that are
  // alive and waiting in a collective do the same when their own timeout fires; those never
  // heard from did not arrive (stopped, killed, or stuck outside any collective).
  static_assert(sizeof(Position) == 4 * sizeof(int64_t), "sent as four MPI_INT64_T");
  const Position mine = at;
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) continue;
    MPI_Request request;
    MPI_Isend(&mine, 4, MPI_INT64_T, r, kStallTag, diag_comm_, &request);
    MPI_Request_free(&request);
  }
  std::vector<int> heard(size_, 0);
  std::vector<Position> notes(size_);
  heard[rank_] = 1;
  const double grace = std::min(10.0, std::max(2.0, 0.1 * timeout_seconds_));
  const auto start = Clock::now();
  while (seconds_since(start) < grace) {
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kStallTag, diag_comm_, &flag, &status);
    if (!flag) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    Position note;
    MPI_Recv(&note, 4, MPI_INT64_T, status.MPI_SOURCE, kStallTag, diag_comm_, MPI_STATUS_IGNORE);
    heard[status.MPI_SOURCE] = 1;
    notes[status.MPI_SOURCE] = note;
  }
  std::ostringstream missing, elsewhere;
  int missing_count = 0;
  bool all_at_mine = true;
  for (int r = 0; r < size_; ++r) {
    if (!heard[r]) {
      missing << (missing_count++ ? ", " : "") << "rank " << r;
    } else if (r != rank_ && (notes[r].sequence != mine.sequence || notes[r].backend != mine.backend)) {
      all_at_mine = false;
      elsewhere << "; rank " << r << " waits at " << position_text(notes[r]);
    }
  }
  std::string report;
  if (missing_count > 0) {
    report = missing.str() + " did not arrive at " + what;
  } else if (all_at_mine) {
    // Every rank is there: the collective itself takes longer than the timeout (or hangs in MPI).
    report = "every rank is waiting at this same collective, which has not completed within dist.timeout_seconds: " +
             what;
  } else {
    report = "every rank is waiting, but not at the same collective: " + what;
  }
  log_error(report + elsewhere.str() + "; ending the job");
  std::fflush(nullptr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

std::shared_ptr<Work> MpiCommunicator::all_reduce_sum_async(const at::Tensor& tensor, const char* label) {
  auto staged = std::make_shared<Staged>(stage(tensor));
  at::Tensor target = tensor;
  return enqueue(
      [this, staged] {
        MPI_Request request;
        MPI_Iallreduce(MPI_IN_PLACE, staged->buffer.data_ptr(), static_cast<int>(staged->buffer.numel()),
                       mpi_type(staged->buffer.scalar_type()), MPI_SUM, comm_, &request);
        return request;
      },
      std::string("all_reduce ") + label,
      [staged, target]() mutable {
        if (staged->copied) target.copy_(staged->buffer);
      });
}

void MpiCommunicator::all_reduce_sum(at::Tensor& tensor, const char* label) {
  all_reduce_sum_async(tensor, label)->wait();
}

void MpiCommunicator::all_gather(const at::Tensor& input, at::Tensor& output, const char* label) {
  check_gather_shapes(input, output, size_);
  auto staged_input = std::make_shared<Staged>(stage(input));
  auto staged_output = std::make_shared<Staged>(stage(output));
  at::Tensor target = output;
  enqueue(
      [this, staged_input, staged_output] {
        MPI_Request request;
        const auto type = mpi_type(staged_input->buffer.scalar_type());
        const int count = static_cast<int>(staged_input->buffer.numel());
        MPI_Iallgather(staged_input->buffer.data_ptr(), count, type, staged_output->buffer.data_ptr(), count, type,
                       comm_, &request);
        return request;
      },
      std::string("all_gather ") + label,
      [staged_output, target]() mutable {
        if (staged_output->copied) target.copy_(staged_output->buffer.view(target.sizes()));
      })
      ->wait();
}

void MpiCommunicator::broadcast(at::Tensor& tensor, int root, const char* label) {
  if (root < 0 || root >= size_) throw std::invalid_argument("broadcast root out of range");
  auto staged = std::make_shared<Staged>(stage(tensor));
  at::Tensor target = tensor;
  enqueue(
      [this, staged, root] {
        MPI_Request request;
        MPI_Ibcast(staged->buffer.data_ptr(), static_cast<int>(staged->buffer.numel()),
                   mpi_type(staged->buffer.scalar_type()), root, comm_, &request);
        return request;
      },
      std::string("broadcast ") + label,
      [staged, target]() mutable {
        if (staged->copied) target.copy_(staged->buffer);
      })
      ->wait();
}

void MpiCommunicator::broadcast_bytes(void* data, int bytes, int root, const char* label) {
  enqueue(
      [this, data, bytes, root] {
        MPI_Request request;
        MPI_Ibcast(data, bytes, MPI_BYTE, root, comm_, &request);
        return request;
      },
      std::string("broadcast ") + label)
      ->wait();
}

void MpiCommunicator::barrier(const char* label) {
  enqueue(
      [this] {
        MPI_Request request;
        MPI_Ibarrier(comm_, &request);
        return request;
      },
      std::string("barrier ") + label)
      ->wait();
}

}  // namespace mlrec::dist
