#include "mlrec/common/host_memory.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace mlrec {
namespace {

// Whether a block of 64 MiB, freed and allocated again, comes from a fresh mmap each time
// (glibc's default for blocks this large) or from memory the process kept.
bool large_block_is_mmapped() {
  const size_t size = size_t(64) << 20;
  const int mapped_before = mallinfo2().hblks;
  // Through a volatile pointer: the compiler may otherwise elide an unused malloc/free pair.
  char* volatile block = static_cast<char*>(std::malloc(size));
  std::memset(block, 1, size);
  const bool mapped = mallinfo2().hblks > mapped_before;
  std::free(block);
  return mapped;
}

// Each check runs in a child process (EXPECT_EXIT forks), since malloc's settings are global.
TEST(HostMemory, LargeBlocksComeFromTheHeapAfterTheSetting) {
  EXPECT_EXIT(
      {
        unsetenv("MALLOC_MMAP_MAX_");
        unsetenv("MALLOC_MMAP_THRESHOLD_");
        unsetenv("MALLOC_TRIM_THRESHOLD_");
        unsetenv("MALLOC_TOP_PAD_");
        unsetenv("GLIBC_TUNABLES");
        const bool mapped_by_default = large_block_is_mmapped();
        const auto setting = keep_freed_memory_in_process();
        const bool mapped_after = large_block_is_mmapped();
        // Kept heap memory is reused: a second allocation does not grow the arena again.
        const size_t arena_before = mallinfo2().arena;
        const bool mapped_again = large_block_is_mmapped();
        const bool reused = mallinfo2().arena == arena_before;
        std::_Exit(mapped_by_default && setting == HostAllocatorSetting::kKeepsFreedMemory && !mapped_after &&
                           !mapped_again && reused
                       ? 0
                       : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(HostMemory, TheUsersMallocSettingsAreLeftInForce) {
  EXPECT_EXIT(
      {
        // glibc read its environment at start; this only tells mlrec that the user tuned malloc.
        setenv("MALLOC_TRIM_THRESHOLD_", "131072", 1);
        const auto setting = keep_freed_memory_in_process();
        std::_Exit(setting == HostAllocatorSetting::kTunedByEnvironment && large_block_is_mmapped() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        unsetenv("MALLOC_TRIM_THRESHOLD_");
        setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536", 1);
        std::_Exit(keep_freed_memory_in_process() == HostAllocatorSetting::kTunedByEnvironment ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace mlrec
