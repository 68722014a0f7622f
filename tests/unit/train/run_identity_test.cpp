// What makes two runs the same run, and the run directory's lock.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "mlrec/common/error.h"
#include "mlrec/train/run_directory.h"
#include "mlrec/train/run_identity.h"
#include "support/temp_dir.h"

namespace mlrec::train {
namespace {

TEST(RunIdentity, NamesTheFirstDifferingKeyWithBothValues) {
  config::Config a, b;
  b.train.lr = 0.02;
  b.model.factors = 64;
  const auto difference = first_config_difference(identity_of(a), identity_of(b));
  ASSERT_TRUE(difference.has_value());
  // model.* comes before train.* in the table.
  EXPECT_EQ(*difference, "model.factors (120 there, 64 here)");
}

TEST(RunIdentity, IgnoresWhereTheRunWritesHowItCheckpointsAndWhatItProfiles) {
  config::Config a, b;
  b.output.dir = "elsewhere";
  b.checkpoint.every_steps = 10;
  b.profile.steps = 4;  // a resumed run may be profiled, or not
  b.train.threads = 3;
  b.data.dir = "/local/copy";  // the data's fingerprint decides
  EXPECT_FALSE(first_config_difference(identity_of(a), identity_of(b)).has_value());
}

TEST(RunIdentity, AKeyNewerThanTheCheckpointMatchesOnlyAtItsDefault) {
  // A checkpoint of an older mlrec lacks the keys added since (data.format, train.ranking, ...):
  // their defaults are what that version did.
  config::Config c;
  RunIdentity older = identity_of(c);
  older.config.erase(std::remove_if(older.config.begin(), older.config.end(),
                                    [](const auto& kv) { return kv.first == "data.format" || kv.first == "train.ranking"; }),
                     older.config.end());
  EXPECT_FALSE(first_config_difference(older, identity_of(c)).has_value());
  c.train.ranking = "off";
  EXPECT_EQ(*first_config_difference(older, identity_of(c)), "train.ranking (absent there, off here)");
}

TEST(RunIdentity, RoundTripsThroughJson) {
  config::Config c;
  c.train.seed = 7;
  RunIdentity identity = identity_of(c);
  identity.data = "crc32 1 2 3";
  identity.version = "0.1.0 (git abc)";
  const RunIdentity back = RunIdentity::from_json(identity.to_json());
  EXPECT_EQ(back.data, identity.data);
  EXPECT_EQ(back.version, identity.version);
  EXPECT_FALSE(first_config_difference(back, identity).has_value());
  config::Config other;
  EXPECT_EQ(*first_config_difference(back, identity_of(other)), "train.seed (7 there, 42 here)");
}

TEST(RunDirectoryLock, ASecondHolderIsRefusedWithTheFirstNamed) {
  test_support::TempDir dir;
  const std::string run = dir.path() + "/run";
  RunDirectoryLock first(run);
  try {
    RunDirectoryLock second(run);  // flock locks belong to open files: a second open conflicts
    FAIL() << "a second lock was granted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("is in use by another run (pid "), std::string::npos) << e.what();
  }
}

TEST(RunDirectoryLock, IsReleasedWithItsHolder) {
  test_support::TempDir dir;
  const std::string run = dir.path() + "/run";
  { RunDirectoryLock first(run); }
  EXPECT_NO_THROW(RunDirectoryLock again(run));
}

TEST(RunDirectory, RemovesOnlyItsOwnFilesAndTemporaries) {
  test_support::TempDir dir;
  namespace fs = std::filesystem;
  const RunDirectory run(dir.path(), true);
  for (const char* name : {"config.yaml", "metrics.jsonl", "best.pt.tmp.123", "notes.txt"}) {
    test_support::write_file(dir.path() + "/" + name, "x");
  }
  fs::create_directories(dir.path() + "/checkpoints/step-0000001");
  EXPECT_TRUE(run.holds_run_files());
  EXPECT_EQ(run.remove_temporaries(), 1);
  run.remove_run_files();
  EXPECT_FALSE(run.holds_run_files());
  EXPECT_TRUE(fs::exists(dir.path() + "/notes.txt"));  // not a file of the run's: kept
}

}  // namespace
}  // namespace mlrec::train
