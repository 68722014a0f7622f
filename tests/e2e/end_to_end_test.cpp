// The whole pipeline on a seeded synthetic MovieLens-1M-format dataset written by the test:
// configuration -> data -> model -> trainer -> run directory. The learned models must beat the
// median baseline, which they can only do by learning the structure the generator put in.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <torch/torch.h>

#include "mlrec/config/config.h"
#include "mlrec/data/load.h"
#include "mlrec/data/synthetic.h"
#include "mlrec/distributed/process_group.h"
#include "mlrec/train/run.h"
#include "support/temp_dir.h"

namespace mlrec {
namespace {

namespace fs = std::filesystem;

class EndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test_support::TempDir();
    data::SyntheticOptions options;
    options.users = 400;
    options.movies = 150;
    options.ratings_per_user_min = 30;
    options.ratings_per_user_max = 70;
    options.seed = 11;
    data::write_synthetic_movielens(dir_->file("data"), data::Release::kMovieLens1M, options);
  }
  static void TearDownTestSuite() { delete dir_; }

  // Trains `model` with small sizes and returns the parsed summary.json.
  YAML::Node run(const std::string& model, std::vector<std::string> extra = {}) {
    std::vector<std::string> overrides = {
        "model.name=" + model, "data.dir=" + dir_->file("data"),
        "output.dir=" + dir_->file("runs/" + model), "train.batch_size=256", "train.epochs=6",
        "train.threads=2", "train.log_every_steps=0", "model.embedding_init_std=0.1",
        "model.factors=16", "model.embedding_dim=32", "model.heads=4", "model.ff_dim=64",
        "model.mlp_dims=[64,32,16]", "train.lr=0.005"};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    auto config = config::config_from_yaml_string("{}", overrides);
    dist::ProcessGroup group;
    group.comm = dist::make_local_communicator();
    train::run_training(config, group);
    return YAML::LoadFile(dir_->file("runs/" + model + "/summary.json"));
  }

  static test_support::TempDir* dir_;
};
test_support::TempDir* EndToEnd::dir_ = nullptr;

TEST_F(EndToEnd, LearnedModelsBeatTheMedianBaselineAndWriteTheRunDirectory) {
  const double baseline = run("baseline")["valid"]["mae"].as<double>();
  const YAML::Node mf = run("mf");
  const YAML::Node seq = run("seq_features");
  EXPECT_LT(mf["valid"]["mae"].as<double>(), baseline - 0.02);
  EXPECT_LT(seq["valid"]["mae"].as<double>(), baseline - 0.02);

  for (const std::string model : {"mf", "seq_features"}) {
    const fs::path dir = dir_->file("runs/" + model);
    const YAML::Node s = YAML::LoadFile((dir / "summary.json").string());
    EXPECT_EQ(s["model"].as<std::string>(), model);
    EXPECT_EQ(s["valid"]["count"].as<int>(), 400);  // one held-out rating per user
    EXPECT_EQ(s["world_size"].as<int>(), 1);
    EXPECT_GE(s["best_epoch"].as<int>(), 1);
    EXPECT_LE(s["best_epoch"].as<int>(), s["epochs_run"].as<int>());
    EXPECT_GT(s["samples_per_second"].as<double>(), 0);
    EXPECT_GT(s["data_seconds"].as<double>(), 0);
    EXPECT_FALSE(s["torch"].as<std::string>().empty());
    EXPECT_TRUE(fs::exists(dir / "best.pt"));
    // The resolved configuration reloads to the same model.
    auto resolved = config::load_config((dir / "config.yaml").string(), {});
    EXPECT_EQ(resolved.model.name, model);

    std::ifstream metrics(dir / "metrics.jsonl");
    std::string line;
    int epoch = 0;
    while (std::getline(metrics, line)) {
      const YAML::Node m = YAML::Load(line);
      EXPECT_EQ(m["epoch"].as<int>(), ++epoch);
      for (const char* key : {"train_loss", "mae", "mse", "rmse", "lr", "seconds", "samples_per_second"}) {
        EXPECT_TRUE(m[key].IsDefined()) << key;
      }
    }
    EXPECT_EQ(epoch, s["epochs_run"].as<int>());
  }
}

TEST_F(EndToEnd, MfWithHistoryLearns) {
  const double baseline = run("baseline")["valid"]["mae"].as<double>();
  const YAML::Node s = run("mf_history");
  EXPECT_EQ(s["model"].as<std::string>(), "mf_history");
  EXPECT_LT(s["valid"]["mae"].as<double>(), baseline - 0.02);
}

TEST_F(EndToEnd, ItemKnnFitsInClosedFormAndBeatsTheBaseline) {
  const double baseline = run("baseline")["valid"]["mae"].as<double>();
  const YAML::Node s = run("item_knn");
  EXPECT_EQ(s["model"].as<std::string>(), "item_knn");
  EXPECT_LT(s["valid"]["mae"].as<double>(), baseline - 0.02);
  EXPECT_TRUE(fs::exists(dir_->file("runs/item_knn/best.pt")));  // the fitted tables, for predict and blend
}

TEST_F(EndToEnd, BayesSvdppFitsBySamplingAndBeatsTheBaseline) {
  const double baseline = run("baseline")["valid"]["mae"].as<double>();
  const YAML::Node s = run("bayes_svdpp", {"model.sweeps=40", "model.burn_in=10"});
  EXPECT_EQ(s["model"].as<std::string>(), "bayes_svdpp");
  EXPECT_LT(s["valid"]["mae"].as<double>(), baseline - 0.02);
  EXPECT_TRUE(fs::exists(dir_->file("runs/bayes_svdpp/best.pt")));  // the kept samples, for predict and blend
}

// The leakage guard (issue 20): ratings that are coin flips (1 or 5, independent of everything)
// cannot be predicted, so no model may beat the best constant on the test set by more than
// chance. A model that read the target's rating, or anything after it, would get close to 0.
TEST(LeakageGuard, OnCoinFlipRatingsNoModelBeatsTheBestConstant) {
  test_support::TempDir dir;
  data::SyntheticOptions options;
  options.users = 300;
  options.movies = 100;
  options.seed = 5;
  data::write_synthetic_movielens(dir.file("data"), data::Release::kMovieLens1M, options);
  {
    std::ifstream in(dir.file("data/ratings.dat"));
    std::stringstream flipped;
    std::mt19937 coin(17);
    std::string line;
    while (std::getline(in, line)) {  // user::movie::RATING::timestamp
      const size_t a = line.find("::", line.find("::") + 2) + 2, b = line.find("::", a);
      flipped << line.substr(0, a) << (coin() % 2 ? 5 : 1) << line.substr(b) << "\n";
    }
    std::ofstream(dir.file("data/ratings.dat"), std::ios::trunc) << flipped.str();
  }
  config::Config::Data data_options;
  data_options.dir = dir.file("data");
  data_options.test_per_user = 1;
  const auto targets = data::load_data(data_options).test.targets();
  const double fives = targets.eq(5).to(torch::kFloat64).mean().item<double>();
  const double best_constant = 4 * std::min(fives, 1 - fives);  // predicting the commoner value
  for (const std::string model : {"mf", "mf_history", "item_knn", "bayes_svdpp", "seq_ratings"}) {
    auto config = config::config_from_yaml_string(
        "{}", {"model.name=" + model, "data.dir=" + dir.file("data"), "data.test_per_user=1",
               "output.dir=" + dir.file("runs/" + model), "train.batch_size=256", "train.epochs=4",
               "train.threads=2", "train.log_every_steps=0", "model.embedding_init_std=0.1", "model.factors=16",
               "model.embedding_dim=32", "model.heads=4", "model.ff_dim=64", "model.mlp_dims=[64,32,16]",
               "train.lr=0.005"});
    dist::ProcessGroup group;
    group.comm = dist::make_local_communicator();
    const auto result = train::run_training(config, group);
    EXPECT_GT(result.test.mae, best_constant - 0.1) << model << " predicts coin flips: it reads the future";
  }
}

TEST_F(EndToEnd, SequenceVariantsWithRatingsRun) {
  const YAML::Node s = run("seq_ratings", {"train.epochs=1", "train.max_steps_per_epoch=5"});
  EXPECT_EQ(s["epochs_run"].as<int>(), 1);
  EXPECT_EQ(s["steps_per_epoch"].as<int>(), 5);
  EXPECT_EQ(s["train_samples"].as<int>(), 5 * 256);
}

}  // namespace
}  // namespace mlrec
