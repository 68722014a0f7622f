#include "mlrec/config/sweep.h"

#include <gtest/gtest.h>

#include <set>

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

}  // namespace
}  // namespace mlrec::config
