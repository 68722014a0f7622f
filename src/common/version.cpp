#include "mlrec/common/version.h"

// Both set by CMake for this file alone, so that a new commit recompiles nothing else.
#ifndef MLREC_VERSION
#define MLREC_VERSION "unknown"
#endif
#ifndef MLREC_GIT_COMMIT
#define MLREC_GIT_COMMIT "unknown"
#endif

namespace mlrec {

const std::string& program_version() {
  static const std::string version = std::string(MLREC_VERSION) + " (git " + MLREC_GIT_COMMIT + ")";
  return version;
}

}  // namespace mlrec
