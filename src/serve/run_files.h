// The files of a finished run directory that predict, recommend and export read. Internal to src/serve.
#pragma once

#include <filesystem>
#include <string>

#include "mlrec/common/error.h"
#include "mlrec/train/run_directory.h"

namespace mlrec::serve {

/// RUN/name; InputError naming it, and why it is needed, when it is missing.
inline std::string required_run_file(const std::string& run, const char* name, const char* what) {
  if (!std::filesystem::is_directory(run)) throw InputError::in(run, "no such run directory");
  const std::string path = (std::filesystem::path(run) / name).string();
  if (!std::filesystem::exists(path)) throw InputError::in(path, std::string("missing: ") + what);
  return path;
}

/// best.pt as the run left it: InputError naming it when summary.json recorded its CRC-32 and the
/// file's differs. Torch's reader checks no checksum, so changed bytes would load and serve
/// wrong weights without a word. A summary without one (an older mlrec's) is trusted as before.
inline void check_weights_intact(const std::string& weights, const train::RunSummary& summary) {
  if (summary.weights_crc32.empty()) return;
  const std::string crc = train::weights_crc32_of(weights);
  if (crc != summary.weights_crc32) {
    throw InputError::in(weights, "damaged: its CRC-32 is " + crc + ", summary.json recorded " + summary.weights_crc32 +
                                      " (restore the file, or train the run again)");
  }
}

}  // namespace mlrec::serve
