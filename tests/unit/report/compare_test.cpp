// read_run on summary.json files as src/train/run.cpp writes them, and the comparison table.
#include "mlrec/report/compare.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mlrec/common/error.h"
#include "support/temp_dir.h"

namespace mlrec::report {
namespace {

using test_support::TempDir;
using test_support::write_file;

struct SummaryFields {
  std::string model = "mf";
  int best_epoch = 3, epochs_run = 5, max_epochs = 10;
  double mae = 0.7123456789012345, mse = 0.8123456789, rmse = 0.9013021024;
  int64_t count = 20000;
  double samples_per_second = 123456.7, train_seconds = 12.34, data_seconds = 1.5;
  std::string device = "cuda:0";
};

// A summary.json as src/train/run.cpp writes it: through train::to_json.
std::string summary_json(const SummaryFields& f) {
  train::RunSummary s;
  s.model = f.model;
  s.release = "ml-1m";
  s.best_epoch = f.best_epoch;
  s.epochs_run = f.epochs_run;
  s.max_epochs = f.max_epochs;
  s.valid.mae = f.mae;
  s.valid.mse = f.mse;
  s.valid.rmse = f.rmse;
  s.valid.count = f.count;
  s.train_count = 80000;
  s.data_seconds = f.data_seconds;
  s.train_seconds = f.train_seconds;
  s.train_samples = 400000;
  s.samples_per_second = f.samples_per_second;
  s.steps_per_epoch = 40;
  s.batch_size = 2048;
  s.seed = 42;
  s.precision = "fp32";
  s.parameters = 123456;
  s.backend = "none";
  s.device = f.device;
  s.torch = "2.11.0";
  return train::to_json(s);
}

std::string write_run(const TempDir& tmp, const std::string& name, const SummaryFields& f) {
  const std::string dir = tmp.file(name);
  write_file(dir + "/summary.json", summary_json(f));
  return dir;
}

// Runs read_run expecting an InputError; returns its message.
std::string input_error_of(const std::string& dir) {
  try {
    read_run(dir);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "read_run(" << dir << ") did not throw InputError";
  return "";
}

TEST(ReadRunTest, ReadsEveryFieldOfASummary) {
  TempDir tmp;
  const SummaryFields f;
  const std::string dir = write_run(tmp, "run_mf", f);
  const RunRow row = read_run(dir);
  EXPECT_EQ(row.dir, dir);
  EXPECT_EQ(row.summary.model, "mf");
  EXPECT_EQ(row.summary.device, "cuda:0");
  EXPECT_EQ(row.summary.valid.mae, f.mae);  // 17 digits: exact
  EXPECT_EQ(row.summary.valid.mse, f.mse);
  EXPECT_EQ(row.summary.valid.rmse, f.rmse);
  EXPECT_EQ(row.summary.valid.count, 20000);
  EXPECT_EQ(row.summary.best_epoch, 3);
  EXPECT_EQ(row.summary.epochs_run, 5);
  EXPECT_EQ(row.summary.max_epochs, 10);
  EXPECT_EQ(row.summary.samples_per_second, f.samples_per_second);
  EXPECT_EQ(row.summary.train_seconds, f.train_seconds);
  EXPECT_EQ(row.summary.data_seconds, f.data_seconds);
}

TEST(ReadRunTest, OptionalFieldsDefault) {
  TempDir tmp;
  write_file(tmp.file("r/summary.json"),
             R"({"model": "baseline", "best_epoch": 0, "epochs_run": 0,
                 "valid": {"mae": 1.0, "mse": 2.0, "rmse": 1.5, "count": 7}})");
  const RunRow row = read_run(tmp.file("r"));
  EXPECT_EQ(row.summary.model, "baseline");
  EXPECT_EQ(row.summary.device, "");
  EXPECT_EQ(row.summary.max_epochs, 0);
  EXPECT_EQ(row.summary.samples_per_second, 0);
  EXPECT_EQ(row.summary.valid.count, 7);
}

TEST(ReadRunTest, MissingSummaryIsAnInputErrorNamingTheFile) {
  TempDir tmp;
  const std::string dir = tmp.file("not_a_run");
  write_file(dir + "/metrics.jsonl", "{}\n");
  const std::string message = input_error_of(dir);
  EXPECT_NE(message.find(dir + "/summary.json"), std::string::npos) << message;
  // Also when the directory itself does not exist.
  const std::string gone = input_error_of(tmp.file("gone"));
  EXPECT_NE(gone.find("summary.json"), std::string::npos) << gone;
}

TEST(ReadRunTest, MalformedSummariesAreInputErrorsNamingTheFile) {
  TempDir tmp;
  const std::string good = summary_json(SummaryFields{});
  const std::string missing_valid = R"({"model": "mf", "best_epoch": 1, "epochs_run": 1})";
  const std::string missing_model =
      R"({"best_epoch": 1, "epochs_run": 1, "valid": {"mae": 1.0, "mse": 1.0, "rmse": 1.0, "count": 3}})";
  std::string bad_type = good;
  bad_type.replace(bad_type.find("\"best_epoch\":3"), 14, "\"best_epoch\":\"three\"");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"missing_valid", missing_valid},
      {"missing_model", missing_model},
      {"bad_type", bad_type},
      {"truncated", good.substr(0, good.size() / 2)},
      {"empty", ""},
      {"scalar", "42\n"},
  };
  for (const auto& [name, text] : cases) {
    SCOPED_TRACE(name);
    const std::string dir = tmp.file(name);
    write_file(dir + "/summary.json", text);
    const std::string message = input_error_of(dir);
    EXPECT_NE(message.find(dir + "/summary.json"), std::string::npos) << message;
  }
}

TEST(ComparisonTableTest, HeaderAndOneFormattedRowPerRunInOrder) {
  TempDir tmp;
  SummaryFields mf;
  SummaryFields bst;
  bst.model = "bst";
  bst.mae = 0.69;
  bst.mse = 0.78;
  bst.rmse = 0.883176;
  bst.count = 1000;
  bst.best_epoch = 7;
  bst.epochs_run = 9;
  bst.max_epochs = 9;
  bst.samples_per_second = 5000.4;
  bst.train_seconds = 99.96;
  const std::vector<RunRow> rows = {read_run(write_run(tmp, "a", mf)),
                                    read_run(write_run(tmp, "b", bst))};
  const std::string table = comparison_table(rows);
  const std::string expected =
      "| model | MAE | MSE | RMSE | rows | best / run / max epochs | train samples/s | train time |\n"
      "|---|---|---|---|---|---|---|---|\n"
      "| mf | 0.71235 | 0.81235 | 0.90130 | 20,000 | 3 / 5 / 10 | 123,457 | 12.3 s |\n"
      "| bst | 0.69000 | 0.78000 | 0.88318 | 1,000 | 7 / 9 / 9 | 5,000 | 100.0 s |\n";
  EXPECT_EQ(table, expected);
}

TEST(ComparisonTableTest, RunsOfTheSameModelAlsoNameTheirDirectory) {
  TempDir tmp;
  SummaryFields mf;
  SummaryFields bst;
  bst.model = "bst";
  const std::vector<RunRow> rows = {read_run(write_run(tmp, "runs/mf", mf)),
                                    read_run(write_run(tmp, "runs/mf_tuned/", mf)),
                                    read_run(write_run(tmp, "runs/seq", bst))};
  const std::string table = comparison_table(rows);
  EXPECT_NE(table.find("\n| mf (mf) | "), std::string::npos) << table;
  EXPECT_NE(table.find("\n| mf (mf_tuned) | "), std::string::npos) << table;
  EXPECT_NE(table.find("\n| bst | "), std::string::npos) << table;
  // A '|' in a folder's name is escaped: it split the row into one cell too many.
  const std::vector<RunRow> piped = {read_run(write_run(tmp, "a|b/mf", mf)), read_run(write_run(tmp, "c/mf", mf))};
  EXPECT_NE(comparison_table(piped).find("\n| mf (a\\|b/mf) | "), std::string::npos) << comparison_table(piped);
}

TEST(ComparisonTableTest, RunWithoutTrainingShowsDashes) {
  RunRow baseline;
  baseline.summary.model = "baseline";
  baseline.summary.valid.mae = 0.9;
  baseline.summary.valid.mse = 1.21;
  baseline.summary.valid.rmse = 1.1;
  baseline.summary.valid.count = 50;
  const std::string table = comparison_table({baseline});
  EXPECT_NE(table.find("| baseline | 0.90000 | 1.21000 | 1.10000 | 50 | - | - | - |\n"),
            std::string::npos)
      << table;
}

TEST(ComparisonTableTest, RankingColumnsAppearWhenARunHasThem) {
  RunRow ranked, unranked;
  ranked.summary.model = "mf";
  ranked.summary.valid = train::Metrics{0.7, 0.8, 0.9, 10};
  ranked.summary.valid.ranking_k = 10;
  ranked.summary.valid.hr = 0.025;
  ranked.summary.valid.ndcg = 0.0125;
  unranked.summary.model = "seq";
  unranked.summary.valid = train::Metrics{0.7, 0.8, 0.9, 10};
  const std::string table = comparison_table({ranked, unranked});
  EXPECT_EQ(table.rfind("| model | MAE | MSE | RMSE | HR@10 | NDCG@10 | rows |", 0), 0u) << table;
  EXPECT_NE(table.find("| mf | 0.70000 | 0.80000 | 0.90000 | 0.02500 | 0.01250 | 10 |"), std::string::npos) << table;
  EXPECT_NE(table.find("| seq | 0.70000 | 0.80000 | 0.90000 | - | - | 10 |"), std::string::npos) << table;
}

TEST(ComparisonTableTest, NoRunsGivesOnlyTheHeader) {
  const std::string table = comparison_table({});
  EXPECT_EQ(table,
            "| model | MAE | MSE | RMSE | rows | best / run / max epochs | train samples/s | train time |\n"
            "|---|---|---|---|---|---|---|---|\n");
}

}  // namespace
}  // namespace mlrec::report
