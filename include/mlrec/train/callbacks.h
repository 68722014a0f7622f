// The standard callbacks of a training run. Each keeps to one concern; only rank 0 writes.
#pragma once

#include <memory>
#include <string>

#include "mlrec/train/checkpoint.h"
#include "mlrec/train/epoch_step_watch.h"
#include "mlrec/train/event_file.h"
#include "mlrec/train/trainer.h"

namespace mlrec::train {

/// Logs each epoch's result and (rank 0, when `path` is non-empty) rewrites metrics.jsonl
/// atomically with one JSON object per epoch.
class MetricsLogger : public Callback {
 public:
  explicit MetricsLogger(std::string path) : path_(std::move(path)) {}
  void on_epoch_end(Trainer& trainer, const EpochResult& result) override;
  void save_state(TrainingState& state) const override;
  void load_state(const TrainingState& state) override;

 private:
  std::string path_;
  std::string lines_;  // the file's text so far: a resumed run continues it
};

/// Stops training after `patience` epochs without an improvement of more than `threshold` in
/// validation MAE (see EarlyStopping). All ranks see the same reduced MAE and stop together.
class EarlyStoppingCallback : public Callback {
 public:
  EarlyStoppingCallback(int patience, double threshold) : stopping_(patience, threshold) {}
  void on_epoch_end(Trainer& trainer, const EpochResult& result) override;
  void save_state(TrainingState& state) const override;
  void load_state(const TrainingState& state) override;

 private:
  EarlyStopping stopping_;
};

/// Keeps the weights of the best epoch by validation MAE (any improvement at all), writes them
/// to `checkpoint_path` on rank 0 when it is non-empty, and reloads them when training ends.
class SaveBestCallback : public Callback {
 public:
  explicit SaveBestCallback(std::string checkpoint_path) : path_(std::move(checkpoint_path)) {}
  void on_epoch_end(Trainer& trainer, const EpochResult& result) override;
  void on_train_end(Trainer& trainer) override;
  void save_state(TrainingState& state) const override;
  void load_state(const TrainingState& state) override;
  int best_epoch() const { return best_epoch_; }
  const Metrics& best_metrics() const { return best_; }

 private:
  std::string path_;
  StateDict best_state_;
  Metrics best_;
  int best_epoch_ = 0;
};

/// Progress lines every `every_steps` steps on rank 0: loss, throughput and time left.
class ProgressCallback : public Callback {
 public:
  explicit ProgressCallback(int every_steps) : every_steps_(every_steps) {}
  void on_train_begin(Trainer& trainer) override;
  void on_step_end(Trainer& trainer, int64_t step, const torch::Tensor& loss) override;

 private:
  int every_steps_;
  EpochStepWatch watch_;
};

/// TensorBoard on rank 0 (train/event_file.h): the training loss and learning rate every
/// `every_steps` steps; per epoch the validation metrics (MAE, RMSE, and HR@K / NDCG@K when
/// computed), the epoch's mean loss and throughput; the configuration as text. One event file per
/// run (per seed or trial, each its own run directory), never one per rank; x axis: optimizer steps.
class TensorBoardLogger : public Callback {
 public:
  /// dir "" (the other ranks): writes nothing.
  TensorBoardLogger(std::string dir, int every_steps, std::string config_yaml)
      : dir_(std::move(dir)), every_steps_(every_steps), config_yaml_(std::move(config_yaml)) {}
  ~TensorBoardLogger() override;
  void on_train_begin(Trainer& trainer) override;
  void on_step_end(Trainer& trainer, int64_t step, const torch::Tensor& loss) override;
  void on_epoch_end(Trainer& trainer, const EpochResult& result) override;

 private:
  std::string dir_;
  int every_steps_;
  std::string config_yaml_;
  std::unique_ptr<EventFileWriter> writer_;
};

}  // namespace mlrec::train
