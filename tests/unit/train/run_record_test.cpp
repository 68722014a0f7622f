// The run record's one JSON mapping: summary.json and metrics.jsonl written and read back.
#include "mlrec/train/run_record.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <limits>
#include <string>

#include "mlrec/common/error.h"

namespace mlrec::train {
namespace {

RunSummary full_summary() {
  RunSummary s;
  s.model = "seq_features";
  s.release = "ml-1m";
  s.best_epoch = 7;
  s.epochs_run = 9;
  s.max_epochs = 10;
  s.protocol = "valid_test";
  s.valid = Metrics{0.7171012345678901, 0.8327, 0.9125, 6040};
  s.test = Metrics{0.72, 0.84, 0.9165, 6040};
  s.train_count = 988129;
  s.test_count = 6040;
  s.data_seconds = 0.25;
  s.train_seconds = 9.875;
  s.train_samples = 8929280;
  s.samples_per_second = 1.0 / 3.0;  // every digit must survive
  s.comm_wait_seconds = 0.5;
  s.comm_wait_share = 0.05;
  s.steps_per_epoch = 965;
  s.batch_size = 1024;
  s.seed = 4294967296;  // beyond 32 bits
  s.precision = "bf16";
  s.cuda_graph = true;
  s.parameters = 12345678;
  s.world_size = 2;
  s.backend = "nccl";
  s.device = "cuda:0 (NVIDIA \"H200\")\\";  // quotes and a backslash need escapes
  s.torch = "2.11.0";
  s.weights_crc32 = "0a1b2c3d";
  return s;
}

void expect_same_metrics(const Metrics& a, const Metrics& b) {
  EXPECT_EQ(a.mae, b.mae);
  EXPECT_EQ(a.mse, b.mse);
  EXPECT_EQ(a.rmse, b.rmse);
  EXPECT_EQ(a.count, b.count);
}

TEST(RunSummaryJson, EveryFieldRoundTripsExactly) {
  const RunSummary s = full_summary();
  const std::string text = to_json(s);
  ASSERT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line";
  const RunSummary r = run_summary_from_json(text, "summary.json");
  EXPECT_EQ(r.model, s.model);
  EXPECT_EQ(r.release, s.release);
  EXPECT_EQ(r.best_epoch, s.best_epoch);
  EXPECT_EQ(r.epochs_run, s.epochs_run);
  EXPECT_EQ(r.max_epochs, s.max_epochs);
  EXPECT_EQ(r.protocol, s.protocol);
  expect_same_metrics(r.valid, s.valid);
  ASSERT_TRUE(r.test.has_value());
  expect_same_metrics(*r.test, *s.test);
  EXPECT_EQ(r.train_count, s.train_count);
  EXPECT_EQ(r.test_count, s.test_count);
  EXPECT_EQ(r.data_seconds, s.data_seconds);
  EXPECT_EQ(r.train_seconds, s.train_seconds);
  EXPECT_EQ(r.train_samples, s.train_samples);
  EXPECT_EQ(r.samples_per_second, s.samples_per_second);
  EXPECT_EQ(r.comm_wait_seconds, s.comm_wait_seconds);
  EXPECT_EQ(r.comm_wait_share, s.comm_wait_share);
  EXPECT_EQ(r.steps_per_epoch, s.steps_per_epoch);
  EXPECT_EQ(r.batch_size, s.batch_size);
  EXPECT_EQ(r.seed, s.seed);
  EXPECT_EQ(r.precision, s.precision);
  EXPECT_EQ(r.cuda_graph, s.cuda_graph);
  EXPECT_EQ(r.parameters, s.parameters);
  EXPECT_EQ(r.world_size, s.world_size);
  EXPECT_EQ(r.backend, s.backend);
  EXPECT_EQ(r.device, s.device);
  EXPECT_EQ(r.torch, s.torch);
  EXPECT_EQ(r.weights_crc32, s.weights_crc32);
}

TEST(RunSummaryJson, KeysKeepTheDocumentedOrderAndOtherParsersAgree) {
  const std::string text = to_json(full_summary());
  EXPECT_EQ(text.rfind("{\"model\":\"seq_features\",\"release\":\"ml-1m\",\"best_epoch\":7,", 0), 0u) << text;
  EXPECT_LT(text.find("\"valid\":{\"mae\":"), text.find("\"torch\""));
  // yaml-cpp (YAML is a superset of JSON) reads the same values.
  const YAML::Node node = YAML::Load(text);
  EXPECT_EQ(node["valid"]["count"].as<long long>(), 6040);
  EXPECT_EQ(node["device"].as<std::string>(), full_summary().device);
  EXPECT_EQ(node["seed"].as<long long>(), 4294967296LL);
}

TEST(RunSummaryJson, NonFiniteMetricsAreNullAndReadBackAsNaN) {
  RunSummary s = full_summary();
  s.valid.mae = std::numeric_limits<double>::quiet_NaN();
  s.valid.rmse = std::numeric_limits<double>::infinity();
  s.test.reset();
  const std::string text = to_json(s);
  EXPECT_NE(text.find("\"valid\":{\"mae\":null,"), std::string::npos) << text;
  EXPECT_EQ(text.find("\"test\""), std::string::npos) << "no test key without a test set";
  const RunSummary r = run_summary_from_json(text, "summary.json");
  EXPECT_TRUE(std::isnan(r.valid.mae));
  EXPECT_TRUE(std::isnan(r.valid.rmse));
  EXPECT_EQ(r.valid.mse, s.valid.mse);
  EXPECT_FALSE(r.test.has_value());
}

TEST(RunSummaryJson, MalformedTextIsAnInputErrorNamingTheSource) {
  for (const std::string text : {"", "42", "{\"model\": \"mf\"}", "{\"model\": 3, \"valid\": {}}", "{\"model\""}) {
    SCOPED_TRACE(text);
    try {
      run_summary_from_json(text, "runs/x/summary.json");
      ADD_FAILURE() << "expected an InputError";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("runs/x/summary.json: not a valid run summary", 0), 0u) << e.what();
    }
  }
}

TEST(EpochRecordJson, OneLineWithTheMetricsFlat) {
  EpochRecord r;
  r.epoch = 3;
  r.train_loss = 0.8125;
  r.valid = Metrics{0.75, 0.9, std::sqrt(0.9), 6040};
  r.lr = 1e-8;
  r.seconds = 12.5;
  r.eval_seconds = 0.25;
  r.samples_per_second = 80000;
  r.comm_wait_seconds = std::numeric_limits<double>::quiet_NaN();
  const std::string line = to_json_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind("{\"epoch\":3,\"train_loss\":0.8125,\"mae\":0.75,\"mse\":0.9,\"rmse\":", 0), 0u) << line;
  const YAML::Node node = YAML::Load(line);
  EXPECT_EQ(node["rmse"].as<double>(), std::sqrt(0.9));
  EXPECT_EQ(node["count"].as<long long>(), 6040);
  EXPECT_EQ(node["lr"].as<double>(), 1e-8);
  EXPECT_TRUE(node["comm_wait_seconds"].IsNull());
}

TEST(MetricsJson, RankingMetricsRoundTripAndAreAbsentWhenNotComputed) {
  Metrics m{0.7, 0.8, std::sqrt(0.8), 6040};
  nlohmann::ordered_json plain = m;
  EXPECT_FALSE(plain.contains("hr"));
  m.ranking_k = 10;
  m.hr = 0.025;
  m.ndcg = 0.0125;
  const nlohmann::ordered_json ranked = m;
  EXPECT_EQ(ranked.at("k").get<int>(), 10);
  const Metrics back = ranked.get<Metrics>();
  EXPECT_EQ(back.ranking_k, 10);
  EXPECT_EQ(back.hr, 0.025);
  EXPECT_EQ(back.ndcg, 0.0125);
  EpochRecord r;
  r.valid = m;
  EXPECT_NE(to_json_line(r).find("\"k\":10,\"hr\":0.025,\"ndcg\":0.0125"), std::string::npos) << to_json_line(r);
}

}  // namespace
}  // namespace mlrec::train
