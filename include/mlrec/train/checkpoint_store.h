// Training-state checkpoints on disk, without torch: the folder layout, atomic writing, the
// checksum, which checkpoint is the newest valid one, and how many are kept.
//
//   RUN/checkpoints/step-0000120/checkpoint.json   position, fingerprints, scalar state, and
//                                                  the size and CRC-32 of state.pt
//   RUN/checkpoints/step-0000120/state.pt          every tensor (torch archive)
//
// A checkpoint is assembled in RUN/checkpoints/.partial-step-0000120-PID/, each file flushed to
// disk, and only then renamed to its name (and the folder's entry flushed): a crash or a full
// disk leaves either no step-N folder or a complete one. A step-N folder whose files do not
// match its recorded size and checksum (a damaged disk, a hand edit) is never taken for valid.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlrec::train {

struct StoredCheckpoint {
  std::string path;                // the step-N folder
  nlohmann::ordered_json meta;     // checkpoint.json
  std::string state;               // state.pt's bytes, checksum verified
};

class CheckpointStore {
 public:
  /// `run_dir`'s checkpoints/ folder; `keep` newest are kept after each write.
  CheckpointStore(const std::string& run_dir, int keep);

  const std::string& dir() const { return dir_; }
  /// "step-0000120"
  static std::string folder_name(int64_t step);

  /// Writes the checkpoint of optimizer step `step` as described above and removes all but the
  /// newest `keep`; returns its folder. `meta` gets the state file's size and checksum added.
  /// On failure nothing of the new checkpoint is left, earlier ones are untouched, and
  /// std::runtime_error reads "PATH: cannot write: REASON".
  std::string write(int64_t step, const std::string& state, nlohmann::ordered_json meta) const;

  /// The step-N folders, oldest first.
  std::vector<std::string> list() const;
  /// The newest checkpoint that reads back whole; each damaged newer one is reported through
  /// `warn` and skipped. nullopt when there is none.
  std::optional<StoredCheckpoint> load_newest(void (*warn)(const std::string&)) const;
  /// Reads one checkpoint folder and verifies it; InputError naming the folder and what is wrong.
  static StoredCheckpoint load(const std::string& path);

  /// Removes the .partial-* folders a killed run left (call while holding the run's lock).
  /// Returns how many there were.
  int remove_partials() const;

 private:
  std::string dir_;
  int keep_;
};

}  // namespace mlrec::train
