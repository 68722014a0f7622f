#include "mlrec/report/learning_curves.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/config/config.h"
#include "mlrec/report/compare.h"
#include "mlrec/report/svg.h"
#include "mlrec/train/run_record.h"

namespace mlrec::report {
namespace {

namespace fs = std::filesystem;

// One run's epochs, as read.
struct RunEpochs {
  std::string model;
  int best_epoch = 0, epochs_run = 0;
  double valid_mae = NAN;
  bool finished = false;
  std::vector<train::EpochRecord> epochs;
};

RunEpochs read_run_epochs(const fs::path& dir) {
  RunEpochs run;
  const fs::path summary = dir / "summary.json", metrics = dir / "metrics.jsonl";
  if (fs::exists(summary)) {
    const train::RunSummary s = train::read_run_summary(summary.string());
    run.model = s.model;
    run.best_epoch = s.best_epoch;
    run.epochs_run = s.epochs_run;
    run.valid_mae = s.valid.mae;
    run.finished = true;
  }
  if (!run.finished && fs::exists(dir / "config.yaml")) {
    try {
      run.model = config::load_config((dir / "config.yaml").string(), {}).model.name;
    } catch (const std::exception&) {
      // another mlrec's keys: the label falls back to the directory's name
    }
  }
  if (fs::exists(metrics)) {
    // A resumed run rewrites the epochs it repeats: the last record of an epoch counts.
    std::map<int, train::EpochRecord> by_epoch;
    for (auto& record : train::read_epoch_records(metrics.string())) by_epoch[record.epoch] = record;
    for (auto& [epoch, record] : by_epoch) run.epochs.push_back(record);
  } else if (!run.finished) {
    throw InputError::in(dir.string(), "no metrics.jsonl or summary.json (not a run directory)");
  } else if (run.epochs_run > 0) {
    // Else the run would be drawn as nothing at all, with nothing said.
    throw InputError::in(metrics.string(), fmt::format("missing: the run finished {} epoch{}, and their curve is read "
                                                       "from this file (one line per epoch)",
                                                       run.epochs_run, run.epochs_run == 1 ? "" : "s"));
  }
  return run;
}

// Mean, minimum and maximum per epoch of one metric over runs.
std::vector<CurvePoint> aggregate(const std::vector<RunEpochs>& runs, double (*metric)(const train::EpochRecord&)) {
  std::map<int, std::vector<double>> values;
  for (const auto& run : runs) {
    for (const auto& record : run.epochs) {
      const double v = metric(record);
      auto& at_epoch = values[record.epoch];
      if (std::isfinite(v)) at_epoch.push_back(v);
    }
  }
  std::vector<CurvePoint> points;
  for (const auto& [epoch, vs] : values) {
    CurvePoint p;
    p.epoch = epoch;
    p.runs = static_cast<int>(vs.size());
    if (vs.empty()) {
      p.mean = p.min = p.max = NAN;
    } else {
      double sum = 0;
      for (double v : vs) sum += v;
      p.mean = sum / vs.size();
      p.min = *std::min_element(vs.begin(), vs.end());
      p.max = *std::max_element(vs.begin(), vs.end());
    }
    points.push_back(p);
  }
  return points;
}

double valid_mae(const train::EpochRecord& r) { return r.valid.mae; }
double train_loss(const train::EpochRecord& r) { return r.train_loss; }

}  // namespace

LearningCurve read_learning_curve(const std::string& dir_name) {
  const fs::path dir(dir_name);
  if (!fs::is_directory(dir)) throw InputError::in(dir_name, "no such run directory");
  LearningCurve curve;
  curve.dir = dir_name;
  std::vector<RunEpochs> runs;
  std::vector<std::string> seed_dirs = seed_run_dirs(dir_name);
  if (seed_dirs.empty() && !fs::exists(dir / "summary.json") && !fs::exists(dir / "metrics.jsonl")) {
    seed_dirs = unfinished_seed_run_dirs(dir_name);  // a --seeds run still training, or stopped
  }
  if (!seed_dirs.empty()) {
    for (const auto& seed_dir : seed_dirs) runs.push_back(read_run_epochs(seed_dir));
    // The baseline's seeds train nothing either: their mean as a dashed level, as for one run.
    if (std::all_of(runs.begin(), runs.end(), [](const RunEpochs& r) { return r.finished && r.epochs_run == 0; })) {
      curve.untrained = true;
      double sum = 0;
      for (const auto& r : runs) sum += r.valid_mae;
      curve.fixed_mae = sum / runs.size();
    }
  } else {
    runs.push_back(read_run_epochs(dir));
    curve.best_epoch = runs.front().best_epoch;
    if (runs.front().finished && runs.front().epochs_run == 0) {
      curve.untrained = true;
      curve.fixed_mae = runs.front().valid_mae;
    }
  }
  curve.model = runs.front().model;
  curve.finished = std::all_of(runs.begin(), runs.end(), [](const RunEpochs& r) { return r.finished; });
  curve.seeds = static_cast<int>(runs.size());
  curve.mae = aggregate(runs, valid_mae);
  curve.loss = aggregate(runs, train_loss);
  return curve;
}

std::vector<LearningCurve> read_learning_curves(const std::vector<std::string>& dirs) {
  std::vector<LearningCurve> curves;
  std::vector<std::string> models;
  for (const auto& dir : dirs) {
    curves.push_back(read_learning_curve(dir));
    // (a run with neither summary.json nor a readable config.yaml goes by its directory)
    models.push_back(curves.back().model.empty() ? "run" : curves.back().model);
  }
  const std::vector<std::string> labels = run_labels(models, dirs);
  for (size_t i = 0; i < curves.size(); ++i) {
    curves[i].label = labels[i] == "run" ? directory_name(dirs[i]) : labels[i];
    // Still training, stopped or failed: a run without its summary cannot tell which.
    if (!curves[i].finished) curves[i].label += " (unfinished)";
  }
  return curves;
}

namespace {

// Tableau's ten colours (matplotlib's defaults): distinct, and readable by most colour-blind eyes.
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
const char* colour(size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))]; }

constexpr double kWidth = 1000, kPanelHeight = 360, kFont = 12;

// A rectangle of the canvas mapped to data coordinates. On a log scale y.first and y.last are
// the decades (powers of ten) around the values.
struct Panel {
  double left, top, width, height;
  AxisTicks x, y;
  bool log = false;
  double px(double epoch) const { return left + (epoch - x.first) / (x.last - x.first) * width; }
  double py(double value) const {
    const double v = log ? std::log10(value) : value;
    return top + height - (v - y.first) / (y.last - y.first) * height;
  }
  /// The y axis' ticks: values and their labels (on a log scale 1, 2 and 5 times each decade).
  std::vector<std::pair<double, std::string>> y_ticks() const {
    std::vector<std::pair<double, std::string>> ticks;
    if (!log) {
      for (double v : y.values()) ticks.emplace_back(v, fmt::format("{:.{}f}", v, y.decimals));
      return ticks;
    }
    for (int k = static_cast<int>(y.first); k <= static_cast<int>(y.last); ++k) {
      for (int m : {1, 2, 5}) {
        if (k == static_cast<int>(y.last) && m > 1) break;
        ticks.emplace_back(m * std::pow(10.0, k), fmt::format("{:.{}f}", m * std::pow(10.0, k), std::max(0, -k)));
      }
    }
    return ticks;
  }
};

// The decades around [lo, hi] (both > 0), as the exponents of a log axis.
AxisTicks decade_ticks(double lo, double hi) {
  AxisTicks t;
  t.first = std::floor(std::log10(lo));
  t.last = std::max(t.first + 1, std::ceil(std::log10(hi)));
  t.step = 1;
  return t;
}

AxisTicks epoch_ticks(int last_epoch) {
  AxisTicks t = nice_ticks(1, std::max(last_epoch, 2), 8);
  if (t.step < 1) {  // epochs are whole
    t.step = 1;
    t.first = std::floor(t.first);
    t.last = std::ceil(t.last);
  }
  t.decimals = 0;
  return t;
}

void draw_axes(SvgCanvas& svg, const Panel& p, const std::string& title, const std::string& y_title) {
  svg.rect(p.left, p.top, p.width, p.height, "#fbfbfb", "#bbb");
  for (const auto& [v, label] : p.y_ticks()) {
    const double y = p.py(v);
    svg.line(p.left, y, p.left + p.width, y, "#e4e4e4");
    svg.text(p.left - 6, y + 4, label, kFont - 1, "end", "#555");
  }
  for (double v : p.x.values()) {
    const double x = p.px(v);
    svg.line(x, p.top + p.height, x, p.top + p.height + 4, "#888");
    svg.text(x, p.top + p.height + 17, fmt::format("{:.0f}", v), kFont - 1, "middle", "#555");
  }
  svg.text(p.left, p.top - 10, title, kFont + 2, "start", "#222", true);
  svg.text(p.left + p.width / 2, p.top + p.height + 34, "epoch", kFont, "middle", "#444");
  svg.text(p.left - 48, p.top + p.height / 2, y_title, kFont, "middle", "#444", false, -90);
}

// Runs of consecutive points for which `usable` holds: a line breaks where a value is missing.
template <class Usable>
std::vector<std::vector<CurvePoint>> stretches(const std::vector<CurvePoint>& points, Usable usable) {
  std::vector<std::vector<CurvePoint>> out(1);
  for (const auto& p : points) {
    if (usable(p)) out.back().push_back(p);
    else if (!out.back().empty()) out.emplace_back();
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

void draw_curve(SvgCanvas& svg, const Panel& p, const std::vector<CurvePoint>& points, const std::string& colour,
                int best_epoch) {
  // The seeds' spread first, under every line.
  for (const auto& band : stretches(points, [](const CurvePoint& c) { return c.runs >= 2; })) {
    std::vector<SvgCanvas::Point> outline;
    for (const auto& c : band) outline.emplace_back(p.px(c.epoch), p.py(c.max));
    for (auto it = band.rbegin(); it != band.rend(); ++it) outline.emplace_back(p.px(it->epoch), p.py(it->min));
    svg.polygon(outline, colour, 0.18);
  }
  const bool markers = points.size() <= 60;
  for (const auto& line : stretches(points, [](const CurvePoint& c) { return std::isfinite(c.mean); })) {
    std::vector<SvgCanvas::Point> xy;
    for (const auto& c : line) xy.emplace_back(p.px(c.epoch), p.py(c.mean));
    if (xy.size() > 1) svg.polyline(xy, colour, 2);
    if (markers || xy.size() == 1) {
      for (const auto& [x, y] : xy) svg.circle(x, y, 2.8, colour);
    }
  }
  for (const auto& c : points) {
    if (c.epoch == best_epoch && std::isfinite(c.mean)) svg.circle(p.px(c.epoch), p.py(c.mean), 6, "none", colour, 2);
  }
}

// The value range of a panel's curves (and of fixed levels), NaN-free.
struct Range {
  double lo = INFINITY, hi = -INFINITY;
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

Range value_range(const std::vector<LearningCurve>& curves, std::vector<CurvePoint> LearningCurve::*metric,
                  bool with_fixed) {
  Range r;
  for (const auto& curve : curves) {
    for (const auto& c : curve.*metric) {
      r.add(c.min);  // (NaN, as a non-positive value on a log axis is below, adds nothing)
      r.add(c.max);
    }
    if (with_fixed && curve.untrained) r.add(curve.fixed_mae);
  }
  return r;
}

}  // namespace

std::string learning_curves_svg(const std::vector<LearningCurve>& input, bool standalone, const PlotOptions& options) {
  std::vector<LearningCurve> curves = input;
  if (options.log_loss) {
    // A log axis has no place for zero or less: such a value is left out, as a missing one.
    for (auto& curve : curves) {
      for (auto& c : curve.loss) {
        if (!(c.min > 0)) c.mean = c.min = c.max = NAN;
      }
    }
  }
  int last_epoch = 1;
  for (const auto& curve : curves) {
    for (const auto& c : curve.mae) last_epoch = std::max(last_epoch, c.epoch);
  }
  // The legend: one entry per curve, flowed into rows (text width estimated from its length).
  struct Entry {
    std::string text;
    double width;
  };
  std::vector<Entry> entries;
  for (const auto& curve : curves) {
    std::string text = curve.label;
    if (curve.seeds > 1) text += fmt::format(": mean of {} seeds, band min to max", curve.seeds);
    if (curve.untrained) text += ": no training (dashed)";
    entries.push_back({text, 34 + 0.62 * kFont * text.size() + 24});
  }
  const double margin = 20, legend_row = 20;
  std::vector<std::vector<size_t>> legend_rows(1);
  double row_width = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (row_width + entries[i].width > kWidth - 2 * margin && !legend_rows.back().empty()) {
      legend_rows.emplace_back();
      row_width = 0;
    }
    legend_rows.back().push_back(i);
    row_width += entries[i].width;
  }
  const double panels_top = 40, legend_top = panels_top + kPanelHeight + 58;
  SvgCanvas svg(kWidth, legend_top + legend_rows.size() * legend_row + 12);
  svg.rect(0, 0, svg.width(), svg.height(), "#ffffff");

  const double gap = 90, left = 74, panel_width = (kWidth - left - margin - gap) / 2;
  const AxisTicks x = epoch_ticks(last_epoch);
  const Range mae_range = value_range(curves, &LearningCurve::mae, true);
  const Range loss_range = value_range(curves, &LearningCurve::loss, false);
  const Panel mae{left, panels_top, panel_width, kPanelHeight, x,
                  mae_range.empty() ? nice_ticks(0, 1) : nice_ticks(mae_range.lo, mae_range.hi)};
  Panel loss{left + panel_width + gap, panels_top, panel_width, kPanelHeight, x,
             loss_range.empty() ? nice_ticks(0, 1) : nice_ticks(loss_range.lo, loss_range.hi)};
  if (options.log_loss && !loss_range.empty()) {
    loss.log = true;
    loss.y = decade_ticks(loss_range.lo, loss_range.hi);
  }
  draw_axes(svg, mae, "Validation MAE", "MAE");
  draw_axes(svg, loss, options.log_loss ? "Training loss (log scale)" : "Training loss", "mean squared error");
  if (loss_range.empty()) {
    svg.text(loss.left + loss.width / 2, loss.top + loss.height / 2, "no trained epochs", kFont, "middle", "#888");
  }
  for (size_t i = 0; i < curves.size(); ++i) {
    const LearningCurve& curve = curves[i];
    if (curve.untrained) {
      const double y = mae.py(curve.fixed_mae);
      if (std::isfinite(y)) svg.line(mae.left, y, mae.left + mae.width, y, colour(i), 2, "7 5");
      continue;
    }
    draw_curve(svg, mae, curve.mae, colour(i), curve.best_epoch);
    draw_curve(svg, loss, curve.loss, colour(i), 0);
  }
  // Best epochs are ringed; say so once, under the MAE panel's title line.
  bool any_best = false;
  for (const auto& curve : curves) any_best = any_best || curve.best_epoch > 0;
  if (any_best) svg.text(mae.left + mae.width, mae.top - 10, "ringed: selected epoch", kFont - 1, "end", "#666");

  for (size_t r = 0; r < legend_rows.size(); ++r) {
    double x0 = margin;
    const double y = legend_top + r * legend_row;
    for (size_t i : legend_rows[r]) {
      const std::string dash = curves[i].untrained ? "7 5" : "";
      svg.line(x0, y - 4, x0 + 26, y - 4, colour(i), 2.5, dash);
      svg.text(x0 + 34, y, entries[i].text, kFont);
      x0 += entries[i].width;
    }
  }
  return standalone ? svg.document() : svg.element();
}

}  // namespace mlrec::report
