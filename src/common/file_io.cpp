#include "mlrec/common/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "mlrec/common/error.h"

namespace mlrec {
namespace {

// Writes all of `contents` to `fd`, retrying short writes and interruptions; false with errno
// set on failure (a full disk: ENOSPC).
bool write_all(int fd, const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  size_t left = bytes;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& contents) {
  AtomicFileWriter file(path);
  file.append(contents.data(), contents.size());
  file.commit();
}

void check_writable(const std::string& path) {
  // A folder of that name would only fail at the rename, after the work.
  if (std::filesystem::is_directory(path)) throw InputError(path + ": cannot write: " + std::strerror(EISDIR));
  try {
    AtomicFileWriter probe(path);  // creates its temporary file in the target's folder; removed unused
  } catch (const std::runtime_error& e) {
    throw InputError(e.what());  // a path the user gave: exit 2, as other bad input
  }
}

AtomicFileWriter::AtomicFileWriter(std::string path)
    : path_(std::move(path)), tmp_(path_ + ".tmp." + std::to_string(::getpid())) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("write (creating " + tmp_ + ")", errno);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

// Every failure says what could not be written and the system's reason, removes the temporary
// file and leaves whatever the target held before untouched.
void AtomicFileWriter::fail(const std::string& what, int error) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  tmp_.clear();
  throw std::runtime_error(path_ + ": cannot " + what + ": " + std::strerror(error));
}

void AtomicFileWriter::append(const void* data, size_t bytes) {
  if (!write_all(fd_, data, bytes)) fail("write", errno);
  written_ += bytes;
}

void AtomicFileWriter::pad_to(size_t alignment) {
  static const char zeros[4096] = {};
  size_t left = (alignment - written_ % alignment) % alignment;
  while (left > 0) {
    const size_t n = std::min(left, sizeof(zeros));
    append(zeros, n);
    left -= n;
  }
}

void AtomicFileWriter::commit() {
  // Flushed to disk before the rename, so that after a crash the name holds either the old
  // file or the whole new one.
  if (::fsync(fd_) != 0) fail("write", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("write", errno);
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail("rename " + tmp_ + " into place", errno);
  tmp_.clear();
}

std::string error_text(const std::exception& error) {
  const auto* fs_error = dynamic_cast<const std::filesystem::filesystem_error*>(&error);
  if (fs_error == nullptr) return error.what();
  // libstdc++ writes "filesystem error: OPERATION: REASON [PATH1] [PATH2]".
  std::string text = fs_error->what();
  const std::string prefix = "filesystem error: ";
  if (text.rfind(prefix, 0) == 0) text.erase(0, prefix.size());
  if (const auto paths = text.find(" ["); paths != std::string::npos) text.erase(paths);
  return fs_error->path1().empty() ? text : fs_error->path1().string() + ": " + text;
}

std::string read_file(const std::string& path, const std::string& what) {
  // An ifstream opens a folder and reads it as empty: a configuration would take every default.
  if (std::filesystem::is_directory(path)) throw InputError::in(path, "is a folder, not a file (" + what + ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError::in(path, "cannot open " + what);
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError::in(path, "cannot read " + what);
  return text.str();
}

}  // namespace mlrec
