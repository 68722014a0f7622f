// The test fixture's temporary directory: every test that writes files relies on its cleanup.
#include "support/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace mlrec::test_support {
namespace {

TEST(TempDir, RemovesNestedContentsButNotWhatALinkPointsTo) {
  TempDir outside;
  write_file(outside.file("keep.txt"), "still here");
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    write_file(dir.file("a/b/c.txt"), "deep");
    write_file(dir.file("top.txt"), "top");
    ASSERT_EQ(::symlink(outside.path().c_str(), dir.file("a/link").c_str()), 0);
    EXPECT_TRUE(std::filesystem::exists(dir.file("a/b/c.txt")));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::exists(outside.file("keep.txt")));
}

}  // namespace
}  // namespace mlrec::test_support
