#include "mlrec/train/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "mlrec/common/checksum.h"
#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/train/checkpoint_store.h"

namespace mlrec::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLockFile = ".lock";
constexpr const char* kRunFiles[] = {"config.yaml", "id_maps.json", "metrics.jsonl", "summary.json", "best.pt", "checkpoints", "tensorboard",
                                     "profile", "failed.txt"};

// *.tmp.PID: write_file_atomic's temporary name.
bool is_temporary(const std::string& name) {
  const auto at = name.rfind(".tmp.");
  return at != std::string::npos && at + 5 < name.size() &&
         name.find_first_not_of("0123456789", at + 5) == std::string::npos;
}

std::string holder_description() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  const std::time_t now = std::time(nullptr);
  char when[64] = {0};
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", std::localtime(&now));
  return "pid " + std::to_string(::getpid()) + " on " + host + ", since " + when;
}

}  // namespace

RunDirectoryLock::RunDirectoryLock(const std::string& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw std::runtime_error(dir + ": cannot write: " + error.message());
  const std::string path = (fs::path(dir) / kLockFile).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int reason = errno;
    std::string holder = read_file(path, "lock file");
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (reason == EWOULDBLOCK) {
      throw ConfigError::for_key("output.dir", dir + " is in use by another run (" +
                                                   (holder.empty() ? "holder unknown" : holder) +
                                                   "); wait for it to end or choose another output.dir");
    }
    throw std::runtime_error(path + ": cannot lock: " + std::strerror(reason));
  }
  const std::string holder = holder_description() + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] ssize_t written = ::pwrite(fd_, holder.data(), holder.size(), 0);
  }
}

RunDirectoryLock::~RunDirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock; the file stays (removing it would race)
}

std::string RunDirectory::file(const char* name) const { return (fs::path(path_) / name).string(); }

std::unique_ptr<RunDirectoryLock> RunDirectory::lock() const {
  return writer_ ? std::make_unique<RunDirectoryLock>(path_) : nullptr;
}

bool RunDirectory::holds_run_files() const {
  for (const char* name : kRunFiles) {
    if (fs::exists(fs::path(path_) / name)) return true;
  }
  return false;
}

void RunDirectory::remove_run_files() const {
  if (!writer_) return;
  std::error_code error;
  for (const char* name : kRunFiles) fs::remove_all(fs::path(path_) / name, error);
  remove_temporaries();
}

int RunDirectory::remove_temporaries() const {
  if (!writer_) return 0;
  int removed = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(path_, error)) {
    if (entry.is_regular_file() && is_temporary(entry.path().filename().string())) {
      fs::remove(entry.path(), error);
      ++removed;
    }
  }
  return removed + CheckpointStore(path_, 0).remove_partials();
}

void RunDirectory::create(const std::string& resolved_config_yaml, const std::string& id_maps_json) const {
  if (!writer_) return;
  std::filesystem::create_directories(path_);
  write_file_atomic(id_maps_path(), id_maps_json);
  write_file_atomic(config_path(), resolved_config_yaml);
}

void RunDirectory::write_empty_metrics() const {
  if (writer_) write_file_atomic(metrics_path(), "");
}

void RunDirectory::write_summary(const RunSummary& summary) const {
  if (!writer_) return;
  RunSummary with_weights = summary;
  if (fs::exists(best_weights_path())) with_weights.weights_crc32 = weights_crc32_of(best_weights_path());
  write_file_atomic(summary_path(), to_json(with_weights));
}

std::string weights_crc32_of(const std::string& path) {
  return fmt::format("{:08x}", crc32_of(read_file(path, "weights")));
}

}  // namespace mlrec::train
