// One training run from a configuration: data, model, trainer, and the run directory.
#pragma once

#include "mlrec/config/config.h"
#include "mlrec/distributed/process_group.h"
#include "mlrec/train/trainer.h"

#include <memory>
#include <vector>

namespace mlrec::train {

/// Loads and prepares the data, builds the configured model, trains it (or fits the baseline)
/// and, on rank 0, writes the run directory (output.dir):
///   config.yaml    the resolved configuration
///   metrics.jsonl  one JSON object per epoch (epoch, train_loss, mae, mse, rmse, count, lr,
///                  seconds, eval_seconds, samples_per_second)
///   summary.json   model, protocol, best_epoch, epochs_run, valid {mae, mse, rmse, count},
///                  test {...} (with data.test_per_user > 0: the selected model, scored once),
///                  data_seconds, train_seconds, samples_per_second, world_size, device, torch, ...
///   best.pt        the best epoch's weights (unless output.save_checkpoint is false)
/// Nothing is written before the data has loaded and the model has been built, so bad input
/// leaves no run directory behind. Input and configuration errors throw InputError/ConfigError.
/// What a run produced, as every rank sees it (the metrics are reduced).
struct RunResult {
  std::string model, device;
  double data_seconds = 0;
  int64_t data_rss_bytes = 0, data_pss_bytes_all_ranks = 0;  // right after the data was ready
  FitResult fit;                 // per-epoch results (empty for the baseline)
  Metrics best;                  // the best epoch's validation metrics (the baseline's)
  Metrics test;                  // the selected model on the test set (count 0 without one)
  int best_epoch = 0, epochs_run = 0;
  int64_t steps_per_epoch = 0;
  bool already_finished = false; // output.dir held this run, finished: read back, nothing trained
};

/// The device of a rank: the GPU of its local rank (CUDA_VISIBLE_DEVICES decides which GPUs
/// are visible), or the CPU when there is none or `requested` (train.device) says "cpu".
/// ConfigError when "cuda" is requested and no GPU is visible, naming `setting`: the config key,
/// or the option of a command that takes none (predict's --device).
torch::Device choose_device(const std::string& requested, int local_rank,
                            const std::string& setting = "config key 'train.device'");

/// Each rank uses the GPU of its local rank (train.device auto/cuda) or the CPU; with GPUs and
/// several ranks (or dist.backend=nccl) the group's communicator becomes NCCL. `extra` callbacks
/// (the benchmark's step timer, say) are added to the trainer's own.
RunResult run_training(const config::Config& config, dist::ProcessGroup& group,
                       const std::vector<std::shared_ptr<Callback>>& extra = {});

}  // namespace mlrec::train
