// Ranks sharing a GPU are found by the device's identity, not by its index.
#include "mlrec/distributed/placement.h"

#include <gtest/gtest.h>

namespace mlrec::dist {
namespace {

TEST(Placement, RanksOnDistinctDevicesShareNothing) {
  EXPECT_FALSE(first_ranks_sharing_a_device({}));
  EXPECT_FALSE(first_ranks_sharing_a_device({"a/uuid0"}));
  // The same UUID text on two hosts is two devices (and each rank seeing one GPU as cuda:0, as
  // under Slurm's --gpus-per-task, names different UUIDs).
  EXPECT_FALSE(first_ranks_sharing_a_device({"a/uuid0", "b/uuid0", "a/uuid1", "b/uuid1"}));
}

TEST(Placement, TheFirstPairSharingADeviceIsNamedLowestRankFirst) {
  const auto shared = first_ranks_sharing_a_device({"a/0", "a/1", "a/2", "a/1", "a/0"});
  ASSERT_TRUE(shared);
  EXPECT_EQ(shared->first, 1);
  EXPECT_EQ(shared->second, 3);
  const auto two = first_ranks_sharing_a_device({"h/gpu", "h/gpu"});
  ASSERT_TRUE(two);
  EXPECT_EQ(*two, std::make_pair(0, 1));
}

}  // namespace
}  // namespace mlrec::dist
