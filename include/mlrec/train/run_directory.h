// The run directory (output.dir) and its file contract, in one place (README, "What a run
// writes"): config.yaml, id_maps.json, metrics.jsonl, summary.json, best.pt, checkpoints/ and
// tensorboard/, written by rank 0
// only, each atomically; .lock marks the directory as in use. Torch-free.
#pragma once

#include <memory>
#include <string>

#include "mlrec/train/run_record.h"

namespace mlrec::train {

/// Holds a run directory for one run: an exclusive flock(2) on RUN/.lock, released when this
/// object goes away or the process dies (kill -9 included), so a stale lock never blocks a
/// restart. The file names the holder (pid, host, start time) for the error a second run gets.
class RunDirectoryLock {
 public:
  /// Creates the directory if needed and locks it; ConfigError (output.dir) naming the holder
  /// when another process holds it.
  explicit RunDirectoryLock(const std::string& dir);
  ~RunDirectoryLock();
  RunDirectoryLock(const RunDirectoryLock&) = delete;
  RunDirectoryLock& operator=(const RunDirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

class RunDirectory {
 public:
  /// `writer`: whether this rank writes the files (rank 0). Every rank knows the paths; the
  /// writing methods do nothing on the others.
  RunDirectory(std::string path, bool writer) : path_(std::move(path)), writer_(writer) {}

  const std::string& path() const { return path_; }
  bool writer() const { return writer_; }

  std::string config_path() const { return file("config.yaml"); }
  std::string id_maps_path() const { return file("id_maps.json"); }
  std::string metrics_path() const { return file("metrics.jsonl"); }
  std::string summary_path() const { return file("summary.json"); }
  std::string best_weights_path() const { return file("best.pt"); }
  std::string checkpoints_path() const { return file("checkpoints"); }
  std::string tensorboard_path() const { return file("tensorboard"); }
  std::string profile_path() const { return file("profile"); }  // every rank's trace (train/profiler.h)

  /// Locks the directory for this run (the writer only; nullptr on the other ranks).
  std::unique_ptr<RunDirectoryLock> lock() const;
  /// Whether any file of the contract above is here (another run's, or this one's earlier).
  bool holds_run_files() const;
  /// Removes the contract's files (an overwrite, or a fresh start of the same run), and the
  /// temporary files a killed run left.
  void remove_run_files() const;
  /// Removes only the temporary files a killed run left (*.tmp.PID, checkpoints/.partial-*);
  /// returns how many. Call while holding the lock.
  int remove_temporaries() const;

  /// Writes config.yaml, the resolved configuration, and id_maps.json (data/id_maps.h). Called
  /// once the data has loaded, the model has been built and the directory has been checked: bad
  /// input writes nothing.
  void create(const std::string& resolved_config_yaml, const std::string& id_maps_json) const;
  /// metrics.jsonl with no epochs (the baseline, which trains none).
  void write_empty_metrics() const;
  void write_summary(const RunSummary& summary) const;

 private:
  std::string file(const char* name) const;
  std::string path_;
  bool writer_;
};

/// A weights file's CRC-32 as summary.json records it (RunSummary::weights_crc32).
std::string weights_crc32_of(const std::string& path);

}  // namespace mlrec::train
