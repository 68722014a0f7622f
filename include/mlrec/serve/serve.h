// Using a trained model (README, "Using a trained model"): `predict` rates (user, item) pairs,
// `recommend` ranks every item for users, `export` writes the weights, id maps and model
// description for use without mlrec. All three read a finished run directory (its config.yaml,
// id_maps.json, summary.json and best.pt); predict and recommend also read the run's data again,
// for the users' histories and what they have rated, and check by its fingerprint that it is the
// data the run was trained on. Torch-free, so that the command line does not compile LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mlrec::serve {

/// Where the run is and how to score with it.
struct RunOptions {
  std::string run;                     // the run directory
  std::vector<std::string> overrides;  // key=value for the run's configuration: where its data now is
  std::string device = "auto";         // auto | cpu | cuda
  int threads = 0;                     // torch threads; 0 = all cores
};

struct PredictOptions : RunOptions {
  std::string input;   // CSV or TSV with a header: user, item and optionally timestamp columns
  std::string out;     // CSV written here
  std::string user_column, item_column, timestamp_column;  // "" = found by name (serve/predict.cpp)
};

/// Writes one predicted rating per input row; returns the number of rows. A pair the run's data
/// holds is scored with the history before that rating (as in training and evaluation); another
/// with the user's ratings before its timestamp, or all of them when it has none. A user or item
/// the run has not seen gets the training mean, and known = 0.
int64_t predict(const PredictOptions& options);

struct RecommendOptions : RunOptions {
  std::vector<std::string> users;  // the data's user ids; with users_file empty too: every user
  std::string users_file;          // one user id per line
  std::string out;                 // "" = stdout
  std::string format = "auto";     // csv | jsonl | auto (from out's extension; csv on stdout)
  int k = 10;
  bool include_seen = false;       // by default a user's rated items are never recommended
};

/// The top-k items per user by predicted rating; returns the number of users written.
int64_t recommend(const RecommendOptions& options);

struct ExportOptions {
  std::string run, out;
  bool overwrite = false;
};

/// Writes out/model.safetensors, out/id_maps.json, out/model.json and out/config.yaml
/// (README, "Exported models"). Needs neither the data nor a GPU.
void export_model(const ExportOptions& options);

/// A linear blend of finished runs (issue 20): the weights (and an intercept) that minimise the
/// squared error of the members' validation predictions, fitted on validation only and applied
/// once to the test set. The members must share their data and its split (the same fingerprint)
/// and hold a test set (data.test_per_user > 0): under the study's protocol there would be no
/// rating left to report the blend on that the weights had not seen.
struct BlendOptions {
  std::vector<std::string> runs;       // finished run directories (for --seeds runs: DIR/seed-42, ...)
  std::vector<std::string> overrides;  // key=value for every run's configuration (where the data is)
  std::string device = "auto";
  int threads = 0;
  std::string out;                     // blend.json written here ("" = none)
};

struct BlendScores {
  double mae = 0, rmse = 0;
};

struct BlendMember {
  std::string run, model;
  double weight = 0;
  BlendScores valid, test;
};

struct BlendReport {
  std::vector<BlendMember> members;
  double intercept = 0;
  int64_t valid_count = 0, test_count = 0;
  BlendScores valid, test;            // the blend (predictions clamped to the rating scale)
  BlendScores mean_valid, mean_test;  // the members' plain average, for comparison
  std::string data;                   // the members' data fingerprint
};

/// Fits and scores the blend; InputError naming the run when one has no test set or other data.
BlendReport blend(const BlendOptions& options);
/// The report as a Markdown table: each member, their average and the blend.
std::string blend_table(const BlendReport& report);
/// blend.json's text.
std::string blend_json(const BlendReport& report);

}  // namespace mlrec::serve
