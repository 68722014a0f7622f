// The run record: what a training run leaves in its run directory for people and programs to
// read (README, "What a run writes"). One type per file and one JSON mapping for each, in
// src/train/run_record.cpp: the trainer writes these types, and `compare`, `--seeds` and `sweep`
// read them back through the same mapping. Torch-free, so that reports build without LibTorch.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mlrec/train/metrics.h"

namespace mlrec::train {

/// One line of metrics.jsonl: an epoch's training and validation figures.
struct EpochRecord {
  int epoch = 0;                  // 1-based
  double train_loss = NAN;        // mean MSE over the epoch's steps and ranks
  Metrics valid;                  // written flat: mae, mse, rmse, count
  double lr = 0;                  // of the epoch's last optimizer step
  double seconds = 0;             // training time
  double eval_seconds = 0;
  double samples_per_second = 0;
  double comm_wait_seconds = 0;
};

/// summary.json: a finished run.
struct RunSummary {
  std::string model, release;
  std::string data;                // the data's fingerprint (data::data_fingerprint)
  double rating_min = NAN, rating_max = NAN, rating_step = NAN;  // the data's rating scale
  int best_epoch = 0, epochs_run = 0, max_epochs = 0;
  std::string protocol = "study";  // study (select and report on validation) | valid_test
  Metrics valid;                   // the best epoch's (the baseline's)
  std::optional<Metrics> test;     // the selected model, scored once (protocol valid_test)
  int64_t train_count = 0, test_count = 0;
  double data_seconds = 0;         // opening the files to the tensors being ready
  // Right after the data was ready: rank 0's resident memory, and the sum over all ranks of
  // their proportional shares (PSS: a page that n processes map counts 1/n to each), which is
  // what the ranks of one host take together. How samples were held, and the cache ("" = none;
  // "built" or "mapped" and the file).
  int64_t data_rss_bytes = 0, data_pss_bytes_all_ranks = 0;
  std::string data_windows, data_cache;
  double train_seconds = 0;        // training time of all epochs, no evaluation
  int64_t train_samples = 0;
  double samples_per_second = 0;   // train_samples / train_seconds
  double comm_wait_seconds = 0, comm_wait_share = 0;
  int64_t grad_bytes_per_step = 0;  // what one rank put into gradient collectives per step
  std::string embedding_optimizer = "dense";
  int64_t steps_per_epoch = 0;
  int batch_size = 0;
  int64_t seed = 0;
  std::string precision;
  bool cuda_graph = false;
  int64_t parameters = 0;
  int world_size = 1;
  std::string backend, device, torch;
  // best.pt's CRC-32 as 8 hex digits, recorded when the summary is written; "" where the run
  // saved no weights or an older mlrec wrote the summary. Torch's reader checks no checksum, so
  // predict, recommend and export compare this before trusting the file.
  std::string weights_crc32;
};

/// Metrics as JSON, {"mae", "mse", "rmse", "count"}: the mapping summary.json uses, for other
/// files that report metrics (the benchmark's, checkpoints). Found by nlohmann-json through ADL.
void to_json(nlohmann::ordered_json& json, const Metrics& metrics);
void from_json(const nlohmann::ordered_json& json, Metrics& metrics);
/// A number written by nlohmann-json, which writes non-finite ones as null: null reads as NaN.
double number_or_nan(const nlohmann::ordered_json& json);

/// JSON text of one metrics.jsonl line (no newline). Non-finite numbers become null, as JSON
/// has no spelling for them; reading turns null back into NaN.
std::string to_json_line(const EpochRecord& record);
/// Parses one metrics.jsonl line; `source` names it in errors (FILE:LINE). `epoch` and the
/// validation metrics are required, the rest take their defaults when absent.
EpochRecord epoch_record_from_json(const std::string& line, const std::string& source);
/// Every epoch of a metrics.jsonl file in file order (blank lines skipped). InputError naming the
/// file and line of a line that is no epoch record.
std::vector<EpochRecord> read_epoch_records(const std::string& path);
/// summary.json's text: one JSON object and a newline, keys in the order of RunSummary.
std::string to_json(const RunSummary& summary);

/// Parses summary.json's text. `model`, `valid`, `best_epoch` and `epochs_run` are required;
/// fields that older mlrec versions did not write take their defaults. InputError naming
/// `source` when the text is no run summary.
RunSummary run_summary_from_json(const std::string& text, const std::string& source);
/// read_file + run_summary_from_json.
RunSummary read_run_summary(const std::string& path);

}  // namespace mlrec::train
