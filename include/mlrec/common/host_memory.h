#pragma once

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
