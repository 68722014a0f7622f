// Test helpers for file-based fixtures: a temporary directory removed at scope exit, and a
// one-call file writer. Header-only so that any test target can use it without linking more.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <ftw.h>
#include <stdexcept>
#include <string>
#include <vector>

namespace mlrec::test_support {

/// A fresh directory under the system temp dir, deleted with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    // mkdtemp gives a unique name even when test binaries run in parallel.
    std::string pattern = (std::filesystem::temp_directory_path() / "mlrec_test_XXXXXX").string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
    }
    path_ = buf.data();
  }
  ~TempDir() {
    // POSIX nftw rather than std::filesystem::remove_all: LibTorch's wheel exports a
    // std::filesystem of its own whose directory walking crashes when mixed with the system's
    // (cmake/MlrecTorch.cmake orders the libraries against that, which held on the CPU machine).
    // On the GPU machine the CUDA tests that crashed at their end, after their last training
    // run, are exactly the ones that then delete a TempDir: suspected, not yet confirmed there.
    ::nftw(path_.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The directory's path.
  const std::string& path() const { return path_; }
  /// Path of name inside the directory.
  std::string file(const std::string& name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  static int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }
  std::string path_;
};

/// Writes contents to path byte for byte (binary mode, so "\r\n" stays as written).
inline void write_file(const std::string& path, const std::string& contents) {
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  const size_t written = std::fwrite(contents.data(), 1, contents.size(), f);
  const bool failed = written != contents.size() || std::fclose(f) != 0;
  if (failed) throw std::runtime_error("cannot write " + path);
}

/// The whole of a file, byte for byte ("" when it cannot be opened).
inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace mlrec::test_support
