// mlrec_dist as a user runs it: exit statuses, one clear error line, nothing written on bad
// input, and the stats / compare / synth commands.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <fstream>

#include "mlrec/common/file_io.h"
#include "support/run_cli.h"
#include "support/temp_dir.h"

namespace mlrec {
namespace {

namespace fs = std::filesystem;

using Result = test_support::CliResult;
using test_support::run_cli;

int count_lines_with(const std::string& text, const std::string& needle) {
  int count = 0;
  size_t pos = 0;
  while ((pos = text.find(needle, pos)) != std::string::npos) ++count, ++pos;
  return count;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = tmp_.file("data");
    ASSERT_EQ(run_cli("synth --out " + data_ + " --users 60 --movies 40 --seed 3").status, 0);
  }
  std::string train_args(const std::string& out, const std::string& extra = "") {
    return "--config " + std::string(MLREC_SOURCE_DIR) + "/configs/smoke.yaml --set data.dir=" + data_ +
           " --set output.dir=" + out + " --set train.batch_size=64 " + extra;
  }
  test_support::TempDir tmp_;
  std::string data_;
};

TEST_F(Cli, PlotsAndWritesAnHtmlReport) {
  const std::string a = tmp_.file("runs/a"), b = tmp_.file("runs/b");
  ASSERT_EQ(run_cli(train_args(a)).status, 0);
  ASSERT_EQ(run_cli("--config " + std::string(MLREC_SOURCE_DIR) + "/configs/baseline.yaml --set data.dir=" +
                    data_ + " --set output.dir=" + b).status, 0);
  const std::string svg = tmp_.file("curves.svg"), html = tmp_.file("report.html");
  Result plot = run_cli("plot " + a + " " + b + " --out " + svg);
  ASSERT_EQ(plot.status, 0) << plot.output;
  EXPECT_NE(test_support::read_text(svg).find("Validation MAE"), std::string::npos);
  Result compare = run_cli("compare " + a + " " + b + " --html " + html);
  ASSERT_EQ(compare.status, 0) << compare.output;
  EXPECT_NE(compare.output.find("| mf |"), std::string::npos) << compare.output;  // the table, as without --html
  const std::string page = test_support::read_text(html);
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("<td>baseline</td>"), std::string::npos);

  // Bad requests: one error line, status 2, nothing written.
  const std::string pdf = tmp_.file("curves.pdf"), txt = tmp_.file("report.txt"), none = tmp_.file("none.svg");
  Result format = run_cli("plot " + a + " --out " + pdf);
  EXPECT_EQ(format.status, 2);
  EXPECT_NE(format.output.find("FILE.svg or FILE.png"), std::string::npos) << format.output;
  Result missing = run_cli("plot " + a + " " + tmp_.file("nowhere") + " --out " + none);
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.output.find(tmp_.file("nowhere")), std::string::npos) << missing.output;
  Result page_name = run_cli("compare " + a + " --html " + txt);
  EXPECT_EQ(page_name.status, 2);
  EXPECT_EQ(run_cli("plot --out " + none).status, 2);  // no run
  for (const auto& path : {pdf, txt, none}) EXPECT_FALSE(fs::exists(path)) << path;
}

TEST_F(Cli, HelpListsTheConfigurationKeys) {
  Result r = run_cli("--help-config");
  EXPECT_EQ(r.status, 0);
  for (const char* key : {"data.dir", "output.dir", "train.epochs", "train.batch_size", "train.seed"}) {
    EXPECT_NE(r.output.find(key), std::string::npos) << key;
  }
  EXPECT_EQ(run_cli("train --help").status, 0);
}

TEST_F(Cli, TrainsAndComparesRuns) {
  const std::string a = tmp_.file("runs/a"), b = tmp_.file("runs/b");
  ASSERT_EQ(run_cli(train_args(a)).status, 0);
  ASSERT_EQ(run_cli("--config " + std::string(MLREC_SOURCE_DIR) + "/configs/baseline.yaml --set data.dir=" +
                    data_ + " --set output.dir=" + b).status, 0);
  Result r = run_cli("compare " + a + " " + b);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("| mf |"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("| baseline |"), std::string::npos) << r.output;
}

TEST_F(Cli, UnknownOrInvalidConfigKeysExitTwoNamingTheKey) {
  const std::string out = tmp_.file("runs/x");
  Result unknown = run_cli(train_args(out, "--set train.learning_rate=0.1"));
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.output.find("train.learning_rate"), std::string::npos) << unknown.output;
  Result range = run_cli(train_args(out, "--set train.epochs=0"));
  EXPECT_EQ(range.status, 2);
  EXPECT_NE(range.output.find("train.epochs"), std::string::npos) << range.output;
  Result type = run_cli(train_args(out, "--set train.batch_size=many"));
  EXPECT_EQ(type.status, 2);
  EXPECT_NE(type.output.find("train.batch_size"), std::string::npos) << type.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Cli, MalformedRatingsExitTwoNamingFileAndLineAndWriteNothing) {
  // Line 3 of ratings.dat gets a rating of 7 on a 1..5 scale.
  const std::string ratings = data_ + "/ratings.dat";
  std::string text;
  {
    FILE* f = std::fopen(ratings.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  size_t line_start = 0;
  for (int i = 0; i < 2; ++i) line_start = text.find('\n', line_start) + 1;
  const size_t line_end = text.find('\n', line_start);
  std::string line = text.substr(line_start, line_end - line_start);  // u::m::r::t
  const size_t r = line.find("::", line.find("::") + 2) + 2;
  line[r] = '7';
  text.replace(line_start, line_end - line_start, line);
  test_support::write_file(ratings, text);

  const std::string out = tmp_.file("runs/bad");
  Result result = run_cli(train_args(out));
  EXPECT_EQ(result.status, 2);
  EXPECT_NE(result.output.find(ratings + ":3:"), std::string::npos) << result.output;
  EXPECT_EQ(count_lines_with(result.output, "error"), 1) << result.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Cli, MissingDataExitsTwoAndSaysHowToGetIt) {
  const std::string out = tmp_.file("runs/none");
  Result r = run_cli(train_args(out, "--set data.dir=" + tmp_.file("nowhere")));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("fetch_movielens"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Cli, FeatureModelOnCsvReleaseIsAConfigError) {
  const std::string csv = tmp_.file("csv");
  ASSERT_EQ(run_cli("synth --format csv --out " + csv + " --users 40 --movies 30").status, 0);
  const std::string out = tmp_.file("runs/csv");
  Result r = run_cli(train_args(out, "--set data.dir=" + csv + " --set model.name=seq_features"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("model.name"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Cli, BenchWritesOneJsonEntryPerConfiguration) {
  const std::string out = tmp_.file("bench.json");
  const std::string smoke = std::string(MLREC_SOURCE_DIR) + "/configs/smoke.yaml";
  Result r = run_cli("bench --config " + smoke + " --config " + std::string(MLREC_SOURCE_DIR) +
                     "/configs/baseline.yaml --set data.dir=" + data_ + " --set output.dir=" + tmp_.file("runs/bench") +
                     " --set train.batch_size=64 --window 3 --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const YAML::Node bench = YAML::LoadFile(out);
  ASSERT_TRUE(bench.IsSequence());
  ASSERT_EQ(bench.size(), 2u);
  const YAML::Node mf = bench[0];
  EXPECT_EQ(mf["model"].as<std::string>(), "mf");
  EXPECT_GT(mf["steady_samples_per_second"].as<double>(), 0);
  EXPECT_GT(mf["timing_windows"].as<int>(), 1);
  EXPECT_GT(mf["samples_per_second"].as<double>(), 0);
  EXPECT_GT(mf["data_seconds"].as<double>(), 0);
  EXPECT_GT(mf["peak_host_mb"].as<double>(), 10);
  EXPECT_DOUBLE_EQ(mf["target_mae"].as<double>(), 0.895);
  EXPECT_EQ(mf["valid"]["count"].as<int>(), 60);
  EXPECT_EQ(bench[1]["model"].as<std::string>(), "baseline");
  // It trains no step: no rate was measured, and 0 would read as one.
  EXPECT_TRUE(bench[1]["steady_samples_per_second"].IsNull());
  EXPECT_EQ(bench[1]["timing_windows"].as<int>(), 0);
  // Each configuration ran in its own directory under output.dir.
  EXPECT_TRUE(fs::exists(tmp_.file("runs/bench/smoke/summary.json")));
  EXPECT_TRUE(fs::exists(tmp_.file("runs/bench/baseline/summary.json")));

  // Two files of one name (cfgA/mf.yaml, cfgB/mf.yaml) shared one directory: the second run
  // replaced the first. Each now has its own, numbered by position.
  fs::create_directories(tmp_.file("other"));
  fs::copy_file(smoke, tmp_.file("other/smoke.yaml"));
  r = run_cli("bench --config " + smoke + " --config " + tmp_.file("other/smoke.yaml") + " --set data.dir=" + data_ +
              " --set output.dir=" + tmp_.file("runs/same") + " --set train.epochs=1 --set train.batch_size=64");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(tmp_.file("runs/same/smoke-1/summary.json")));
  EXPECT_TRUE(fs::exists(tmp_.file("runs/same/smoke-2/summary.json")));
}

// A mistyped --out fails at once (exit 1, the path and the system's reason), not after the
// benchmark has run: nothing trained, nothing written.
TEST_F(Cli, BenchWithAnUnwritableOutFailsBeforeTraining) {
  const std::string out = tmp_.file("no_such_dir/bench.json");
  Result r = run_cli("bench --config " + std::string(MLREC_SOURCE_DIR) + "/configs/smoke.yaml --set data.dir=" + data_ +
                     " --set output.dir=" + tmp_.file("runs/bench") + " --out " + out);
  EXPECT_EQ(r.status, 2) << r.output;  // the path is bad input, as other options' values
  EXPECT_NE(r.output.find(out + ": cannot write"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("epoch 1"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp_.file("runs/bench")));
}

TEST_F(Cli, ASeedGivenTwiceIsAnError) {
  Result r = run_cli(train_args(tmp_.file("runs/seeds"), "--seeds 1,2,1"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--seeds: seed 1 is given twice"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp_.file("runs/seeds")));
}

TEST_F(Cli, AnUnknownCommandIsNamedWithTheCommandsThereAre) {
  Result r = run_cli("trian --config " + std::string(MLREC_SOURCE_DIR) + "/configs/smoke.yaml");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("unknown command 'trian' (commands: train, sweep, bench,"), std::string::npos) << r.output;
}

TEST_F(Cli, EveryCommandHasHelp) {
  for (const std::string command : {"sweep", "bench", "stats", "compare", "plot", "synth", "predict", "recommend",
                                    "export", "blend"}) {
    Result r = run_cli(command + " --help");
    EXPECT_EQ(r.status, 0) << command << ": " << r.output;
    EXPECT_EQ(r.output.rfind(command + " options:", 0), 0u) << r.output;
  }
}

// Values the options' types accepted but that meant something else, or nothing: each is now
// exit 2 naming the option, before any work.
TEST_F(Cli, OptionValuesThatMeantSomethingElseAreRefused) {
  const std::string run = tmp_.file("runs/r");
  ASSERT_EQ(run_cli(train_args(run)).status, 0);
  const std::string pairs = tmp_.file("pairs.csv");
  write_file_atomic(pairs, "user,item\n1,2\n");
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      // an unknown device acted as auto: on a GPU machine a typo picked the GPU
      {"predict --run " + run + " --input " + pairs + " --out " + tmp_.file("p.csv") + " --device cdua",
       "--device must be auto, cpu or cuda, not 'cdua'"},
      {"recommend --run " + run + " --threads -1", "--threads must be between 0 (all cores) and 1024, got -1"},
      // Boost read -1 into an unsigned as 2^64 - 1
      {"synth --out " + tmp_.file("s") + " --seed=-1", "--seed must be >= 0, got -1"},
      // 0 or less silently meant the default shape
      {"synth --out " + tmp_.file("s") + " --ratings 0", "--ratings must be >= 1, got 0"},
      // the predictions replaced the input
      {"predict --run " + run + " --input " + pairs + " --out " + pairs, "is the --input file"},
      // exit 1 at the end of the work, now exit 2 before it
      {"plot " + run + " --out " + tmp_.file("missing/x.svg"), "x.svg: cannot write"},
      // read as an empty configuration: every default, and the run went ahead
      {"--config " + tmp_.path(), tmp_.path() + ": is a folder, not a file"},
      {train_args(tmp_.file("runs/s"), "--seeds 1,2,"), "--seeds '1,2,': an empty seed"},
      // BatchNorm on one sample failed mid-run in torch, exit 1, the run directory half made
      {train_args(tmp_.file("runs/s"), "--set model.name=seq --set model.embedding_dim=8 --set model.heads=2 "
                                       "--set model.ff_dim=8 --set model.mlp_dims=[8] --set train.batch_size=2 "
                                       "--set train.accumulation_steps=2"),
       "config key 'train.batch_size': gives each rank 1 sample(s) per micro-batch"},
  };
  for (const Case& c : cases) {
    Result r = run_cli(c.args);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
  }
  EXPECT_EQ(read_file(pairs, "pairs"), "user,item\n1,2\n");
  EXPECT_FALSE(fs::exists(tmp_.file("s")));
}

// The names of the trace's complete ("X") events.
std::set<std::string> trace_event_names(const std::string& path) {
  std::ifstream in(path);
  const auto trace = nlohmann::json::parse(in);
  std::set<std::string> names;
  for (const auto& e : trace.at("traceEvents")) {
    if (e.value("ph", "") == "X") names.insert(e.value("name", ""));
  }
  return names;
}

TEST_F(Cli, ProfileRecordsTheStepsAskedAsAChromeTrace) {
  const std::string out = tmp_.file("runs/profiled");
  Result r = run_cli(train_args(out, "--set profile.steps=2 --set profile.skip_steps=1"));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string trace = out + "/profile/trace.rank0.json";
  ASSERT_TRUE(fs::exists(trace)) << r.output;
  EXPECT_NE(r.output.find("profile: 2 steps recorded in " + trace), std::string::npos) << r.output;
  // Kineto's own file is gone: only the checked trace is left.
  EXPECT_EQ(std::distance(fs::directory_iterator(out + "/profile"), fs::directory_iterator{}), 1);
  const auto names = trace_event_names(trace);
  // Steps 1 and 2 (after the one skipped), no other; in them the trainer's and the model's ops.
  EXPECT_TRUE(names.count("ProfilerStep#1") && names.count("ProfilerStep#2"));
  EXPECT_FALSE(names.count("ProfilerStep#0") || names.count("ProfilerStep#3"));
  for (const char* op : {"mlrec::gather_batch", "mlrec::forward", "mlrec::mf_predict", "mlrec::backward",
                         "mlrec::optimizer_step", "aten::mse_loss"}) {
    EXPECT_TRUE(names.count(op)) << op;
  }
  // bench/trace_summary.py tables it: the scopes per step.
  const auto summary = test_support::run_command("/usr/bin/env python3 " + std::string(MLREC_SOURCE_DIR) +
                                                 "/bench/trace_summary.py " + trace);
  ASSERT_EQ(summary.status, 0) << summary.output;
  EXPECT_NE(summary.output.find("2 steps recorded"), std::string::npos) << summary.output;
  EXPECT_NE(summary.output.find("| mlrec::forward | 1 |"), std::string::npos) << summary.output;
}

TEST_F(Cli, ProfileOfARunShorterThanAskedHoldsWhatRan) {
  const std::string out = tmp_.file("runs/short");
  // smoke.yaml: 2 epochs; the run ends before 1,000 steps are recorded.
  Result r = run_cli(train_args(out, "--set profile.steps=1000 --set profile.skip_steps=0"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("of the 1000 steps to record; the trace holds those"), std::string::npos) << r.output;
  const auto names = trace_event_names(out + "/profile/trace.rank0.json");
  EXPECT_TRUE(names.count("ProfilerStep#0"));
  // A profile skipping more steps than the run takes writes nothing, and says so.
  const std::string none = tmp_.file("runs/none");
  r = run_cli(train_args(none, "--set profile.steps=1 --set profile.skip_steps=100000"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("no trace written"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(none + "/profile"));
}

TEST_F(Cli, StatsPrintsTheStudysNumbers) {
  Result r = run_cli("stats --data-dir " + data_);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("60 users"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ratings per user"), std::string::npos) << r.output;
}

// A sweep one trial at a time (a Slurm job array's tasks): --count, --trial, --report with
// unfinished trials marked, and a trial number out of range as bad input.
TEST_F(Cli, SweepRunsOneTrialAtATimeAndReportsWhatIsFinished) {
  const std::string out = tmp_.file("sweep");
  const std::string file = tmp_.file("sweep.yaml");
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f, "base: %s/configs/smoke.yaml\noutput: %s\nset:\n  data.dir: %s\n  train.batch_size: 64\n"
                    "grid:\n  train.lr: [0.01, 0.03]\n", MLREC_SOURCE_DIR, out.c_str(), data_.c_str());
    std::fclose(f);
  }
  Result count = run_cli("sweep --sweep " + file + " --count");
  EXPECT_EQ(count.status, 0);
  EXPECT_EQ(count.output, "2\n");
  Result beyond = run_cli("sweep --sweep " + file + " --trial 2");
  EXPECT_EQ(beyond.status, 2);
  EXPECT_NE(beyond.output.find("--trial 2"), std::string::npos) << beyond.output;
  EXPECT_FALSE(fs::exists(out + "/trial-002"));
  // Twice, on two ranks, it would train into one folder at once.
  Result twice = run_cli("sweep --sweep " + file + " --trial 1 --trial 1");
  EXPECT_EQ(twice.status, 2);
  EXPECT_NE(twice.output.find("--trial 1 is given twice"), std::string::npos) << twice.output;
  // A report before any trial ran: every trial not finished (the folder did not exist: it failed).
  Result none = run_cli("sweep --sweep " + file + " --report");
  EXPECT_EQ(none.status, 0) << none.output;
  EXPECT_EQ(count_lines_with(none.output, "not finished"), 2) << none.output;

  ASSERT_EQ(run_cli("sweep --sweep " + file + " --trial 1").status, 0);
  EXPECT_TRUE(fs::exists(out + "/trial-001/summary.json"));
  EXPECT_FALSE(fs::exists(out + "/trial-000"));
  Result partial = run_cli("sweep --sweep " + file + " --report");
  EXPECT_EQ(partial.status, 0);
  EXPECT_EQ(count_lines_with(partial.output, "not finished"), 1) << partial.output;
  EXPECT_EQ(count_lines_with(partial.output, "failed"), 0) << partial.output;

  ASSERT_EQ(run_cli("sweep --sweep " + file + " --trial 0").status, 0);
  Result full = run_cli("sweep --sweep " + file + " --report");
  EXPECT_EQ(count_lines_with(full.output, "not finished"), 0) << full.output;
  EXPECT_EQ(count_lines_with(full.output, "| - | - |"), 2) << full.output;  // smoke.yaml has no test set
  EXPECT_EQ(full.output.find("nan"), std::string::npos) << full.output;
  EXPECT_TRUE(fs::exists(out + "/best.yaml"));

  // The sweep's settings changed, its output kept: refused before any trial trains, nothing
  // marked failed in the finished runs' folders; and a report with the new settings does not
  // label the old results with them.
  Result changed = run_cli("sweep --sweep " + file + " --set train.weight_decay=0.05");
  EXPECT_EQ(changed.status, 2);
  EXPECT_NE(changed.output.find("trial 0 (" + out + "/trial-000) holds a run of another configuration "
                                "(train.weight_decay (0.01 there, 0.05 here))"),
            std::string::npos)
      << changed.output;
  EXPECT_FALSE(fs::exists(out + "/trial-000/failed.txt"));
  Result relabelled = run_cli("sweep --sweep " + file + " --set train.weight_decay=0.05 --report");
  EXPECT_EQ(relabelled.status, 0) << relabelled.output;
  EXPECT_EQ(count_lines_with(relabelled.output, "holds a run of another configuration"), 2) << relabelled.output;
  EXPECT_EQ(relabelled.output.find("\n| 1 |"), std::string::npos) << relabelled.output;  // nothing ranked
  EXPECT_FALSE(fs::exists(out + "/best.yaml"));  // no trial of these settings is best
}

TEST_F(Cli, TensorBoardReadsEveryScalarTheRunLogged) {
  const std::string python = MLREC_TEST_PYTHON;
  if (run_cli("--version").status != 0 ||
      test_support::run_command(python + " -c 'import tensorboard'").status != 0) {
    GTEST_SKIP() << python << " lacks tensorboard (scripts/setup.sh installs it in .venv)";
  }
  // smoke.yaml: 2 epochs of 20 steps, a progress line every 5 steps.
  const std::string out = tmp_.file("runs/tb");
  ASSERT_EQ(run_cli(train_args(out)).status, 0);
  ASSERT_EQ(std::distance(fs::directory_iterator(out + "/tensorboard"), fs::directory_iterator{}), 1);
  const auto read = test_support::run_command(python + " " + std::string(MLREC_SOURCE_DIR) +
                                              "/tests/e2e/read_tensorboard.py " + out + "/tensorboard 2>/dev/null");
  ASSERT_EQ(read.status, 0) << read.output;
  const auto logged = nlohmann::json::parse(read.output);
  const auto& scalars = logged.at("scalars");
  // Every 5th step's loss and learning rate, at the global step.
  ASSERT_EQ(scalars.at("train/loss").size(), 8u);
  ASSERT_EQ(scalars.at("train/lr").size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(scalars.at("train/loss")[i][0].get<int64_t>(), int64_t(5 * (i + 1)));
  EXPECT_GT(scalars.at("train/lr")[0][1].get<double>(), 0);
  // Per epoch, the values of metrics.jsonl (as float32), at the epoch's last step.
  std::ifstream lines(out + "/metrics.jsonl");
  std::string line;
  size_t epoch = 0;
  while (std::getline(lines, line)) {
    const auto record = nlohmann::json::parse(line);
    for (const auto& [tag, field] : {std::pair{"valid/mae", "mae"}, {"valid/rmse", "rmse"}, {"valid/hr@10", "hr"},
                                     {"valid/ndcg@10", "ndcg"}, {"train/epoch_loss", "train_loss"},
                                     {"train/samples_per_second", "samples_per_second"}}) {
      const auto& point = scalars.at(tag).at(epoch);
      EXPECT_EQ(point[0].get<int64_t>(), int64_t(20 * (epoch + 1))) << tag;
      EXPECT_EQ(point[1].get<double>(), double(float(record.at(field).get<double>()))) << tag;
    }
    ++epoch;
  }
  EXPECT_EQ(epoch, 2u);
  const std::string config = logged.at("text").at("config").at(0).get<std::string>();
  EXPECT_NE(config.find("name: \"mf\""), std::string::npos) << config;
}

TEST_F(Cli, ProgressIsOneUpdatingLineOnATerminalAndLinesElsewhere) {
  // Piped (a log file, Slurm): every progress report is a line of its own.
  const std::string piped = run_cli(train_args(tmp_.file("runs/piped"))).output;
  EXPECT_EQ(count_lines_with(piped, "step 5/20"), 2) << piped;
  EXPECT_EQ(piped.find("\033[K"), std::string::npos);
  // On a terminal (util-linux's script gives the run a pseudo-terminal): one line, rewritten.
  if (test_support::run_command("command -v script").status != 0) GTEST_SKIP() << "no script(1) for a terminal";
  const auto tty = test_support::run_command("TERM=xterm script -qec '" + std::string(MLREC_DIST_BINARY) + " " +
                                             train_args(tmp_.file("runs/tty")) + "' /dev/null");
  ASSERT_EQ(tty.status, 0) << tty.output;
  EXPECT_NE(tty.output.find("\r\033[K[mlrec] epoch 1/2 step 10/20"), std::string::npos) << tty.output;
  // No line break between one report and the next: the line was rewritten, not added.
  const size_t first = tty.output.find("epoch 1/2 step 5/20"), second = tty.output.find("epoch 1/2 step 10/20");
  ASSERT_LT(first, second);
  EXPECT_EQ(tty.output.substr(first, second - first).find('\n'), std::string::npos);
}

}  // namespace
}  // namespace mlrec
