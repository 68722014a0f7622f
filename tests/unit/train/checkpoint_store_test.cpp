// The checkpoint folder's mechanics without torch: atomic folders, checksums, the newest valid
// one, how many are kept, and what a failed write leaves.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "mlrec/common/error.h"
#include "mlrec/train/checkpoint_store.h"
#include "support/temp_dir.h"

namespace mlrec::train {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;

nlohmann::ordered_json meta_for(int value) { return {{"state", {{"value", value}}}}; }

TEST(CheckpointStore, WritesAFolderPerStepAndReadsItBack) {
  TempDir run;
  CheckpointStore store(run.path(), 2);
  const std::string path = store.write(120, "tensor bytes", meta_for(7));
  EXPECT_EQ(fs::path(path).filename(), "step-0000120");
  const StoredCheckpoint loaded = CheckpointStore::load(path);
  EXPECT_EQ(loaded.state, "tensor bytes");
  EXPECT_EQ(loaded.meta["state"]["value"], 7);
  EXPECT_EQ(loaded.meta["step"], 120);
}

TEST(CheckpointStore, KeepsTheNewestAndOrdersStepsNumerically) {
  TempDir run;
  CheckpointStore store(run.path(), 2);
  for (int64_t step : {5, 40, 300, 12000000}) store.write(step, "s" + std::to_string(step), meta_for(0));
  const auto folders = store.list();
  ASSERT_EQ(folders.size(), 2u);
  EXPECT_EQ(fs::path(folders[0]).filename(), "step-0000300");
  EXPECT_EQ(fs::path(folders[1]).filename(), "step-12000000");  // past 7 digits, still the newest
}

TEST(CheckpointStore, ADamagedNewestFallsBackToThePreviousWithAWarning) {
  TempDir run;
  CheckpointStore store(run.path(), 3);
  store.write(10, "older state", meta_for(1));
  const std::string newest = store.write(20, "newer state", meta_for(2));
  {
    std::fstream f(newest + "/state.pt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2);
    f.put('X');  // same size, other bytes: only the checksum can tell
  }
  static std::string warned;
  warned.clear();
  const auto loaded = store.load_newest([](const std::string& w) { warned += w; });
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->state, "older state");
  EXPECT_NE(warned.find("damaged"), std::string::npos) << warned;
  EXPECT_THROW(CheckpointStore::load(newest), InputError);
}

TEST(CheckpointStore, AFolderWithoutItsDescriptionIsNoCheckpoint) {
  TempDir run;
  CheckpointStore store(run.path(), 2);
  const std::string path = store.write(10, "state", meta_for(1));
  fs::remove(path + "/checkpoint.json");
  EXPECT_FALSE(store.load_newest(nullptr).has_value());
  EXPECT_THROW(CheckpointStore::load(run.path() + "/nowhere"), InputError);
}

TEST(CheckpointStore, AFailedWriteLeavesNothingAndKeepsThePrevious) {
  TempDir run;
  CheckpointStore store(run.path(), 2);
  store.write(10, "small", meta_for(1));
  // A write that fails part-way, as on a full disk: the file size limit stops it with EFBIG.
  rlimit saved{}, small{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  small = saved;
  small.rlim_cur = 64 * 1024;
  auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string error;
  try {
    store.write(20, std::string(256 * 1024, 'x'), meta_for(2));
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);
  EXPECT_NE(error.find("state.pt: cannot write: File too large"), std::string::npos) << error;
  EXPECT_EQ(store.list().size(), 1u);
  EXPECT_EQ(store.load_newest(nullptr)->state, "small");
  for (const auto& entry : fs::directory_iterator(store.dir())) {
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
  }
}

TEST(CheckpointStore, RemovesThePartialFoldersOfAKilledRun) {
  TempDir run;
  CheckpointStore store(run.path(), 2);
  store.write(10, "state", meta_for(1));
  fs::create_directories(store.dir() + "/.partial-step-0000020-4242");
  EXPECT_EQ(store.remove_partials(), 1);
  EXPECT_EQ(store.list().size(), 1u);
  EXPECT_FALSE(fs::exists(store.dir() + "/.partial-step-0000020-4242"));
}

}  // namespace
}  // namespace mlrec::train
