// Whole-file reads and atomic writes: every file mlrec writes goes through write_file_atomic, so
// a reader (or a crash) never sees a half-written file.
#pragma once

#include <string>

namespace mlrec {

/// Writes `contents` to `path` atomically: a temporary file in the same folder, flushed to disk
/// (fsync), then renamed over the target. On failure (a full disk, a missing folder) the
/// temporary file is removed, `path` keeps what it held, and std::runtime_error reads
/// "PATH: cannot write: REASON" with the system's reason.
void write_file_atomic(const std::string& path, const std::string& contents);

/// The whole of a text file; InputError "PATH: cannot open WHAT" (or "cannot read WHAT").
std::string read_file(const std::string& path, const std::string& what);

}  // namespace mlrec
