// MPI collectives across real ranks: sums, gathers and broadcasts on odd sizes and several dtypes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dist_env.h"

namespace mlrec::dist {
namespace {

using test_support::world;

TEST(MpiCollectives, AllReduceSumsOddSizesAndDtypes) {
  const int n = world().world_size(), r = world().rank();
  for (int64_t size : {1, 7, 1000, 100003}) {
    for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kInt64, torch::kInt32, torch::kBFloat16}) {
      auto base = torch::arange(size, torch::kFloat64).remainder(97);
      auto t = (base + (r + 1)).to(dtype);
      world().all_reduce_sum(t, "test");
      auto expected = (base * n + n * (n + 1) / 2).to(dtype);
      ASSERT_EQ(t.scalar_type(), dtype);
      EXPECT_TRUE(torch::equal(t, expected)) << "size " << size << " dtype " << dtype;
    }
  }
}

TEST(MpiCollectives, AllGatherPlacesEachRanksTensorAtItsOffset) {
  const int n = world().world_size(), r = world().rank();
  for (auto dtype : {torch::kFloat32, torch::kInt64, torch::kBFloat16}) {
    for (int64_t size : {1, 9, 5003}) {
      auto mine = (torch::arange(size, torch::kFloat64).remainder(50) + 100 * r).to(dtype);
      auto gathered = torch::empty({n, size}, torch::TensorOptions().dtype(dtype));
      world().all_gather(mine, gathered, "test");
      for (int k = 0; k < n; ++k) {
        auto expected = (torch::arange(size, torch::kFloat64).remainder(50) + 100 * k).to(dtype);
        EXPECT_TRUE(torch::equal(gathered[k], expected)) << "rank " << k << " size " << size << " dtype " << dtype;
      }
    }
  }
  auto too_small = torch::empty({n - 1, 3});  // the dist tests run on 2 and 3 ranks
  EXPECT_THROW(world().all_gather(torch::zeros({3}), too_small, "test"), std::invalid_argument);
}

TEST(MpiCollectives, BroadcastFromEveryRootIncludingNonContiguousAndBool) {
  const int n = world().world_size(), r = world().rank();
  for (int root = 0; root < n; ++root) {
    auto t = torch::full({3, 5}, float(r * 10 + 1)).t();  // non-contiguous view
    world().broadcast(t, root, "test");
    EXPECT_TRUE(torch::equal(t, torch::full({5, 3}, float(root * 10 + 1)))) << "root " << root;
    auto flags = torch::full({13}, r == root, torch::kBool);
    world().broadcast(flags, root, "test");
    EXPECT_TRUE(flags.all().item<bool>());
  }
}

TEST(MpiCollectives, AsyncAllReducesCompleteWhateverOrderTheyAreWaitedIn) {
  const int n = world().world_size(), r = world().rank();
  std::vector<torch::Tensor> tensors;
  std::vector<std::shared_ptr<Work>> works;
  for (int i = 0; i < 6; ++i) {
    tensors.push_back(torch::full({17 + i}, double(r + i)));
    works.push_back(world().all_reduce_sum_async(tensors.back(), "async test"));
  }
  for (int i = 5; i >= 0; --i) works[i]->wait();
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(torch::equal(tensors[i], torch::full({17 + i}, double(n * (n - 1) / 2 + n * i))));
  }
  world().barrier("test");
}

}  // namespace
}  // namespace mlrec::dist
