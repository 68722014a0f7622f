#include "mlrec/common/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "mlrec/common/error.h"

namespace mlrec {
namespace {

// Writes all of `contents` to `fd`, retrying short writes and interruptions; false with errno
// set on failure (a full disk: ENOSPC).
bool write_all(int fd, const std::string& contents) {
  const char* p = contents.data();
  size_t left = contents.size();
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
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  // Every failure says what could not be written and the system's reason, removes the
  // temporary file and leaves whatever `path` held before untouched.
  auto fail = [&](const std::string& what, int error) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(path + ": cannot " + what + ": " + std::strerror(error));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("write (creating " + tmp + ")", errno);
  // Flushed to disk before the rename, so that after a crash the name holds either the old
  // file or the whole new one.
  if (!write_all(fd, contents) || ::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    fail("write", error);
  }
  if (::close(fd) != 0) fail("write", errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("rename " + tmp + " into place", errno);
}

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError::in(path, "cannot open " + what);
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError::in(path, "cannot read " + what);
  return text.str();
}

}  // namespace mlrec
