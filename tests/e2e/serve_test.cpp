// Using a trained model as a user would (mlrec_dist predict, recommend, export): predictions
// reproduce the run's validation MAE, recommendations never repeat what a user rated, and the
// exported MF model gives mlrec's prediction in plain Python with README's snippet.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mlrec/common/file_io.h"
#include "mlrec/data/movielens.h"
#include "mlrec/data/prepare.h"
#include "mlrec/train/run_directory.h"
#include "mlrec/train/run_record.h"
#include "support/run_cli.h"
#include "support/temp_dir.h"

namespace mlrec {
namespace {

using test_support::run_cli;

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream fields_in(line);
    std::string field;
    while (std::getline(fields_in, field, ',')) fields.push_back(field);
    rows.push_back(fields);
  }
  return rows;
}

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = tmp_.file("data");
    // 200 movies: every user (20 to 60 ratings) has more than k unrated ones to recommend.
    ASSERT_EQ(run_cli("synth --out " + data_ + " --users 60 --movies 200 --seed 3").status, 0);
  }
  // Trains `model` (small sizes) into runs/NAME and returns the run directory.
  std::string train(const std::string& model, const std::string& extra = "") {
    const std::string out = tmp_.file("runs/" + model);
    const auto r = run_cli("--config " + std::string(MLREC_SOURCE_DIR) + "/configs/smoke.yaml --set data.dir=" + data_ +
                           " --set output.dir=" + out + " --set train.batch_size=64 --set model.name=" + model +
                           " --set model.embedding_dim=16 --set model.heads=4 --set model.ff_dim=32"
                           " --set model.mlp_dims=[32,16,8] --set model.embedding_init_std=0.1 --set train.threads=1 " +
                           extra);
    EXPECT_EQ(r.status, 0) << r.output;
    return out;
  }
  // The run's validation pairs, as a user would write them: user, item, timestamp, rating.
  std::string write_validation_pairs() {
    const auto prepared = data::prepare_ratings(data::load_movielens(data_), data::SplitOptions{});
    std::string csv = "user_id,item_id,timestamp,rating\n";
    for (const int64_t r : prepared.valid_rows) {
      const auto row = static_cast<size_t>(r);
      csv += std::to_string(prepared.raw_user[static_cast<size_t>(prepared.user[row])]) + "," +
             std::to_string(prepared.raw_movie[static_cast<size_t>(prepared.movie[row])]) + "," +
             std::to_string(prepared.timestamp[row]) + "," + std::to_string(prepared.rating[row]) + "\n";
    }
    const std::string path = tmp_.file("valid_pairs.csv");
    write_file_atomic(path, csv);
    return path;
  }
  test_support::TempDir tmp_;
  std::string data_;
};

// The blend (issue 20): fitted on validation only, reported once on test. Least squares with an
// intercept can always reproduce one member alone, so on validation it is never worse than the
// best member; each member's figures are its run's own; runs on another split are refused.
TEST_F(Serve, BlendFitsOnValidationAndReportsTest) {
  const std::string protocol = "--set data.test_per_user=1 --set train.epochs=3";
  const std::string mf = train("mf", protocol), history = train("mf_history", protocol);
  const std::string json = tmp_.file("blend.json");
  const auto r = run_cli("blend " + mf + " " + history + " --out " + json);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("**blend**"), std::string::npos) << r.output;
  const auto blend = nlohmann::json::parse(read_file(json, "blend"));
  ASSERT_EQ(blend["members"].size(), 2u);
  double best_member_rmse = 1e9;
  for (const auto& m : blend["members"]) {
    const std::string run = m["run"];
    const train::RunSummary summary = train::read_run_summary(run + "/summary.json");
    ASSERT_TRUE(summary.test.has_value());
    // What blend scored for the member is what the run scored for itself.
    EXPECT_NEAR(m["valid"]["mae"].get<double>(), summary.valid.mae, 1e-5) << run;
    EXPECT_NEAR(m["test"]["mae"].get<double>(), summary.test->mae, 1e-5) << run;
    EXPECT_TRUE(std::isfinite(m["weight"].get<double>()));
    best_member_rmse = std::min(best_member_rmse, m["valid"]["rmse"].get<double>());
  }
  EXPECT_LE(blend["valid"]["rmse"].get<double>(), best_member_rmse + 1e-9);
  EXPECT_EQ(blend["valid"]["count"].get<int>(), 60);
  EXPECT_EQ(blend["test"]["count"].get<int>(), 60);
  EXPECT_GT(blend["test"]["mae"].get<double>(), 0);

  // A member of the study's protocol has no test set; one of another split is other data.
  const std::string study = train("baseline");
  auto refused = run_cli("blend " + mf + " " + study);
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.output.find("data.test_per_user=1"), std::string::npos) << refused.output;
  const std::string two = tmp_.file("runs/two");
  ASSERT_EQ(run_cli("--config " + std::string(MLREC_SOURCE_DIR) + "/configs/smoke.yaml --set data.dir=" + data_ +
                    " --set output.dir=" + two + " --set data.test_per_user=2 --set train.threads=1")
                .status,
            0);
  refused = run_cli("blend " + mf + " " + two);
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.output.find("other data or another split"), std::string::npos) << refused.output;
}

// A blend as one configuration (blend.members; configs/best.yaml): one command trains the members
// on the blend's data, per seed, and blends them; the seeds' mean and spread go to seeds.json.
TEST_F(Serve, ABlendConfigurationTrainsItsMembersAndBlendsThemPerSeed) {
  const std::string smoke = std::string(MLREC_SOURCE_DIR) + "/configs/smoke.yaml";
  const std::string knn = tmp_.file("knn.yaml"), blend = tmp_.file("blend.yaml");
  write_file_atomic(knn, "model: {name: item_knn, neighbours: 10}\n");
  // The members' own data sections (smoke.yaml's) are replaced by the blend's.
  write_file_atomic(blend, "blend: {members: '" + smoke + ", " + knn + "', member_seeds: 2}\ndata: {dir: " + data_ +
                               ", test_per_user: 1}\noutput: {dir: " + tmp_.file("runs/blend") + "}\n");
  const auto r = run_cli("--config " + blend + " --seeds 1,2 --set train.threads=1 --set train.epochs=2");
  ASSERT_EQ(r.status, 0) << r.output;
  std::vector<double> knn_test;
  for (const std::string seed : {"1", "2"}) {
    const std::string dir = tmp_.file("runs/blend/seed-" + seed);
    const auto report = nlohmann::json::parse(read_file(dir + "/blend.json", "blend"));
    // member_seeds: 2 trains the MF twice, with two seeds; item_knn, fitted in closed form, once.
    ASSERT_EQ(report["members"].size(), 3u);
    EXPECT_EQ(report["members"][0]["run"], dir + "/smoke");
    EXPECT_EQ(report["members"][1]["run"], dir + "/smoke-1");
    EXPECT_EQ(report["members"][2]["model"], "item_knn");
    EXPECT_EQ(train::read_run_summary(dir + "/smoke/summary.json").seed, std::stoll(seed));
    EXPECT_EQ(train::read_run_summary(dir + "/smoke-1/summary.json").seed, std::stoll(seed) + 1000000);
    EXPECT_EQ(report["test"]["count"].get<int>(), 60);
    double best_member_rmse = 1e9;
    for (const auto& m : report["members"]) best_member_rmse = std::min(best_member_rmse, m["valid"]["rmse"].get<double>());
    EXPECT_LE(report["valid"]["rmse"].get<double>(), best_member_rmse + 1e-9);
    knn_test.push_back(report["members"][2]["test"]["mae"].get<double>());
  }
  EXPECT_EQ(knn_test[0], knn_test[1]);  // a closed-form fit: the seed changes nothing
  const auto seeds = nlohmann::json::parse(read_file(tmp_.file("runs/blend/seeds.json"), "seeds"));
  EXPECT_EQ(seeds["model"], "blend");
  EXPECT_EQ(seeds["seeds"].get<int>(), 2);
  EXPECT_GT(seeds["test"]["mae"]["mean"].get<double>(), 0);

  // A member that is not there is refused before anything trains.
  write_file_atomic(blend, "blend: {members: '" + smoke + ", " + tmp_.file("nope.yaml") + "'}\ndata: {dir: " +
                               data_ + ", test_per_user: 1}\noutput: {dir: " + tmp_.file("runs/bad") + "}\n");
  const auto refused = run_cli("--config " + blend);
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.output.find("blend.members"), std::string::npos) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(tmp_.file("runs/bad")));
}

// An exported item_knn says how its tensors make a rating (not the BST's text, its fallback).
TEST_F(Serve, ExportedItemKnnDescribesItsOwnPrediction) {
  const std::string run = train("item_knn");
  const std::string exported = tmp_.file("exported-knn");
  const auto r = run_cli("export --run " + run + " --out " + exported);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto model = nlohmann::json::parse(read_file(exported + "/model.json", "model.json"));
  const std::string prediction = model["prediction"];
  EXPECT_NE(prediction.find("item neighbourhood"), std::string::npos) << prediction;
  EXPECT_NE(prediction.find("rating_scale.min"), std::string::npos) << prediction;  // it clamps to the scale
  EXPECT_NE(prediction.find("history window"), std::string::npos) << prediction;    // and the window votes
  EXPECT_NE(read_file(exported + "/model.safetensors", "weights").find("\"similarity\""), std::string::npos);

  // Every tensor starts at a multiple of its element size (item_knn has float64, float32, int64
  // and int32 ones), so that a reader can map them in place.
  const std::string bytes = read_file(exported + "/model.safetensors", "weights");
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = header_size << 8 | static_cast<unsigned char>(bytes[size_t(i)]);
  EXPECT_EQ((8 + header_size) % 8, 0u);
  const auto header = nlohmann::json::parse(bytes.substr(8, header_size));
  const std::map<std::string, size_t> width = {{"F64", 8}, {"I64", 8}, {"F32", 4}, {"I32", 4}};
  for (const auto& [name, tensor] : header.items()) {
    if (name == "__metadata__") continue;
    const size_t begin = tensor["data_offsets"][0];
    EXPECT_EQ(begin % width.at(tensor["dtype"]), 0u) << name << " " << tensor.dump();
  }
  // A run folder that is not there is named as such.
  const auto missing = run_cli("export --run " + tmp_.file("no_such_run") + " --out " + tmp_.file("x"));
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.output.find("no_such_run: no such run directory"), std::string::npos) << missing.output;

  // --out naming a file: refused (exit 2, saying so) with or without --overwrite, the file kept.
  const std::string file = tmp_.file("a_file.csv");
  write_file_atomic(file, "kept\n");
  for (const std::string overwrite : {"", " --overwrite"}) {
    const auto refused = run_cli("export --run " + run + " --out " + file + overwrite);
    EXPECT_EQ(refused.status, 2) << refused.output;
    EXPECT_NE(refused.output.find("--out " + file + " is a file, not a folder"), std::string::npos) << refused.output;
  }
  EXPECT_EQ(read_file(file, "file"), "kept\n");
}

TEST_F(Serve, ExportedBayesSvdppDescribesItsOwnPrediction) {
  const std::string run = train("bayes_svdpp", "--set model.sweeps=12 --set model.burn_in=4");
  const std::string exported = tmp_.file("exported-bayes");
  const auto r = run_cli("export --run " + run + " --out " + exported);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto model = nlohmann::json::parse(read_file(exported + "/model.json", "model.json"));
  const std::string prediction = model["prediction"];
  EXPECT_NE(prediction.find("Gibbs samples"), std::string::npos) << prediction;
  EXPECT_NE(prediction.find("rating_scale.min"), std::string::npos) << prediction;  // it clamps to the scale
  EXPECT_NE(read_file(exported + "/model.safetensors", "weights").find("\"user_implicit\""), std::string::npos);
}

TEST_F(Serve, PredictReproducesTheValidationMaeOfTheRun) {
  const std::string pairs = write_validation_pairs();
  for (const std::string model : {"mf", "item_knn", "bayes_svdpp", "seq_ratings"}) {
    const std::string run = train(model, model == "bayes_svdpp" ? "--set model.sweeps=30 --set model.burn_in=10" : "");
    const std::string out = tmp_.file("predictions-" + model + ".csv");
    const auto r = run_cli("predict --run " + run + " --input " + pairs + " --out " + out + " --threads 1");
    ASSERT_EQ(r.status, 0) << r.output;
    const auto expected = read_csv(pairs), got = read_csv(out);
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_EQ(got[0], (std::vector<std::string>{"user_id", "item_id", "timestamp", "prediction", "known"}));
    double abs_error = 0;
    for (size_t i = 1; i < got.size(); ++i) {
      ASSERT_EQ(got[i][0], expected[i][0]);
      EXPECT_EQ(got[i][4], "1");
      abs_error += std::abs(std::stod(got[i][3]) - std::stod(expected[i][3]));
    }
    const auto summary = train::read_run_summary(run + "/summary.json");
    // The sequence model sees each pair's history exactly as in the run's evaluation.
    EXPECT_NEAR(abs_error / double(got.size() - 1), summary.valid.mae, 1e-5) << model;
  }
}

TEST_F(Serve, PredictGivesUnknownIdsTheTrainingMeanAndRejectsBadInput) {
  const std::string run = train("mf");
  const std::string pairs = tmp_.file("pairs.tsv");
  write_file_atomic(pairs, "item\tuser\n1\t1\n999999\t1\n");
  const std::string out = tmp_.file("p.csv");
  auto r = run_cli("predict --run " + run + " --input " + pairs + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto rows = read_csv(out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][3], "1");
  EXPECT_EQ(rows[2][3], "0");
  EXPECT_NE(r.output.find("1 of 2 rows name a user or item the run has not seen (the first: " + pairs +
                          ":3, item '999999')"),
            std::string::npos)
      << r.output;

  write_file_atomic(pairs, "who\twhat\n1\t1\n");
  r = run_cli("predict --run " + run + " --input " + pairs + " --out " + tmp_.file("q.csv"));
  EXPECT_EQ(r.status, 2);
  // Each spelling tried is named once (the run's own column name, user_id here, is also a usual one).
  EXPECT_NE(r.output.find("has none of the columns user_id, user, userId (columns: who, what)"), std::string::npos)
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(tmp_.file("q.csv")));

  write_file_atomic(pairs, "user\titem\ttimestamp\n1\t1\tyesterday\n");
  r = run_cli("predict --run " + run + " --input " + pairs + " --out " + tmp_.file("q.csv"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find(pairs + ":2: column 'timestamp'"), std::string::npos) << r.output;

  r = run_cli("predict --run " + tmp_.file("runs/none") + " --input " + pairs + " --out " + tmp_.file("q.csv"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("no such run directory"), std::string::npos) << r.output;

  write_file_atomic(pairs, "user\titem\n1\t1\n");
  r = run_cli("predict --run " + run + " --input " + pairs + " --out " + tmp_.file("q.csv") + " --device cuda");
  if (r.status != 0) {  // no GPU here: the error names predict's option (it has no config key)
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("error: --device: "), std::string::npos) << r.output;
  }
}

// summary.json records best.pt's CRC-32; bytes changed in best.pt afterwards (which torch's
// reader would load without a word) make predict, recommend and export refuse it, naming it.
TEST_F(Serve, ADamagedWeightsFileIsRefusedByPredictRecommendAndExport) {
  const std::string run = train("mf");
  const std::string weights = run + "/best.pt";
  EXPECT_EQ(train::read_run_summary(run + "/summary.json").weights_crc32, train::weights_crc32_of(weights));
  const std::string pairs = tmp_.file("pairs.csv");
  write_file_atomic(pairs, "user,item\n1,1\n");
  ASSERT_EQ(run_cli("predict --run " + run + " --input " + pairs + " --out " + tmp_.file("ok.csv")).status, 0);

  std::string bytes = read_file(weights, "weights");
  bytes[bytes.size() / 4] = static_cast<char>(~bytes[bytes.size() / 4]);  // inside the first tensor's data
  write_file_atomic(weights, bytes);
  for (const std::string& command :
       {"predict --run " + run + " --input " + pairs + " --out " + tmp_.file("p.csv"),
        "recommend --run " + run + " --user 1 --out " + tmp_.file("r.csv"), "export --run " + run + " --out " + tmp_.file("x")}) {
    const auto r = run_cli(command);
    EXPECT_EQ(r.status, 2) << command << "\n" << r.output;
    EXPECT_NE(r.output.find(weights + ": damaged: its CRC-32 is "), std::string::npos) << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(tmp_.file("p.csv")));
  EXPECT_FALSE(std::filesystem::exists(tmp_.file("x")));
}

TEST_F(Serve, RecommendRanksUnratedItemsOnly) {
  const std::string run = train("mf");
  std::map<std::string, std::set<std::string>> rated;
  const auto raw = data::load_movielens(data_);
  for (int64_t i = 0; i < raw.size(); ++i) {
    rated[std::to_string(raw.user_id[size_t(i)])].insert(std::to_string(raw.movie_id[size_t(i)]));
  }
  const std::string out = tmp_.file("recommendations.csv");
  auto r = run_cli("recommend --run " + run + " --k 5 --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto rows = read_csv(out);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"user", "rank", "item", "prediction"}));
  std::map<std::string, std::vector<double>> per_user;
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rated[rows[i][0]].count(rows[i][2]), 0u) << "user " << rows[i][0] << " rated item " << rows[i][2];
    per_user[rows[i][0]].push_back(std::stod(rows[i][3]));
  }
  EXPECT_EQ(per_user.size(), rated.size());  // every user
  for (const auto& [user, scores] : per_user) {
    EXPECT_EQ(scores.size(), 5u) << user;
    EXPECT_TRUE(std::is_sorted(scores.rbegin(), scores.rend())) << user;
  }
  // With --include-seen, a user's rated items compete too: across all users some come back.
  r = run_cli("recommend --run " + run + " --k 5 --include-seen --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  int seen = 0;
  for (const auto& row : read_csv(out)) seen += rated[row[0]].count(row.size() > 2 ? row[2] : "");
  EXPECT_GT(seen, 0);
  // One user as JSON lines on stdout.
  r = run_cli("recommend --run " + run + " --user 1 --k 3 --format jsonl");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("{\"user\":\"1\",\"items\":["), std::string::npos) << r.output;
  EXPECT_EQ(run_cli("recommend --run " + run + " --user nobody").status, 2);
  // A list with ids the run lacks: the others are served, the warning quotes the first few.
  const std::string list = tmp_.file("users.txt");
  write_file_atomic(list, "user_id\n1\n 2 \nx\ny\n");
  r = run_cli("recommend --run " + run + " --users " + list + " --k 1 --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_csv(out).size(), 2u);  // the header and user 1
  EXPECT_NE(r.output.find("4 user id(s) are not users of the run's data ('user_id', ' 2 ', 'x', ...)"),
            std::string::npos)
      << r.output;
}

// A run trained under bf16 autocast ranks in float32, as its evaluation's HR@K and NDCG@K did: in
// bf16 a BST's scores (its last layers' output) fell on a grid (1/128 to 1/32 of a rating), so
// many of a user's top items tied and their order was the item rows', not the model's.
TEST_F(Serve, RecommendRanksABf16RunInFloat32AsItsEvaluationDid) {
  const std::string run = train("seq", "--set train.precision=bf16 --set train.epochs=1");
  const std::string out = tmp_.file("recommendations.csv");
  const auto r = run_cli("recommend --run " + run + " --k 20 --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto rows = read_csv(out);
  std::set<double> distinct;
  int off_the_bf16_grid = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    const double score = std::stod(rows[i][3]);
    distinct.insert(score);
    // bf16 keeps 8 significant bits: a score of [2^e, 2^(e+1)) is a multiple of 2^(e-7)
    const double step = std::ldexp(1.0, std::ilogb(score) - 7);
    off_the_bf16_grid += std::fabs(score / step - std::round(score / step)) > 1e-3;
  }
  ASSERT_EQ(rows.size(), 60u * 20 + 1);
  EXPECT_GT(off_the_bf16_grid, 1000) << distinct.size() << " distinct scores";
  EXPECT_GT(distinct.size(), 600u);
}

// Ties are common (the baseline ties every item, MF saturates at the range's top): they are
// ordered by the item's row, whatever --k, and users are answered in the order asked.
TEST_F(Serve, RecommendOrdersTiesByItemRowAndAnswersUsersInTheOrderAsked) {
  const std::string run = train("baseline");
  const auto ids = nlohmann::json::parse(read_file(run + "/id_maps.json", "id maps"));
  std::map<std::string, size_t> row_of;
  for (size_t i = 0; i < ids["items"].size(); ++i) row_of[ids["items"][i].get<std::string>()] = i;
  std::vector<std::string> top3, top10;
  for (const int k : {3, 10}) {
    const auto r = run_cli("recommend --run " + run + " --user 1 --k " + std::to_string(k) + " --out " +
                           tmp_.file("top.csv"));
    ASSERT_EQ(r.status, 0) << r.output;
    const auto rows = read_csv(tmp_.file("top.csv"));
    ASSERT_EQ(rows.size(), static_cast<size_t>(k) + 1);
    for (size_t i = 1; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i][3], rows[1][3]);  // every score tied
      (k == 3 ? top3 : top10).push_back(rows[i][2]);
    }
  }
  EXPECT_TRUE(std::equal(top3.begin(), top3.end(), top10.begin())) << "top 3 is not the start of top 10";
  for (size_t i = 1; i < top10.size(); ++i) EXPECT_LT(row_of.at(top10[i - 1]), row_of.at(top10[i])) << top10[i];

  // JSON lines: one per user asked for, in that order, an unknown one in its place.
  const auto r = run_cli("recommend --run " + run + " --user 2 --user nobody --user 1 --k 1 --format jsonl");
  ASSERT_EQ(r.status, 0) << r.output;
  const size_t two = r.output.find("{\"user\":\"2\""), nobody = r.output.find("{\"user\":\"nobody\""),
               one = r.output.find("{\"user\":\"1\"");
  ASSERT_NE(nobody, std::string::npos) << r.output;
  EXPECT_LT(two, nobody) << r.output;
  EXPECT_LT(nobody, one) << r.output;
  EXPECT_NE(one, std::string::npos) << r.output;

  // A user list with no ids is a mistake, reported before the run is loaded.
  write_file_atomic(tmp_.file("none.txt"), "\n");
  const auto empty = run_cli("recommend --run " + run + " --users " + tmp_.file("none.txt"));
  EXPECT_EQ(empty.status, 2);
  EXPECT_NE(empty.output.find("none.txt: lists no user ids"), std::string::npos) << empty.output;
  EXPECT_EQ(empty.output.find("split:"), std::string::npos) << empty.output;
}

TEST_F(Serve, TextIdsOfYourOwnDataRoundTripThroughTheRun) {
  // The synthetic ratings as a user's own interactions file, ids as text ("u-7", "item/12"),
  // a quoted field with a comma, a TSV-free CSV with extra columns.
  const auto raw = data::load_movielens(data_);
  std::string csv = "event,user,item,stars,when\n";
  for (int64_t i = 0; i < raw.size(); ++i) {
    const size_t r = static_cast<size_t>(i);
    csv += "view,u-" + std::to_string(raw.user_id[r]) + ",\"item/" + std::to_string(raw.movie_id[r]) + ", cut\"," +
           std::to_string(static_cast<int>(raw.rating[r])) + "," + std::to_string(raw.timestamp[r]) + "\n";
  }
  const std::string file = tmp_.file("events.csv");
  write_file_atomic(file, csv);
  const std::string run = train("mf", "--set data.format=interactions --set data.interactions.path=" + file +
                                          " --set data.interactions.user=user --set data.interactions.item=item"
                                          " --set data.interactions.rating=stars --set data.interactions.timestamp=when");
  const std::string maps = read_file(run + "/id_maps.json", "id maps");
  EXPECT_NE(maps.find("\"u-7\""), std::string::npos);
  EXPECT_NE(maps.find("\"item/12, cut\""), std::string::npos);

  const std::string pairs = tmp_.file("pairs.csv"), out = tmp_.file("p.csv");
  write_file_atomic(pairs, "user,item\nu-7,\"item/12, cut\"\nu-7,item/12\n");
  auto r = run_cli("predict --run " + run + " --input " + pairs + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string predicted = read_file(out, "predictions");
  EXPECT_NE(predicted.find("u-7,\"item/12, cut\","), std::string::npos) << predicted;  // quoted again on the way out
  EXPECT_NE(predicted.find(",1\nu-7,item/12,"), std::string::npos) << predicted;       // known, then unknown
  EXPECT_NE(predicted.find(",0\n"), std::string::npos) << predicted;

  r = run_cli("recommend --run " + run + " --user u-7 --k 2 --format csv");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("u-7,1,\"item/"), std::string::npos) << r.output;
}

TEST_F(Serve, SideTablesFeedTheSequenceModelAndTravelWithIt) {
  // Your own data with a user table and an item table: seq_features trains on their features,
  // predict (with the codes in best.pt) reproduces its validation MAE, and the id maps name them.
  const auto raw = data::load_movielens(data_);
  std::string csv = "user_id,item_id,rating,timestamp\n";
  for (int64_t i = 0; i < raw.size(); ++i) {
    const size_t r = static_cast<size_t>(i);
    csv += std::to_string(raw.user_id[r]) + "," + std::to_string(raw.movie_id[r]) + "," +
           std::to_string(static_cast<int>(raw.rating[r])) + "," + std::to_string(raw.timestamp[r]) + "\n";
  }
  std::string users = "user_id,country,plan\n", items = "item_id\tgenre\n";
  for (int u = 1; u <= 60; ++u) users += std::to_string(u) + "," + (u % 3 ? "se" : "de") + "," + (u % 2 ? "free" : "") + "\n";
  for (int m = 1; m <= 200; ++m) items += std::to_string(m) + "\t" + "genre" + std::to_string(m % 7) + "\n";
  const std::string file = tmp_.file("ratings.csv"), user_table = tmp_.file("users.csv"), item_table = tmp_.file("items.tsv");
  write_file_atomic(file, csv);
  write_file_atomic(user_table, users);
  write_file_atomic(item_table, items);
  const std::string run = train("seq_features", "--set data.format=interactions --set data.interactions.path=" + file +
                                                    " --set data.interactions.user_table=" + user_table +
                                                    " --set data.interactions.item_table=" + item_table);
  const std::string maps = read_file(run + "/id_maps.json", "id maps");
  EXPECT_NE(maps.find("\"user_features\":{\"country\":[\"\",\"de\",\"se\"],\"plan\":[\"\",\"free\"]}"), std::string::npos)
      << maps.substr(maps.find("user_features"));
  EXPECT_NE(maps.find("\"item_features\":{\"genre\":[\"\",\"genre0\""), std::string::npos);

  const std::string pairs = write_validation_pairs(), out = tmp_.file("p.csv");
  auto r = run_cli("predict --run " + run + " --input " + pairs + " --out " + out + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto expected = read_csv(pairs), got = read_csv(out);
  ASSERT_EQ(got.size(), expected.size());
  double abs_error = 0;
  for (size_t i = 1; i < got.size(); ++i) abs_error += std::abs(std::stod(got[i][3]) - std::stod(expected[i][3]));
  EXPECT_NEAR(abs_error / double(got.size() - 1), train::read_run_summary(run + "/summary.json").valid.mae, 1e-5);

  // A user table none of whose ids the data has ("u1" for 1) trains, features all unknown, but
  // says so: most likely a mistake.
  std::string prefixed = "user_id,country\n";
  for (int u = 1; u <= 60; ++u) prefixed += "u" + std::to_string(u) + ",se\n";
  write_file_atomic(tmp_.file("prefixed.csv"), prefixed);
  r = run_cli("--config " + std::string(MLREC_SOURCE_DIR) + "/configs/smoke.yaml --set data.format=interactions"
              " --set data.interactions.path=" + file + " --set data.interactions.user_table=" + tmp_.file("prefixed.csv") +
              " --set train.epochs=1 --set output.dir=" + tmp_.file("runs/prefixed"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("prefixed.csv: none of its 60 row(s) is for a user of the data"), std::string::npos)
      << r.output;

  // Another user table is other data: the fingerprint says so.
  write_file_atomic(user_table, "user_id,country\n1,se\n");
  r = run_cli("predict --run " + run + " --input " + pairs + " --out " + out);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("is not the data run"), std::string::npos) << r.output;
  // Without any feature source seq_features is a configuration error naming model.name.
  r = run_cli("--config " + std::string(MLREC_SOURCE_DIR) + "/configs/smoke.yaml --set model.name=seq_features"
              " --set data.format=interactions --set data.interactions.path=" + file + " --set output.dir=" +
              tmp_.file("runs/none"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("model.name"), std::string::npos) << r.output;
}

TEST_F(Serve, ExportedMfPredictsInPythonAsReadmeShows) {
  const std::string python = MLREC_TEST_PYTHON;
  if (test_support::run_command(python + " -c 'import safetensors, numpy'").status != 0) {
    GTEST_SKIP() << python << " lacks safetensors or numpy (scripts/setup.sh installs them in .venv)";
  }
  // The snippet is README's own, so that README stays true.
  const std::string readme = read_file(std::string(MLREC_SOURCE_DIR) + "/README.md", "README");
  const std::string marker = "<!-- snippet: exported-mf -->\n```python\n";
  const size_t begin = readme.find(marker);
  ASSERT_NE(begin, std::string::npos) << "README.md has no exported-mf snippet";
  const size_t code = begin + marker.size();
  const std::string snippet = readme.substr(code, readme.find("```", code) - code);
  EXPECT_LE(std::count(snippet.begin(), snippet.end(), '\n'), 15);
  const std::string script = tmp_.file("snippet.py");
  write_file_atomic(script, snippet);

  const std::string run = train("mf");
  const std::string exported = tmp_.file("exported");
  auto r = run_cli("export --run " + run + " --out " + exported);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(run_cli("export --run " + run + " --out " + exported).status, 2);  // not over an export unasked
  const std::string pairs = tmp_.file("pair.csv"), out = tmp_.file("p.csv");
  write_file_atomic(pairs, "user,item\n7,12\n");
  ASSERT_EQ(run_cli("predict --run " + run + " --input " + pairs + " --out " + out).status, 0);
  const double expected = std::stod(read_csv(out)[1][2]);
  const auto py = test_support::run_command(python + " " + script + " " + exported + " 7 12");
  ASSERT_EQ(py.status, 0) << py.output;
  EXPECT_NEAR(std::stod(py.output), expected, 1e-5) << py.output;
}

}  // namespace
}  // namespace mlrec
