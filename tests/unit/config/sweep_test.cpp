#include "mlrec/config/sweep.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "mlrec/common/error.h"

namespace mlrec::config {
namespace {

TEST(Sweep, GridExpandsEveryCombinationInOrder) {
  const auto spec = sweep_from_yaml_string(R"(
base: configs/mf.yaml
output: runs/s
set: {data.test_per_user: 1}
grid:
  train.lr: [0.001, 0.003]
  model.factors: [32, 64, 128]
)");
  EXPECT_EQ(spec.base, "configs/mf.yaml");
  EXPECT_EQ(spec.output, "runs/s");
  ASSERT_EQ(spec.fixed, std::vector<std::string>{"data.test_per_user=1"});
  ASSERT_EQ(spec.trials.size(), 6u);
  EXPECT_EQ(spec.trials[0], (std::vector<std::string>{"train.lr=0.001", "model.factors=32"}));
  EXPECT_EQ(spec.trials[5], (std::vector<std::string>{"train.lr=0.003", "model.factors=128"}));
}

TEST(Sweep, GridOverBudgetKeepsASeededSubset) {
  const std::string text = "base: b.yaml\ngrid: {model.factors: [1, 2, 3, 4, 5, 6, 7, 8]}\ntrials: 3\nseed: ";
  const auto a = sweep_from_yaml_string(text + "1"), b = sweep_from_yaml_string(text + "1");
  EXPECT_EQ(a.trials.size(), 3u);
  EXPECT_EQ(a.trials, b.trials);
  std::set<std::vector<std::string>> distinct(a.trials.begin(), a.trials.end());
  EXPECT_EQ(distinct.size(), 3u);
}

TEST(Sweep, AThinnedGridKeepsTheTrialsEarlierVersionsKept) {
  // A sweep's folders are continued by a later mlrec only if trial i is still the same settings:
  // these 7 of 30 are what the implementation before 2026-12-07 (which built every combination
  // and shuffled them) kept.
  const auto spec = sweep_from_yaml_string(
      "base: b.yaml\ngrid:\n  model.factors: [8, 16, 32, 64, 128]\n  train.lr: [0.001, 0.003, 0.01]\n"
      "  train.weight_decay: [0.01, 0.05]\ntrials: 7\nseed: 5\n");
  std::vector<std::string> settings;
  for (size_t i = 0; i < spec.trials.size(); ++i) settings.push_back(spec.trial_settings(i, " "));
  EXPECT_EQ(settings, (std::vector<std::string>{
                          "model.factors=8 train.lr=0.001 train.weight_decay=0.01",
                          "model.factors=16 train.lr=0.003 train.weight_decay=0.01",
                          "model.factors=16 train.lr=0.01 train.weight_decay=0.01",
                          "model.factors=32 train.lr=0.003 train.weight_decay=0.01",
                          "model.factors=32 train.lr=0.003 train.weight_decay=0.05",
                          "model.factors=64 train.lr=0.003 train.weight_decay=0.05",
                          "model.factors=64 train.lr=0.01 train.weight_decay=0.05",
                      }));
}

TEST(Sweep, RandomSearchDrawsWithinBoundsReproducibly) {
  const std::string text = R"(
base: b.yaml
random:
  train.lr: {log_uniform: [0.0001, 0.01]}
  model.dropout: {uniform: [0.0, 0.3]}
  model.factors: {choice: [16, 32]}
  model.heads: {int_uniform: [2, 4]}
trials: 20
seed: 5
)";
  const auto a = sweep_from_yaml_string(text), b = sweep_from_yaml_string(text);
  ASSERT_EQ(a.trials.size(), 20u);
  EXPECT_EQ(a.trials, b.trials);
  std::set<std::string> heads;
  for (const auto& trial : a.trials) {
    ASSERT_EQ(trial.size(), 4u);
    const double lr = std::stod(trial[0].substr(trial[0].find('=') + 1));
    EXPECT_GE(lr, 0.0001);
    EXPECT_LE(lr, 0.01);
    const double dropout = std::stod(trial[1].substr(trial[1].find('=') + 1));
    EXPECT_GE(dropout, 0.0);
    EXPECT_LE(dropout, 0.3);
    EXPECT_TRUE(trial[2] == "model.factors=16" || trial[2] == "model.factors=32");
    heads.insert(trial[3]);
  }
  EXPECT_EQ(heads, (std::set<std::string>{"model.heads=2", "model.heads=3", "model.heads=4"}));
  const auto other = sweep_from_yaml_string(text.substr(0, text.size() - 2) + "6\n");
  EXPECT_NE(other.trials, a.trials);
}

TEST(Sweep, BadKeysValuesAndShapesAreErrorsNamingThem) {
  auto message = [](const std::string& text) {
    try {
      sweep_from_yaml_string(text, "s.yaml");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("base: b.yaml\ngrid: {train.nope: [1]}").find("train.nope"), std::string::npos);
  EXPECT_NE(message("base: b.yaml\ngrid: {train.epochs: [0]}").find("train.epochs"), std::string::npos);
  EXPECT_NE(message("base: b.yaml\nset: {train.lr: abc}\ngrid: {train.epochs: [1]}").find("train.lr"), std::string::npos);
  EXPECT_NE(message("grid: {train.epochs: [1]}").find("base"), std::string::npos);
  EXPECT_NE(message("base: b.yaml").find("exactly one"), std::string::npos);
  EXPECT_NE(message("base: b.yaml\nrandom: {train.lr: {uniform: [0.1, 0.2]}}").find("trials"), std::string::npos);
  EXPECT_NE(message("base: b.yaml\nrandom: {train.lr: {normal: [0, 1]}}\ntrials: 2").find("train.lr"), std::string::npos);
  EXPECT_NE(message("base: b.yaml\ngrid: {train.epochs: [1]}\nbudget: 3").find("budget"), std::string::npos);
  EXPECT_THROW(sweep_from_yaml_string("base: [unclosed", "s.yaml"), InputError);
}

// Each of these was read by yaml-cpp's own conversions ("bad conversion", exit 1, no file),
// silently accepted, or silently resolved one way.
TEST(Sweep, MalformedEntriesAreErrorsNamingTheFileAndLine) {
  auto message = [](const std::string& text) {
    try {
      sweep_from_yaml_string(text, "s.yaml");
    } catch (const InputError& e) {
      return std::string(e.what());
    } catch (const ConfigError& e) {
      return std::string(e.what());
    } catch (const std::exception& e) {
      return std::string("wrong exception: ") + e.what();
    }
    return std::string("no error");
  };
  const std::string grid = "grid: {train.epochs: [1, 2]}\n";
  EXPECT_EQ(message("base: b.yaml\n" + grid + "seed: abc\n"), "s.yaml:3: 'seed' must be a whole number >= 0, got 'abc'");
  EXPECT_EQ(message("base: b.yaml\n" + grid + "seed: -1\n"), "s.yaml:3: 'seed' must be a whole number >= 0, got '-1'");
  EXPECT_EQ(message("base: b.yaml\noutput: [a]\n" + grid), "s.yaml:2: 'output' must be a folder name");
  EXPECT_EQ(message("base: b.yaml\ngrid: [a, b]\n"),
            "s.yaml:2: 'grid' must be a map of one or more configuration keys to values");
  EXPECT_EQ(message("base: b.yaml\ngrid: {}\n"), "s.yaml:2: 'grid' must be a map of one or more configuration keys to values");
  EXPECT_EQ(message("base: b.yaml\nset: 5\n" + grid), "s.yaml:2: 'set' must be a map of configuration keys to values");
  EXPECT_EQ(message("base: b.yaml\nrandom: {}\ntrials: 3\n"),
            "s.yaml:2: 'random' must be a map of one or more configuration keys to values");
  EXPECT_EQ(message("base: b.yaml\ngrid: {[a]: [0.1]}\n"), "s.yaml:2: keys must be plain names");
  EXPECT_EQ(message("base: b.yaml\ngrid:\n  train.lr: [0.1, 0.2]\n  train.lr: [0.3]\n"),
            "s.yaml:4: 'train.lr' is given twice in 'grid'");
  EXPECT_EQ(message("base: b.yaml\n" + grid + grid), "s.yaml:3: 'grid' is given twice");
  EXPECT_EQ(message("base: b.yaml\nset: {train.epochs: 3}\n" + grid),
            "config key 'train.epochs': is in both 'set' and 'grid' of s.yaml");
  EXPECT_EQ(message("base: b.yaml\nrandom: {train.lr: {uniform: [a, 1]}}\ntrials: 2\n"),
            "s.yaml:2: train.lr's low must be a finite number, got 'a'");
  EXPECT_EQ(message("base: b.yaml\nrandom: {train.epochs: {int_uniform: [1.5, 2.5]}}\ntrials: 2\n"),
            "config key 'train.epochs': int_uniform needs whole-number bounds within +-2147483647");
  EXPECT_EQ(message("base: b.yaml\nrandom: {train.seed: {int_uniform: [0, 1e30]}}\ntrials: 2\n"),
            "config key 'train.seed': int_uniform needs whole-number bounds within +-2147483647");
}

TEST(Sweep, AThinnedLargeGridKeepsOnlyItsTrialsAndAGiantOneIsRefused) {
  // 810,000 combinations thinned to 5: each trial's settings decoded from its number, in grid
  // order (kept every combination's settings first: 738 MB).
  std::string axes;
  for (const char* key : {"train.epochs", "model.factors", "train.batch_size", "train.seed"}) {
    axes += std::string("  ") + key + ": [";
    for (int v = 1; v <= 30; ++v) axes += (v > 1 ? ", " : "") + std::to_string(v);
    axes += "]\n";
  }
  const auto spec = sweep_from_yaml_string("base: b.yaml\ngrid:\n" + axes + "trials: 5\nseed: 3\n");
  ASSERT_EQ(spec.trials.size(), 5u);
  for (const auto& trial : spec.trials) {
    ASSERT_EQ(trial.size(), 4u);
    EXPECT_EQ(trial[0].rfind("train.epochs=", 0), 0u);
    EXPECT_EQ(trial[3].rfind("train.seed=", 0), 0u);
  }
  EXPECT_TRUE(std::is_sorted(spec.trials.begin(), spec.trials.end(), [](const auto& a, const auto& b) {
    // grid order: by each axis's value index, the first axis slowest
    for (size_t i = 0; i < a.size(); ++i) {
      const int x = std::stoi(a[i].substr(a[i].find('=') + 1)), y = std::stoi(b[i].substr(b[i].find('=') + 1));
      if (x != y) return x < y;
    }
    return false;
  }));
  const std::string fifth = "  train.lr: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3]\n";
  try {
    sweep_from_yaml_string("base: b.yaml\ngrid:\n" + axes + fifth + "trials: 5\n", "s.yaml");
    ADD_FAILURE() << "a grid of 10,530,000 combinations was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("more than 10000000 combinations"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mlrec::config
