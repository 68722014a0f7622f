// Learning curves: validation MAE and training loss per epoch of one or several runs, read from
// their metrics.jsonl and drawn as one SVG (`mlrec_dist plot`, `compare --html`). A `--seeds`
// directory is one curve, the mean over its seeds, with the seeds' spread (min to max) as a band.
#pragma once

#include <string>
#include <vector>

namespace mlrec::report {

/// One metric per epoch: the mean over the runs that reached the epoch, and their minimum and
/// maximum (equal to the mean for a single run). NaN where no run has a finite value.
struct CurvePoint {
  int epoch = 0;
  double mean = 0, min = 0, max = 0;
  int runs = 0;  // how many runs reached this epoch with a finite value
};

struct LearningCurve {
  std::string dir;
  std::string label;      // model, or model (directory) where several curves share a model
  std::string model;      // from summary.json, or while the run is unfinished its config.yaml
  bool finished = true;   // every run of it has its summary.json
  int seeds = 0;          // runs averaged: 1 for a run directory, N for a --seeds directory
  int best_epoch = 0;     // a single finished run's selected epoch (0: none or several runs)
  double fixed_mae = 0;   // a run that trains no epochs (the baseline): its validation MAE
  bool untrained = false; // ... and then this is set, and `mae` and `loss` are empty
  std::vector<CurvePoint> mae, loss;
};

/// Reads DIR as a run directory (metrics.jsonl, and summary.json once finished) or as a --seeds
/// directory (seeds.json and its seed-N runs; before seeds.json is written, the seed-N runs
/// found so far). InputError naming the directory or file when it is neither or a file is
/// malformed.
LearningCurve read_learning_curve(const std::string& dir);

/// Reads each directory and labels the curves so that no two read the same.
std::vector<LearningCurve> read_learning_curves(const std::vector<std::string>& dirs);

struct PlotOptions {
  /// The training loss on a log scale: a run whose loss starts far above the others' (the
  /// study's saturated MF) no longer flattens their curves.
  bool log_loss = false;
};

/// The plot: two panels (validation MAE; training loss, the mean MSE of the epoch's steps) over
/// epochs, a legend naming each curve. An <svg> element (SvgCanvas::element) for HTML, or with
/// `standalone` a complete .svg file.
std::string learning_curves_svg(const std::vector<LearningCurve>& curves, bool standalone,
                                const PlotOptions& options = {});

}  // namespace mlrec::report
