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

}  // namespace mlrec::serve
