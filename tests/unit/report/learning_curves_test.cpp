// The plots' pieces: axis ticks, metrics.jsonl read back, curves of runs and of --seeds
// directories (mean, spread, epochs some seeds did not reach), the SVG drawn from them, the HTML
// report and (where this build has librsvg) the PNG.
#include "mlrec/report/learning_curves.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "mlrec/common/error.h"
#include "mlrec/report/compare.h"
#include "mlrec/report/html_report.h"
#include "mlrec/report/raster.h"
#include "mlrec/report/svg.h"
#include "mlrec/train/run_record.h"
#include "support/temp_dir.h"

namespace mlrec::report {
namespace {

using test_support::TempDir;
using test_support::write_file;

int count_of(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++count;
  return count;
}

// A finished run: metrics.jsonl with one line per (valid MAE, train loss) and its summary.json.
void write_run(const std::string& dir, const std::string& model, const std::vector<std::pair<double, double>>& epochs,
               int best_epoch, int64_t seed = 42, const std::string& data = "crc32 0001") {
  std::string lines;
  for (size_t i = 0; i < epochs.size(); ++i) {
    train::EpochRecord r;
    r.epoch = static_cast<int>(i) + 1;
    r.valid.mae = epochs[i].first;
    r.valid.mse = r.valid.rmse = 1;
    r.valid.count = 10;
    r.train_loss = epochs[i].second;
    lines += train::to_json_line(r) + "\n";
  }
  write_file(dir + "/metrics.jsonl", lines);
  train::RunSummary s;
  s.model = model;
  s.best_epoch = best_epoch;
  s.epochs_run = static_cast<int>(epochs.size());
  s.max_epochs = 10;
  s.valid.mae = best_epoch > 0 ? epochs[best_epoch - 1].first : 0.9;
  s.valid.mse = s.valid.rmse = 1;
  s.valid.count = 10;
  s.seed = seed;
  s.data = data;
  write_file(dir + "/summary.json", train::to_json(s));
}

// A --seeds directory: seeds.json (as train/seeds.cpp writes it) and one run per seed.
void write_seeds(const std::string& dir, const std::vector<std::vector<std::pair<double, double>>>& runs) {
  std::string listed;
  for (size_t i = 0; i < runs.size(); ++i) {
    const int seed = static_cast<int>(i) + 1;
    write_run(dir + "/seed-" + std::to_string(seed), "mf", runs[i], static_cast<int>(runs[i].size()), seed);
    listed += (listed.empty() ? "" : ", ") + ("\"" + std::to_string(seed) + "\": {}");
  }
  write_file(dir + "/seeds.json", "{\"model\": \"mf\", \"seeds\": " + std::to_string(runs.size()) +
                                      ", \"runs\": {" + listed + "}}\n");
}

TEST(NiceTicksTest, RoundStepsCoveringTheRange) {
  const AxisTicks t = nice_ticks(0.63, 2.34);
  EXPECT_DOUBLE_EQ(t.step, 0.5);
  EXPECT_DOUBLE_EQ(t.first, 0.5);
  EXPECT_DOUBLE_EQ(t.last, 2.5);
  EXPECT_EQ(t.decimals, 1);
  EXPECT_EQ(t.values().size(), 5u);
  const AxisTicks small = nice_ticks(0.00012, 0.00047);
  EXPECT_LE(small.first, 0.00012);
  EXPECT_GE(small.last, 0.00047);
  EXPECT_EQ(small.decimals, 4);
  // One value: a range around it, not a division by zero.
  const AxisTicks one = nice_ticks(0.7, 0.7);
  EXPECT_LT(one.first, 0.7);
  EXPECT_GT(one.last, 0.7);
  EXPECT_TRUE(std::isfinite(one.step) && one.step > 0);
}

TEST(SvgTest, EscapesText) {
  EXPECT_EQ(xml_escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
  // UTF-8 kept; a Latin-1 byte (a folder named so) and control characters, which would make the
  // SVG malformed (and librsvg refuse the PNG), become U+FFFD.
  EXPECT_EQ(xml_escape("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(xml_escape("caf\xe9 \x01"), "caf\xef\xbf\xbd \xef\xbf\xbd");
  SvgCanvas svg(10, 10);
  svg.text(1, 1, "mf <tuned>", 12);
  EXPECT_NE(svg.element().find("mf &lt;tuned&gt;"), std::string::npos);
  EXPECT_EQ(svg.document().rfind("<?xml", 0), 0u);
}

TEST(EpochRecordsTest, ReadsBackWhatTheTrainerWrites) {
  TempDir tmp;
  write_run(tmp.file("run"), "mf", {{0.9, 1.2}, {0.8, 1.0}}, 2);
  const auto records = train::read_epoch_records(tmp.file("run/metrics.jsonl"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].epoch, 2);
  EXPECT_DOUBLE_EQ(records[1].valid.mae, 0.8);
  EXPECT_DOUBLE_EQ(records[1].train_loss, 1.0);
}

TEST(EpochRecordsTest, ABadLineIsAnInputErrorNamingFileAndLine) {
  TempDir tmp;
  const std::string path = tmp.file("metrics.jsonl");
  write_file(path, "{\"epoch\": 1, \"mae\": 1, \"mse\": 1, \"rmse\": 1, \"count\": 3}\n\n{\"epoch\": 2, \"mae\": 1}\n");
  try {
    train::read_epoch_records(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":3:"), std::string::npos) << e.what();
  }
}

TEST(LearningCurveTest, ARunsCurveAndItsSelectedEpoch) {
  TempDir tmp;
  write_run(tmp.file("mf"), "mf", {{0.9, 1.2}, {0.8, NAN}, {0.85, 0.9}}, 2);
  const LearningCurve c = read_learning_curve(tmp.file("mf"));
  EXPECT_EQ(c.model, "mf");
  EXPECT_EQ(c.seeds, 1);
  EXPECT_EQ(c.best_epoch, 2);
  ASSERT_EQ(c.mae.size(), 3u);
  EXPECT_DOUBLE_EQ(c.mae[1].mean, 0.8);
  EXPECT_EQ(c.mae[1].min, c.mae[1].max);
  EXPECT_TRUE(std::isnan(c.loss[1].mean));  // a missing value stays missing, not 0
  EXPECT_EQ(c.loss[1].runs, 0);
}

TEST(LearningCurveTest, SeedsAreAveragedWithTheirSpread) {
  TempDir tmp;
  // The second seed stopped early: epoch 3 has one run, so no band there.
  write_seeds(tmp.file("seeds"), {{{1.0, 2.0}, {0.8, 1.5}, {0.7, 1.2}}, {{0.8, 1.8}, {0.6, 1.3}}});
  const LearningCurve c = read_learning_curve(tmp.file("seeds"));
  EXPECT_EQ(c.seeds, 2);
  EXPECT_EQ(c.model, "mf");
  EXPECT_EQ(c.best_epoch, 0);  // no single selected epoch
  ASSERT_EQ(c.mae.size(), 3u);
  EXPECT_DOUBLE_EQ(c.mae[0].mean, 0.9);
  EXPECT_DOUBLE_EQ(c.mae[0].min, 0.8);
  EXPECT_DOUBLE_EQ(c.mae[0].max, 1.0);
  EXPECT_EQ(c.mae[0].runs, 2);
  EXPECT_EQ(c.mae[2].runs, 1);
  EXPECT_DOUBLE_EQ(c.loss[1].mean, 1.4);
}

TEST(LearningCurveTest, TheBaselineIsALevelAndARunningRunGoesByItsDirectory) {
  TempDir tmp;
  write_run(tmp.file("baseline"), "baseline", {}, 0);
  write_file(tmp.file("live/metrics.jsonl"),
             train::to_json_line(train::EpochRecord{1, 1.1, train::Metrics{0.95, 1, 1, 10}}) + "\n");
  const auto curves = read_learning_curves({tmp.file("baseline"), tmp.file("live")});
  EXPECT_TRUE(curves[0].untrained);
  EXPECT_DOUBLE_EQ(curves[0].fixed_mae, 0.9);
  EXPECT_FALSE(curves[1].untrained);
  EXPECT_EQ(curves[1].label, "live (unfinished)");  // training, stopped or failed: it cannot tell
}

TEST(LearningCurveTest, UnfinishedRunsOfOneNameAreToldApartByTheirModelAndDirectories) {
  TempDir tmp;
  for (const std::string dir : {"a/run", "b/run"}) {
    write_file(tmp.file(dir + "/metrics.jsonl"),
               train::to_json_line(train::EpochRecord{1, 1.1, train::Metrics{0.95, 1, 1, 10}}) + "\n");
    write_file(tmp.file(dir + "/config.yaml"), "model: {name: mf}\n");
  }
  const auto curves = read_learning_curves({tmp.file("a/run"), tmp.file("b/run")});
  EXPECT_EQ(curves[0].label, "mf (a/run) (unfinished)");
  EXPECT_EQ(curves[1].label, "mf (b/run) (unfinished)");
}

TEST(LearningCurveTest, ABaselinesSeedsAreALevelAtTheirMean) {
  // Drawn as nothing at all: the seeds' branch never set the level.
  TempDir tmp;
  write_run(tmp.file("seeds/seed-1"), "baseline", {}, 0, 1);
  write_run(tmp.file("seeds/seed-2"), "baseline", {}, 0, 2);
  write_file(tmp.file("seeds/seeds.json"), "{\"model\": \"baseline\", \"seeds\": 2, \"runs\": {\"1\": {}, \"2\": {}}}\n");
  const LearningCurve c = read_learning_curve(tmp.file("seeds"));
  EXPECT_TRUE(c.untrained);
  EXPECT_DOUBLE_EQ(c.fixed_mae, 0.9);
  EXPECT_EQ(c.seeds, 2);
}

TEST(LearningCurveTest, ASeedsDirectoryBeforeItsSeedsJsonIsDrawnFromTheSeedsSoFar) {
  // seeds.json is written when every seed has finished: until then the folder was "not a run
  // directory".
  TempDir tmp;
  write_seeds(tmp.file("seeds"), {{{1.0, 2.0}, {0.8, 1.5}}, {{0.8, 1.8}}});
  std::filesystem::remove(tmp.file("seeds/seeds.json"));
  std::filesystem::remove(tmp.file("seeds/seed-2/summary.json"));  // seed 2 still training
  const auto curves = read_learning_curves({tmp.file("seeds")});
  EXPECT_EQ(curves[0].seeds, 2);
  EXPECT_FALSE(curves[0].finished);
  EXPECT_EQ(curves[0].label, "mf (unfinished)");
  EXPECT_DOUBLE_EQ(curves[0].mae[0].mean, 0.9);
}

TEST(LearningCurveTest, ADirectoryThatIsNoRunIsAnInputErrorNamingIt) {
  TempDir tmp;
  write_file(tmp.file("empty/notes.txt"), "x");
  for (const std::string dir : {tmp.file("empty"), tmp.file("missing")}) {
    try {
      read_learning_curve(dir);
      ADD_FAILURE() << dir;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
    }
  }
  write_file(tmp.file("bad_seeds/seeds.json"), "{\"model\": \"mf\"}");
  EXPECT_THROW(read_learning_curve(tmp.file("bad_seeds")), InputError);
}

TEST(LearningCurveTest, AFinishedRunWithoutItsEpochsIsAnInputErrorNamingTheFile) {
  // It was drawn as nothing, with nothing said. A baseline (no epochs) needs no metrics.jsonl.
  TempDir tmp;
  write_run(tmp.file("mf"), "mf", {{0.9, 1.2}, {0.8, 1.0}}, 2);
  std::filesystem::remove(tmp.file("mf/metrics.jsonl"));
  try {
    read_learning_curve(tmp.file("mf"));
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(tmp.file("mf/metrics.jsonl") + ": missing: the run finished 2 epochs"),
              std::string::npos)
        << e.what();
  }
  write_run(tmp.file("baseline"), "baseline", {}, 0);
  std::filesystem::remove(tmp.file("baseline/metrics.jsonl"));
  EXPECT_TRUE(read_learning_curve(tmp.file("baseline")).untrained);
}

TEST(LearningCurveSvgTest, DrawsEveryCurveBandAndLegendEntry) {
  TempDir tmp;
  write_run(tmp.file("a/mf"), "mf", {{0.9, 1.2}, {0.8, NAN}, {0.85, 0.9}}, 2);
  write_run(tmp.file("b/mf"), "mf", {{0.95, 1.3}, {0.9, 1.1}}, 2);
  write_seeds(tmp.file("seeds"), {{{1.0, 2.0}, {0.8, 1.5}}, {{0.8, 1.8}, {0.6, 1.3}}});
  write_run(tmp.file("baseline"), "baseline", {}, 0);
  const auto curves =
      read_learning_curves({tmp.file("a/mf"), tmp.file("b/mf"), tmp.file("seeds"), tmp.file("baseline")});
  const std::string svg = learning_curves_svg(curves, true);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  // Same model twice: told apart by directory. The seeds curve says what its band is.
  // (Both directories are called mf: their parents tell them apart.)
  EXPECT_NE(svg.find(">mf (a/mf)<"), std::string::npos);
  EXPECT_NE(svg.find(">mf (b/mf)<"), std::string::npos) << svg;
  EXPECT_NE(svg.find("mf (seeds): mean of 2 seeds, band min to max"), std::string::npos);
  EXPECT_NE(svg.find("baseline: no training (dashed)"), std::string::npos);
  // A line per curve and panel, except a/mf's loss: its missing epoch-2 value leaves two lone
  // points (markers, no line) rather than a line through a value that is not there.
  EXPECT_EQ(count_of(svg, "<polyline"), 5);
  EXPECT_EQ(count_of(svg, "<polygon"), 2);  // the seeds' band in each panel
  EXPECT_EQ(count_of(svg, "stroke-dasharray"), 2);  // the baseline's level and its legend entry
  EXPECT_EQ(count_of(svg, "r=\"6\""), 2);  // a/mf's and b/mf's selected epochs
}

// --log-loss: decades labelled 1, 2 and 5 times, a loss far above the others no longer
// flattening them, and a non-positive loss left out rather than drawn at minus infinity.
TEST(LearningCurveSvgTest, TheLossOnALogScale) {
  TempDir tmp;
  write_run(tmp.file("study"), "mf", {{2.3, 7.0}, {2.2, 6.0}, {2.1, 5.0}}, 3);
  write_run(tmp.file("tuned"), "mf", {{0.9, 0.6}, {0.8, 0.0}, {0.75, 0.3}}, 3);
  const auto curves = read_learning_curves({tmp.file("study"), tmp.file("tuned")});
  const std::string linear = learning_curves_svg(curves, true);
  const std::string log = learning_curves_svg(curves, true, PlotOptions{true});
  EXPECT_EQ(linear.find("log scale"), std::string::npos);
  EXPECT_NE(log.find("Training loss (log scale)"), std::string::npos);
  for (const char* label : {">0.1<", ">0.2<", ">0.5<", ">1<", ">2<", ">5<", ">10<"}) {
    EXPECT_NE(log.find(label), std::string::npos) << label;
  }
  EXPECT_EQ(log.find("nan"), std::string::npos);
  EXPECT_EQ(log.find("inf"), std::string::npos);
  // The tuned run's loss: 0.6, (0 left out), 0.3: two lone points, no line; the study's a line.
  EXPECT_EQ(count_of(log, "<polyline"), 3);
}

TEST(HtmlReportTest, TableCurvesSettingsAndADataWarning) {
  TempDir tmp;
  write_run(tmp.file("mf_a"), "mf", {{0.9, 1.2}, {0.82, 1.0}}, 2);
  write_run(tmp.file("mf_<b>"), "mf", {{0.95, 1.3}, {0.85, 1.1}}, 2, 42, "crc32 0002");
  write_seeds(tmp.file("seeds"), {{{1.0, 2.0}, {0.7, 1.5}}, {{0.8, 1.8}, {0.9, 1.3}}});
  const std::vector<std::string> dirs{tmp.file("mf_a"), tmp.file("mf_<b>"), tmp.file("seeds")};
  std::vector<RunRow> rows;
  for (const auto& dir : dirs) rows.push_back(read_run(dir));
  ASSERT_EQ(rows[2].seed_runs.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[2].summary.valid.mae, 0.8);  // mean of 0.7 and 0.9
  EXPECT_NEAR(rows[2].valid_spread(&train::Metrics::mae), std::sqrt(0.02), 1e-12);
  const std::string html = comparison_html(rows, read_learning_curves(dirs), "footer text");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("mf (mf_&lt;b&gt;)"), std::string::npos);  // escaped
  EXPECT_NE(html.find("mf (seeds), 2 seeds"), std::string::npos);
  // The best MAE is the seeds' mean; MSE is 1 everywhere, so no MSE is singled out.
  EXPECT_NE(html.find("<td class=\"best\">0.80000 <span class=\"spread\">± 0.14142</span>"), std::string::npos)
      << html;
  EXPECT_EQ(count_of(html, "class=\"best\""), 1);
  EXPECT_NE(html.find("different data"), std::string::npos);
  EXPECT_NE(html.find("<td>1, 2</td>"), std::string::npos);  // the seeds row's seeds
  EXPECT_EQ(count_of(html, "<svg"), 1);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("footer text"), std::string::npos);
  // The Markdown table shows the same row as mean ± std.
  EXPECT_NE(comparison_table(rows).find("| mf (seeds), 2 seeds | 0.80000 ± 0.14142 |"), std::string::npos)
      << comparison_table(rows);
}

TEST(PngTest, RendersThePlotWhereThisBuildCan) {
  SvgCanvas svg(100, 50);
  svg.line(0, 25, 100, 25, "#ff0000", 4);
  if (!png_supported()) {
    EXPECT_THROW(svg_to_png(svg.document(), 2), ConfigError);
    GTEST_SKIP() << "built without librsvg";
  }
  const std::string png = svg_to_png(svg.document(), 2);
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>(png[at])) << 24) |
           (static_cast<unsigned char>(png[at + 1]) << 16) | (static_cast<unsigned char>(png[at + 2]) << 8) |
           static_cast<unsigned char>(png[at + 3]);
  };
  EXPECT_EQ(be32(16), 200u);  // IHDR width: 100 at scale 2
  EXPECT_EQ(be32(20), 100u);
  EXPECT_THROW(svg_to_png("<svg", 1), std::runtime_error);
}

}  // namespace
}  // namespace mlrec::report
