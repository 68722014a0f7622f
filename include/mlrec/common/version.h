// The program's identity: ranks of one job must run the same build (dist/agreement), and a
// checkpoint records the build that wrote it.
#pragma once

#include <string>

namespace mlrec {

/// "0.1.0 (git 1a2b3c4)": the project version and the commit it was configured from ("git
/// unknown" outside a checkout; "-dirty" when the checkout had uncommitted changes).
const std::string& program_version();

}  // namespace mlrec
