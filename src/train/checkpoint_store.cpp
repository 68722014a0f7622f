#include "mlrec/train/checkpoint_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "mlrec/common/checksum.h"
#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"

namespace mlrec::train {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr const char* kMetaFile = "checkpoint.json";
constexpr const char* kStateFile = "state.pt";
constexpr const char* kFormat = "mlrec-checkpoint-1";
constexpr const char* kStepPrefix = "step-";
constexpr const char* kPartialPrefix = ".partial-";

// A rename is durable once the folder holding the entry is flushed too.
void sync_folder(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

bool is_step_folder(const fs::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  return entry.is_directory() && name.rfind(kStepPrefix, 0) == 0 && name.size() > std::strlen(kStepPrefix) &&
         std::all_of(name.begin() + std::strlen(kStepPrefix), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

CheckpointStore::CheckpointStore(const std::string& run_dir, int keep)
    : dir_((fs::path(run_dir) / "checkpoints").string()), keep_(keep) {}

std::string CheckpointStore::folder_name(int64_t step) {
  std::string digits = std::to_string(step);
  if (digits.size() < 7) digits.insert(0, 7 - digits.size(), '0');
  return kStepPrefix + digits;
}

std::string CheckpointStore::write(int64_t step, const std::string& state, Json meta) const {
  const fs::path final_path = fs::path(dir_) / folder_name(step);
  const fs::path partial = fs::path(dir_) / (kPartialPrefix + folder_name(step) + "-" + std::to_string(::getpid()));
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) throw std::runtime_error(dir_ + ": cannot write: " + error.message());
  fs::remove_all(partial, error);
  fs::create_directory(partial, error);
  if (error) throw std::runtime_error(partial.string() + ": cannot write: " + error.message());
  try {
    meta["format"] = kFormat;
    meta["step"] = step;
    meta["state_file"] = Json{{"name", kStateFile}, {"bytes", state.size()}, {"crc32", crc32_of(state)}};
    write_file_atomic((partial / kStateFile).string(), state);
    write_file_atomic((partial / kMetaFile).string(), meta.dump(1) + "\n");
    // The same step written again (a resumed run passing a damaged checkpoint's step) replaces it.
    if (fs::exists(final_path)) fs::remove_all(final_path);
    if (std::rename(partial.c_str(), final_path.c_str()) != 0) {
      throw std::runtime_error(final_path.string() + ": cannot write: " + std::strerror(errno));
    }
  } catch (...) {
    fs::remove_all(partial, error);
    throw;
  }
  sync_folder(dir_);
  // Only now, with the new one complete, are the oldest removed.
  const std::vector<std::string> folders = list();
  for (size_t i = 0; keep_ > 0 && i + static_cast<size_t>(keep_) < folders.size(); ++i) {
    fs::remove_all(folders[i], error);
  }
  return final_path.string();
}

std::vector<std::string> CheckpointStore::list() const {
  std::vector<std::string> folders;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir_, error)) {
    if (is_step_folder(entry)) folders.push_back(entry.path().string());
  }
  // Zero-padded step numbers sort by name; longer names (steps past 9,999,999) come later.
  std::sort(folders.begin(), folders.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return folders;
}

StoredCheckpoint CheckpointStore::load(const std::string& path) {
  const fs::path folder(path);
  if (!fs::is_directory(folder)) throw InputError::in(path, "no checkpoint folder here");
  StoredCheckpoint checkpoint;
  checkpoint.path = path;
  const std::string meta_path = (folder / kMetaFile).string();
  try {
    checkpoint.meta = Json::parse(read_file(meta_path, "checkpoint description"));
  } catch (const Json::exception& e) {
    throw InputError::in(meta_path, std::string("not a checkpoint description: ") + e.what());
  }
  if (checkpoint.meta.value("format", "") != kFormat) {
    throw InputError::in(meta_path, std::string("not a checkpoint description of format ") + kFormat);
  }
  const std::string state_path = (folder / kStateFile).string();
  checkpoint.state = read_file(state_path, "checkpoint state");
  const Json recorded = checkpoint.meta.value("state_file", Json::object());
  if (checkpoint.state.size() != recorded.value("bytes", uint64_t(0)) ||
      crc32_of(checkpoint.state) != recorded.value("crc32", uint32_t(0))) {
    throw InputError::in(state_path, "damaged: its size or checksum differs from the one recorded when it was written");
  }
  return checkpoint;
}

std::optional<StoredCheckpoint> CheckpointStore::load_newest(void (*warn)(const std::string&)) const {
  const std::vector<std::string> folders = list();
  for (auto it = folders.rbegin(); it != folders.rend(); ++it) {
    try {
      return load(*it);
    } catch (const InputError& e) {
      if (warn) warn(std::string(e.what()) + "; falling back to the checkpoint before it");
    }
  }
  return std::nullopt;
}

int CheckpointStore::remove_partials() const {
  int removed = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir_, error)) {
    if (entry.path().filename().string().rfind(kPartialPrefix, 0) == 0) {
      fs::remove_all(entry.path(), error);
      ++removed;
    }
  }
  return removed;
}

}  // namespace mlrec::train
