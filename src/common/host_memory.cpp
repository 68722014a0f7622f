#include "mlrec/common/host_memory.h"

#include <malloc.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <string>

namespace mlrec {
namespace {

// glibc's environment knobs for malloc (mallopt(3)): the legacy MALLOC_*_ variables and the
// glibc.malloc.* tunables.
bool user_tunes_malloc() {
  for (const char* name : {"MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                           "MALLOC_TOP_PAD_"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr;
}

}  // namespace

HostAllocatorSetting keep_freed_memory_in_process() {
  if (user_tunes_malloc()) return HostAllocatorSetting::kTunedByEnvironment;
  // Serve every block from the heap (no per-block mmap), and never shrink the heap's top: freed
  // blocks are reused by the next step's allocations without faulting pages in again.
  const bool done = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
  return done ? HostAllocatorSetting::kKeepsFreedMemory : HostAllocatorSetting::kRefused;
}

}  // namespace mlrec

namespace mlrec {

void release_free_heap_memory() { malloc_trim(0); }

namespace {

// The value in kB of the line starting with `field` in a /proc file, in bytes; 0 when absent.
int64_t proc_kilobytes(const char* path, const char* field) {
  std::ifstream in(path);
  std::string line;
  const size_t length = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, length, field) == 0) return std::atoll(line.c_str() + length) * 1024;
  }
  return 0;
}

}  // namespace

ResidentMemory resident_memory() {
  ResidentMemory m;
  m.rss_bytes = proc_kilobytes("/proc/self/status", "VmRSS:");
  m.peak_rss_bytes = proc_kilobytes("/proc/self/status", "VmHWM:");
  m.pss_bytes = proc_kilobytes("/proc/self/smaps_rollup", "Pss:");
  return m;
}

}  // namespace mlrec
