// write_file_atomic and read_file: whole files, never half-written.
#include "mlrec/common/file_io.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "mlrec/common/error.h"
#include "support/temp_dir.h"

namespace mlrec {
namespace {

namespace fs = std::filesystem;
using test_support::read_text;
using test_support::TempDir;
using test_support::write_file;

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

TEST(ReadFileTest, ReadsTheWholeFileAndNamesAMissingOne) {
  TempDir dir;
  write_file(dir.file("a.txt"), std::string("x\0y\n", 4));
  EXPECT_EQ(read_file(dir.file("a.txt"), "text"), std::string("x\0y\n", 4));
  try {
    read_file(dir.file("gone.txt"), "config file");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("gone.txt") + ": cannot open config file");
  }
}

TEST(WriteFileAtomicTest, CreatesAFile) {
  TempDir dir;
  const std::string path = dir.file("summary.json");
  write_file_atomic(path, "{\"a\": 1}\n");
  EXPECT_EQ(read_text(path), "{\"a\": 1}\n");
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"summary.json"});
}

TEST(WriteFileAtomicTest, ReplacesAnExistingFileCompletelyAndLeavesNoTempFile) {
  TempDir dir;
  const std::string path = dir.file("summary.json");
  write_file(path, std::string(4096, 'x') + "old tail");
  write_file_atomic(path, "new");
  EXPECT_EQ(read_text(path), "new");  // no leftover bytes of the longer old file
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"summary.json"});
  // Binary contents are written byte for byte.
  const std::string binary("a\0b\r\nc", 6);
  write_file_atomic(path, binary);
  EXPECT_EQ(read_text(path), binary);
  write_file_atomic(path, "");
  EXPECT_EQ(read_text(path), "");
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"summary.json"});
}

TEST(WriteFileAtomicTest, MissingDirectoryThrowsWithTheReasonAndLeavesNothing) {
  TempDir dir;
  const std::string missing = dir.file("no_such_dir");
  try {
    write_file_atomic(missing + "/summary.json", "x");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(std::strerror(ENOENT)), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

// A write that fails part-way, as on a full disk: the process's file size limit (RLIMIT_FSIZE)
// makes write() fail with EFBIG once the file would grow past it, deterministically and without
// mounting anything.
TEST(WriteFileAtomicTest, AFailedWriteNamesTheReasonKeepsTheOldFileAndLeavesNoTempFile) {
  TempDir dir;
  const std::string path = dir.file("best.pt");
  write_file(path, "the previous checkpoint");
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit small = saved;
  small.rlim_cur = 4096;
  auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);  // else the signal ends the process
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  try {
    write_file_atomic(path, std::string(1 << 20, 'x'));
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);
  EXPECT_EQ(message, path + ": cannot write: " + std::strerror(EFBIG));
  EXPECT_EQ(read_text(path), "the previous checkpoint");
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"best.pt"});
}

TEST(WriteFileAtomicTest, FailedRenameThrowsAndRemovesTheTempFile) {
  // The target is a non-empty directory: the temp file is written, the rename fails.
  TempDir dir;
  const std::string target = dir.file("summary.json");
  write_file(target + "/inside", "keep");
  try {
    write_file_atomic(target, "x");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
  }
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"summary.json"});
  EXPECT_EQ(read_text(target + "/inside"), "keep");
}

// std::filesystem's errors read as mlrec's do: the path first, no "filesystem error:" prefix and
// no bracketed path after; other exceptions pass through unchanged.
TEST(ErrorTextTest, FilesystemErrorsNameThePathFirst) {
  TempDir dir;
  write_file(dir.file("a_file"), "x");
  std::string text;
  try {
    fs::create_directories(dir.file("a_file"));
  } catch (const std::exception& e) {
    text = error_text(e);
  }
  EXPECT_EQ(text, dir.file("a_file") + ": cannot create directories: " + std::strerror(ENOTDIR));
  EXPECT_EQ(error_text(std::runtime_error("x: cannot write: y")), "x: cannot write: y");
}

// What check_writable throws for `path` ("" if nothing).
std::string check_writable_error(const std::string& path) {
  try {
    check_writable(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// The three ways a mistyped --out fails, each found before any work, and nothing written
// either way: a writable path is neither created nor, where it exists, changed.
TEST(CheckWritableTest, FailsAsTheWriteWouldAndWritesNothing) {
  TempDir dir;
  EXPECT_EQ(check_writable_error(dir.file("new.json")), "");
  EXPECT_TRUE(list_dir(dir.path()).empty());
  write_file(dir.file("old.json"), "kept");
  EXPECT_EQ(check_writable_error(dir.file("old.json")), "");
  EXPECT_EQ(read_text(dir.file("old.json")), "kept");

  const std::string missing = dir.file("no_such_dir/out.json");
  EXPECT_EQ(check_writable_error(missing), missing + ": cannot write (creating " + missing + ".tmp." +
                                               std::to_string(::getpid()) + "): " + std::strerror(ENOENT));
  fs::create_directory(dir.file("a_folder"));
  EXPECT_EQ(check_writable_error(dir.file("a_folder")),
            dir.file("a_folder") + ": cannot write: " + std::strerror(EISDIR));
  if (::geteuid() != 0) {  // root writes anywhere
    fs::create_directory(dir.file("read_only"));
    fs::permissions(dir.file("read_only"), fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_NE(check_writable_error(dir.file("read_only/out.json")).find(std::strerror(EACCES)), std::string::npos);
    fs::permissions(dir.file("read_only"), fs::perms::owner_all);
  }
  // old.json, a_folder (and read_only): no temporary file left, nothing else made
  EXPECT_EQ(list_dir(dir.path()).size(), ::geteuid() != 0 ? 3u : 2u);
}

}  // namespace
}  // namespace mlrec
