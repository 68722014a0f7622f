#pragma once

#include <cstdint>

namespace mlrec {

enum class HostAllocatorSetting {
  kKeepsFreedMemory,     // set as below
  kTunedByEnvironment,   // the user's MALLOC_* / GLIBC_TUNABLES settings left in force
  kRefused,              // glibc did not accept the settings; malloc left as it was
};

/// Makes glibc's malloc keep freed memory in the process instead of handing it back to the
/// kernel, and says what it did.
///
/// Why: a CPU training step allocates and frees the same large activation tensors every step
/// (the BST's [1024, 10, 2048] feed-forward activations are 84 MB each). glibc serves blocks
/// above its mmap threshold (at most 32 MB) with a fresh mmap and returns them with munmap on
/// free, so every step faulted in and zeroed hundreds of megabytes again: perf put 26 % of a
/// CPU BST step in the kernel (page faults, page clearing, cgroup accounting). With mmap off for
/// malloc and the heap never trimmed, the freed blocks are reused as they are: 1.35x the BST's
/// samples per second on the 2-core machine, for ~5 % more peak resident memory (BENCHMARKS.md).
///
/// A user who tunes glibc's malloc (any MALLOC_*_ variable or a glibc.malloc tunable in
/// GLIBC_TUNABLES) keeps their settings: nothing is changed then. Call once, early in main.
HostAllocatorSetting keep_freed_memory_in_process();

}  // namespace mlrec

namespace mlrec {

/// Hands the heap's free pages back to the kernel (malloc_trim): after the data is prepared, the
/// text and the intermediate arrays (hundreds of bytes per rating) are free but, with the setting
/// above, would stay resident for the whole run.
void release_free_heap_memory();

/// This process's resident memory, from /proc/self: rss counts every page it maps (shared pages
/// in full), pss shares each shared page among the processes mapping it (the cache file of
/// data.cache_dir mapped by four ranks counts a quarter to each). 0 where /proc has no value.
struct ResidentMemory {
  int64_t rss_bytes = 0, pss_bytes = 0, peak_rss_bytes = 0;
};
ResidentMemory resident_memory();

}  // namespace mlrec
