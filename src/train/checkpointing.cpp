#include "mlrec/train/checkpointing.h"

#include <fmt/format.h>

#include "mlrec/common/logging.h"
#include "mlrec/common/stop_signal.h"

namespace mlrec::train {
namespace {

using Json = nlohmann::ordered_json;

}  // namespace

const char* CheckpointCallback::reason_text(Reason reason) {
  switch (reason) {
    case kSteps: return "every checkpoint.every_steps";
    case kTime: return "every checkpoint.every_minutes";
    case kEpochEnd: return "epoch end";
    case kSignal: break;
  }
  return "stop signal";
}

CheckpointCallback::CheckpointCallback(const config::Config::Checkpoint& options, const std::string& run_dir,
                                       RunIdentity identity)
    : options_(options), store_(run_dir, options.keep), identity_(std::move(identity)) {}

CheckpointCallback::~CheckpointCallback() {
  // An exception is already on its way (or training ended): a write in flight still completes,
  // so that no partial folder is left behind.
  if (pending_.valid()) pending_.wait();
}

void CheckpointCallback::on_train_begin(Trainer&) { since_last_.restart(); }

bool CheckpointCallback::time_due(const dist::Communicator& comm) const {
  return options_.every_minutes > 0 && comm.is_root() && since_last_.seconds() >= options_.every_minutes * 60;
}

std::pair<int, bool> CheckpointCallback::agree(Trainer& trainer, bool time_matters) {
  dist::Communicator& comm = trainer.comm().host();
  if (comm.world_size() == 1) return {stop_signal_received(), time_matters && time_due(comm)};
  start_agreement(trainer, time_matters);
  return finish_agreement();
}

void CheckpointCallback::start_agreement(Trainer& trainer, bool time_matters) {
  dist::Communicator& comm = trainer.comm().host();
  auto flags = torch::zeros({comm.world_size() + 1}, torch::kInt64);
  flags[comm.rank()] = stop_signal_received();
  flags[comm.world_size()] = time_matters && time_due(comm) ? 1 : 0;
  auto sum = comm.all_reduce_sum_async(flags, "stop signal and checkpoint agreement");
  agreement_ = Agreement{flags, std::move(sum)};
}

std::pair<int, bool> CheckpointCallback::finish_agreement() {
  if (!agreement_) return {0, false};
  agreement_->sum->wait();
  const torch::Tensor flags = agreement_->flags;
  agreement_.reset();
  const int64_t ranks = flags.numel() - 1;
  int signal = 0;
  for (int64_t r = 0; r < ranks && signal == 0; ++r) signal = static_cast<int>(flags[r].item<int64_t>());
  return {signal, flags[ranks].item<int64_t>() != 0};
}

void CheckpointCallback::on_step_end(Trainer& trainer, int64_t step, const torch::Tensor&) {
  // The epoch's last step is followed by evaluation and the epoch-end checkpoint: signals
  // arriving now are handled there.
  if (step + 1 == trainer.steps_per_epoch()) return;
  const bool one_rank = trainer.comm().host().world_size() == 1;
  const auto [signal, checkpoint_due] = one_rank ? agree(trainer, true) : finish_agreement();
  if (signal != 0) {
    log_rank0(fmt::format("{} received: stopping at epoch {} step {}/{}", signal_name(signal), trainer.epoch(),
                          step + 1, trainer.steps_per_epoch()));
    save(trainer, kSignal);
    stop(trainer, signal);
    trainer.interrupt();
    return;
  }
  const bool steps_due = options_.every_steps > 0 && trainer.global_step() % options_.every_steps == 0;
  if (steps_due || checkpoint_due) save(trainer, steps_due ? kSteps : kTime);
  if (!one_rank) start_agreement(trainer, true);  // read after the next step
}

void CheckpointCallback::on_epoch_end(Trainer& trainer, const EpochResult&) {
  // (a signal of the epoch's last steps is in the agreement still in flight)
  const int late_signal = finish_agreement().first;
  const int agreed_signal = agree(trainer, false).first;
  const int signal = late_signal != 0 ? late_signal : agreed_signal;
  save(trainer, signal != 0 ? kSignal : kEpochEnd);
  if (signal != 0) {
    log_rank0(fmt::format("{} received: stopping after epoch {}", signal_name(signal), trainer.epoch()));
    stop(trainer, signal);
    trainer.request_stop();
  }
}

void CheckpointCallback::on_train_end(Trainer&) {
  finish_agreement();  // every rank has one in flight, or none, alike
  finish_write();
}

void CheckpointCallback::save(Trainer& trainer, Reason reason) {
  if (options_.keep == 0) return;
  Stopwatch capture_watch;
  TrainingState state = trainer.capture_training_state();  // every rank: it is a collective
  since_last_.restart();
  if (!trainer.comm().is_root()) return;
  const double capture_seconds = capture_watch.seconds();
  finish_write();  // one write at a time
  Json meta;
  meta["reason"] = reason_text(reason);
  meta["identity"] = identity_.to_json();
  meta["state"] = state.values;
  const int64_t step = trainer.global_step();
  const CheckpointStore store = store_;
  pending_ = std::async(std::launch::async, [store, step, capture_seconds, meta = std::move(meta),
                                             state = std::move(state)]() mutable {
    Stopwatch write_watch;
    const std::string bytes = serialize_tensors(state);
    const std::string path = store.write(step, bytes, std::move(meta));
    log_info(fmt::format("checkpoint {} ({:.1f} MB): state copied in {:.3f} s, written in {:.3f} s", path,
                         bytes.size() / 1e6, capture_seconds, write_watch.seconds()));
    return path;
  });
}

void CheckpointCallback::finish_write() {
  if (!pending_.valid()) return;
  last_checkpoint_ = pending_.get();  // rethrows the writer's error ("...: cannot write: ...")
}

void CheckpointCallback::stop(Trainer& trainer, int signal) {
  finish_write();
  // No rank leaves before the checkpoint is on disk: under mpirun a rank that exits early
  // gets the others killed.
  trainer.comm().host().barrier("stop: checkpoint written");
  stopped_by_ = signal;
}

}  // namespace mlrec::train
