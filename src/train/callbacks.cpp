#include "mlrec/train/callbacks.h"

#include <fmt/format.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/train/run_record.h"

namespace mlrec::train {

void MetricsLogger::on_epoch_end(Trainer& trainer, const EpochResult& r) {
  const std::string ranking = r.valid.has_ranking() ? fmt::format("HR@{} {:.5f} NDCG@{} {:.5f}  ", r.valid.ranking_k,
                                                                  r.valid.hr, r.valid.ranking_k, r.valid.ndcg)
                                                    : "";
  log_rank0(fmt::format("epoch {}/{}  train_loss {:.4f}  valid MAE {:.5f} MSE {:.5f} RMSE {:.5f} ({})  {}"
                        "lr {:.2e}  {}, {} samples/s",
                        r.epoch, trainer.max_epochs(), r.train_loss, r.valid.mae, r.valid.mse, r.valid.rmse,
                        r.valid.count, ranking, r.lr, format_duration(r.train_seconds),
                        with_commas(std::llround(r.samples_per_second))));
  if (path_.empty() || !trainer.comm().is_root()) return;
  EpochRecord record;
  record.epoch = r.epoch;
  record.train_loss = r.train_loss;
  record.valid = r.valid;
  record.lr = r.lr;
  record.seconds = r.train_seconds;
  record.eval_seconds = r.eval_seconds;
  record.samples_per_second = r.samples_per_second;
  record.comm_wait_seconds = r.comm_wait_seconds;
  lines_ += to_json_line(record) + "\n";
  write_file_atomic(path_, lines_);
}

void EarlyStoppingCallback::on_epoch_end(Trainer& trainer, const EpochResult& result) {
  if (stopping_.update(result.valid.mae)) {
    log_rank0("early stopping: no improvement of validation MAE for " +
              std::to_string(stopping_.stale_epochs()) + " epochs");
    trainer.request_stop();
  }
}

void SaveBestCallback::on_epoch_end(Trainer& trainer, const EpochResult& result) {
  if (best_epoch_ != 0 && !(result.valid.mae < best_.mae)) return;
  best_ = result.valid;
  best_epoch_ = result.epoch;
  best_state_ = capture_state(trainer.model());
  if (!path_.empty() && trainer.comm().is_root()) save_checkpoint(trainer.model(), path_);
}

void SaveBestCallback::on_train_end(Trainer& trainer) {
  if (best_epoch_ == 0) return;
  restore_state(trainer.model(), best_state_);
  log_rank0(fmt::format("best epoch {}: valid MAE {:.5f} MSE {:.5f} RMSE {:.5f} (weights reloaded)", best_epoch_,
                        best_.mae, best_.mse, best_.rmse));
}

void MetricsLogger::save_state(TrainingState& state) const { state.values["metrics_logger"] = {{"lines", lines_}}; }

void MetricsLogger::load_state(const TrainingState& state) {
  lines_ = state.values.at("metrics_logger").at("lines").get<std::string>();
}

void EarlyStoppingCallback::save_state(TrainingState& state) const {
  const EarlyStopping::State s = stopping_.state();
  state.values["early_stopping"] = {{"has_best", s.has_best}, {"best", s.best}, {"stale_epochs", s.stale_epochs}};
}

void EarlyStoppingCallback::load_state(const TrainingState& state) {
  const auto& j = state.values.at("early_stopping");
  stopping_.restore({j.at("has_best").get<bool>(), number_or_nan(j.at("best")), j.at("stale_epochs").get<int>()});
}

void SaveBestCallback::save_state(TrainingState& state) const {
  state.values["best"] = {{"epoch", best_epoch_}, {"metrics", best_}};
  for (const auto& [name, tensor] : best_state_) state.add("best/" + name, tensor);
}

void SaveBestCallback::load_state(const TrainingState& state) {
  const auto& j = state.values.at("best");
  best_epoch_ = j.at("epoch").get<int>();
  best_ = j.at("metrics").get<Metrics>();
  best_state_.clear();
  // On the device of the model they will be restored into.
  for (const auto& [name, tensor] : state.tensors_under("best/")) best_state_.emplace_back(name, tensor);
}

void ProgressCallback::on_train_begin(Trainer&) { watch_ = EpochStepWatch{}; }

void ProgressCallback::on_step_end(Trainer& trainer, int64_t step, const torch::Tensor& loss) {
  if (watch_.starts_at(trainer.epoch(), step)) return;
  const int64_t done = step + 1, total = trainer.steps_per_epoch(), timed = watch_.steps_timed(step);
  if (every_steps_ <= 0 || (done % every_steps_ != 0) || !trainer.comm().is_root()) return;
  const double seconds = watch_.seconds();
  const double rate = timed * trainer.global_batch() / std::max(seconds, 1e-9);
  const double left = seconds / timed * (total - done);
  log_status(fmt::format("epoch {}/{} step {}/{}  loss {:.4f}  {} samples/s  epoch ETA {}", trainer.epoch(),
                       trainer.max_epochs(), done, total, loss.item<double>(), with_commas(std::llround(rate)),
                       format_duration(left)));
}

TensorBoardLogger::~TensorBoardLogger() = default;

void TensorBoardLogger::on_train_begin(Trainer& trainer) {
  if (dir_.empty() || writer_) return;
  writer_ = std::make_unique<EventFileWriter>(dir_);
  writer_->add_text("config", "```yaml\n" + config_yaml_ + "```", trainer.global_step());
}

void TensorBoardLogger::on_step_end(Trainer& trainer, int64_t step, const torch::Tensor& loss) {
  if (!writer_ || every_steps_ <= 0 || (step + 1) % every_steps_ != 0) return;
  writer_->add_scalar("train/loss", loss.item<double>(), trainer.global_step());
  writer_->add_scalar("train/lr", trainer.current_lr(), trainer.global_step());
}

void TensorBoardLogger::on_epoch_end(Trainer& trainer, const EpochResult& r) {
  if (!writer_) return;
  const int64_t step = trainer.global_step();
  writer_->add_scalar("valid/mae", r.valid.mae, step);
  writer_->add_scalar("valid/rmse", r.valid.rmse, step);
  if (r.valid.has_ranking()) {
    writer_->add_scalar("valid/hr@" + std::to_string(r.valid.ranking_k), r.valid.hr, step);
    writer_->add_scalar("valid/ndcg@" + std::to_string(r.valid.ranking_k), r.valid.ndcg, step);
  }
  writer_->add_scalar("train/epoch_loss", r.train_loss, step);
  writer_->add_scalar("train/samples_per_second", r.samples_per_second, step);
  writer_->add_scalar("epoch", r.epoch, step);
}

}  // namespace mlrec::train
