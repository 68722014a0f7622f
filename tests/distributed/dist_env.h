#pragma once

#include "mlrec/distributed/process_group.h"

namespace mlrec::test_support {
/// The MPI process group of the multi-rank test binary (set up by dist_main.cpp).
extern dist::ProcessGroup* g_group;
inline dist::Communicator& world() { return *g_group->comm; }
}  // namespace mlrec::test_support
