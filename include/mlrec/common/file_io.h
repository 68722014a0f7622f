// Whole-file reads and atomic writes: every file mlrec writes goes through write_file_atomic, so
// a reader (or a crash) never sees a half-written file.
#pragma once

#include <cstddef>
#include <exception>
#include <string>

namespace mlrec {

/// Writes `contents` to `path` atomically: a temporary file in the same folder, flushed to disk
/// (fsync), then renamed over the target. On failure (a full disk, a missing folder) the
/// temporary file is removed, `path` keeps what it held, and std::runtime_error reads
/// "PATH: cannot write: REASON" with the system's reason.
void write_file_atomic(const std::string& path, const std::string& contents);

/// Throws InputError (exit 2: the path is the user's) with write_file_atomic's reason if `path`
/// could not be written now (a missing folder, no permission, a folder of that name), and
/// writes nothing: for the output of a command that
/// works for minutes or hours first (bench, predict, recommend, blend), so that a mistyped
/// path fails at once, not after the work. A disk that fills meanwhile still fails at the end.
void check_writable(const std::string& path);

/// The same for a file written piece by piece (too large to hold twice in memory): append(),
/// then commit() flushes and renames into place. Failures throw as write_file_atomic does; a
/// writer destroyed before commit() removes its temporary file.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void append(const void* data, size_t bytes);
  /// Zero bytes up to the next multiple of `alignment` of the file's size.
  void pad_to(size_t alignment);
  size_t size() const { return written_; }
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what, int error);

  std::string path_, tmp_;
  int fd_ = -1;
  size_t written_ = 0;
};

/// An exception's message as mlrec's errors read, "PATH: what failed: reason": std::filesystem's
/// errors ("filesystem error: cannot create directories: Not a directory [PATH]") rewritten so,
/// any other exception's what() as it is.
std::string error_text(const std::exception& error);

/// The whole of a text file; InputError "PATH: cannot open WHAT" (or "cannot read WHAT").
std::string read_file(const std::string& path, const std::string& what);

}  // namespace mlrec
