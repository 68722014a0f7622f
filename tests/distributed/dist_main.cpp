// GoogleTest main for the multi-rank tests: run under mpirun with 2 or more ranks (ctest does
// -np 2 and -np 3). Every rank runs every test; the job passes only if it passed on all ranks.
// Started without mpirun, or with one rank, it fails: in CI a skipped multi-rank test would
// hide a broken distributed path.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>

#include "dist_env.h"
#include "mlrec/common/logging.h"

namespace mlrec::test_support {
dist::ProcessGroup* g_group = nullptr;
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto group = mlrec::dist::init_process_group(/*timeout_seconds=*/120);
  mlrec::set_log_rank(group.rank, group.world_size);
  if (group.world_size < 2) {
    std::fprintf(stderr, "mlrec_dist_tests must run under mpirun with at least 2 ranks (got %d)\n", group.world_size);
    return 1;
  }
  torch::set_num_threads(1);
  mlrec::test_support::g_group = &group;
  if (group.rank != 0) {
    // Only rank 0 prints the progress; failures on any rank still print (with the rank).
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int local_failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  auto failed = torch::full({1}, local_failed, torch::kInt64);
  group.comm->all_reduce_sum(failed, "test results");
  const int64_t failed_ranks = failed.item<int64_t>();
  if (failed_ranks != 0 && group.rank == 0) {
    std::fprintf(stderr, "%lld of %d ranks had failing tests\n", static_cast<long long>(failed_ranks), group.world_size);
  }
  mlrec::dist::finalize_process_group(group);
  return failed_ranks == 0 ? 0 : 1;
}
