// The accelerate-style trainer: it owns the loop, the optimizer, the schedule, devices and the
// communication; the model only maps a batch to predictions. Everything observable about a run
// (metrics files, early stopping, best-epoch checkpoints, progress) is a callback.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "mlrec/config/config.h"
#include "mlrec/data/dataset.h"
#include "mlrec/distributed/communicator.h"
#include "mlrec/distributed/grad_sync.h"
#include "mlrec/distributed/sampler.h"
#include "mlrec/distributed/sparse_grad_exchange.h"
#include "mlrec/models/model.h"
#include "mlrec/common/timer.h"
#include "mlrec/train/adamw.h"
#include "mlrec/train/checkpoint.h"
#include "mlrec/train/cuda_graph_step.h"
#include "mlrec/train/metrics.h"
#include "mlrec/train/schedule.h"
#include "mlrec/train/sparse_embedding_optimizer.h"
#include "mlrec/train/step_graph.h"

namespace mlrec::train {

class Trainer;

/// What one epoch produced (identical on every rank: its numbers are all-reduced).
struct EpochResult {
  int epoch = 0;                 // 1-based
  double train_loss = 0;         // mean training loss (train.loss) over the epoch's steps and ranks
  Metrics valid;                 // on the whole validation set
  double lr = 0;                 // the learning rate of the epoch's last optimizer step
  double train_seconds = 0;      // wall time of the training steps alone
  double eval_seconds = 0;
  int64_t samples = 0;           // training samples, all ranks together
  double samples_per_second = 0; // samples / train_seconds
  double comm_wait_seconds = 0;  // of train_seconds, time this rank waited for gradient all-reduces
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Trainer&) {}
  /// After each optimizer step; `loss` is a device scalar (reading it synchronises).
  virtual void on_step_end(Trainer&, int64_t /*step_in_epoch*/, const torch::Tensor& /*loss*/) {}
  virtual void on_epoch_end(Trainer&, const EpochResult&) {}
  virtual void on_train_end(Trainer&) {}
  /// A callback with state that a resumed run needs (the best epoch, early stopping's counter,
  /// the metrics written so far) adds it here, under its own names, and reads it back below.
  virtual void save_state(TrainingState&) const {}
  virtual void load_state(const TrainingState&) {}
};

struct FitResult {
  std::vector<EpochResult> epochs;
  double train_seconds = 0;      // sum of the epochs' training time (no evaluation)
  int64_t train_samples = 0;
  double comm_wait_seconds = 0;
  /// Bytes this rank put into gradient collectives, over all steps (0 on one rank).
  int64_t grad_bytes = 0;
  int64_t steps = 0;
  bool cuda_graph = false;       // whether the steps were replayed from a CUDA graph
  bool optimizer_in_graph = false;  // whether that graph held the optimizer update too
  /// Training samples over training time across whole epochs (0 before any).
  double samples_per_second() const { return train_seconds > 0 ? train_samples / train_seconds : 0.0; }
  /// The share of training time spent waiting for gradient all-reduces.
  double comm_wait_share() const { return train_seconds > 0 ? comm_wait_seconds / train_seconds : 0.0; }
};

/// What full-ranking metrics need besides the model: the items each held-out row's user rated
/// before it (excluded from its candidates) and the number of items.
struct RankingInput {
  data::SeenItems seen;  // on the trainer's device
  int64_t num_items = 0;
};

/// The batch settings against the data, the ranks and the model: a global batch that fits the
/// training set and divides by the ranks, a per-rank batch that divides into
/// train.accumulation_steps micro-batches of at least 2 samples where `model` has BatchNorm.
/// ConfigError naming the key. (fit() checks them too; a run checks them before writing
/// anything.)
void check_batching(const config::Config::Train& options, int64_t train_size, int world_size,
                    const torch::nn::Module& model);

/// Seeds the default generators of the CPU and of `device`, from which every dropout mask is
/// drawn (mlrec's kernels and torch's ops), for global step `step` of rank `rank`: a function of
/// (seed, rank, step) alone. The trainer calls it before each step. So each rank draws masks of
/// its own (one seed for all gave sample i of every rank's micro-batch the same mask, the
/// gradient noise correlated across ranks), and a resumed run draws what the uninterrupted one
/// drew at that step, at any number of ranks, without generator states in its checkpoint.
void seed_step_generators(uint64_t seed, int rank, int64_t step, const torch::Device& device);

class Trainer {
 public:
  /// With several ranks (or NCCL at one), the constructor broadcasts rank 0's parameters and
  /// buffers and verifies (by hash) that every rank holds the same model.
  Trainer(models::RatingModelPtr model, const config::Config::Train& options,
          dist::Communicator& comm, torch::Device device, int64_t bucket_bytes = int64_t(1) << 20);

  void add_callback(std::shared_ptr<Callback> callback) { callbacks_.push_back(std::move(callback)); }

  /// Trains for at most options.epochs epochs (fewer when a callback requests a stop).
  FitResult fit(const data::RatingDataset& train, const data::RatingDataset& valid);
  /// Scores every sample of `dataset` exactly once across ranks; the result is reduced. With
  /// `ranking`, each sample's held-out item is also ranked among all items its user has not
  /// rated before it (HR@K and NDCG@K, K = train.ranking_k).
  Metrics evaluate(const data::RatingDataset& dataset, const RankingInput* ranking = nullptr);
  /// Ranks the validation samples in every epoch's evaluation of fit().
  void rank_validation(RankingInput ranking) { validation_ranking_ = std::move(ranking); }

  /// Ends training after the current epoch (callbacks call this on every rank alike).
  void request_stop() { stop_requested_ = true; }
  /// Ends training after the current step, without evaluating (a stop signal, agreed on by
  /// every rank). fit() then returns the epochs completed so far.
  void interrupt() { interrupted_ = true; }
  bool interrupted() const { return interrupted_; }

  /// The next fit() continues from `state` (capture_training_state() of an earlier run with the
  /// same configuration and data, possibly on another number of ranks) instead of starting.
  void resume_from(TrainingState state) { resume_ = std::move(state); }
  /// Everything needed to continue from here: parameters and buffers, optimizer, position (the
  /// random generators need no state: each step seeds them, seed_step_generators), the epoch's
  /// partial loss of every rank, the history, and each
  /// callback's save_state(). A collective: every rank calls it at the same point (in
  /// on_step_end or on_epoch_end); only rank 0's result holds the tensors.
  TrainingState capture_training_state();

  models::RatingModel& model() { return *model_; }
  dist::Communicator& comm() { return comm_; }
  const torch::Device& device() const { return device_; }
  int epoch() const { return epoch_; }
  int max_epochs() const { return options_.epochs; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  int64_t global_batch() const { return options_.batch_size; }
  /// Optimizer steps taken so far (in on_step_end: including the step just taken).
  int64_t global_step() const { return global_step_; }
  /// The learning rate of the last optimizer step (0 before any).
  double current_lr() const;

 private:
  /// Steps [first_step, steps_per_epoch_) of epoch_.
  void train_epoch(const data::RatingDataset& train, dist::DistributedSampler& sampler, int64_t first_step,
                   EpochResult& result);
  /// Applies resume_ once the optimizer exists; returns the epoch and step to continue at.
  std::pair<int, int64_t> apply_resume(const TrainingState& state);
  /// Throws when the loss has become NaN or infinite (named by epoch and step).
  void check_loss_finite(const torch::Tensor& loss, int64_t step) const;
  /// Forward and backward of one optimizer step over this rank's `step_index`, in
  /// options_.accumulation_steps micro-batches; returns the step's loss (a device scalar).
  torch::Tensor forward_backward(const data::RatingDataset& train, const torch::Tensor& step_index);
  /// The same through graph_step_: eager warm-up steps, then the capture, then replays.
  torch::Tensor graphed_forward_backward(const data::RatingDataset& train, const torch::Tensor& step_index);
  /// What the graph captures: forward_backward, with kStepWithCollectives the gradients'
  /// averaging, and with device_schedule_ the optimizer's update.
  torch::Tensor graph_step_body(const data::RatingDataset& train, const torch::Tensor& step_index);
  torch::Tensor replay_step(const torch::Tensor& step_index);
  /// Whether the gradient all-reduces run inside the graph (false once it fell back to eager).
  bool collectives_in_graph() const { return graph_step_ && step_graph_ == StepGraph::kStepWithCollectives; }
  /// Whether the optimizer's update runs in graph_step_body (false once the graph fell back).
  bool optimizer_in_graph() const { return graph_step_ && device_schedule_; }
  /// Sets device_schedule_ where the graph can hold the optimizer (see fit()).
  void place_optimizer_in_graph();
  /// Whether rank 0's buffers are broadcast once before each step rather than before each
  /// micro-batch's forward: host-staged collectives stay out of a graph (the policy allows one
  /// micro-batch then).
  bool buffers_before_step() const { return sync_buffers_ && step_graph_ == StepGraph::kStepThenCollectives; }
  void synchronize_device();
  void broadcast_buffers();
  void broadcast_and_verify_model();
  /// Makes the optimizers (and, data parallel, the gradient exchange for step_graph_) for fit().
  void make_optimizers();
  void zero_grad();

  models::RatingModelPtr model_;
  config::Config::Train options_;
  config::Precision precision_;
  dist::Communicator& comm_;
  torch::Device device_;
  std::unique_ptr<FusedAdamW> optimizer_;
  /// With train.embedding_optimizer other than dense: the embedding tables' optimizer (and
  /// FusedAdamW has the rest), and across ranks their sparse gradient exchange.
  std::unique_ptr<SparseEmbeddingOptimizer> table_optimizer_;
  std::unique_ptr<dist::SparseGradientExchange> sparse_exchange_;
  std::unique_ptr<Schedule> schedule_;
  /// The schedule in device memory, for an optimizer update inside the step's graph; null when
  /// the update takes host numbers.
  std::unique_ptr<DeviceSchedule> device_schedule_;
  std::unique_ptr<dist::GradientSynchronizer> grad_sync_;
  std::unique_ptr<CudaGraphStep> graph_step_;  // set while fit() runs with CUDA graphs
  StepGraph step_graph_ = StepGraph::kOff;      // what fit() chose (graph_step_ may fall back)
  bool data_parallel_ = false;  // gradients averaged across ranks: several ranks, or NCCL at one
  bool sync_buffers_ = false;   // data parallel, and a model with buffers (BatchNorm statistics)
  int64_t bucket_bytes_;
  std::vector<std::shared_ptr<Callback>> callbacks_;
  int64_t steps_per_epoch_ = 0;
  int64_t global_step_ = 0;
  int epoch_ = 0;
  bool stop_requested_ = false;
  bool interrupted_ = false;
  std::optional<TrainingState> resume_;
  std::optional<RankingInput> validation_ranking_;

  // The position and partial results of the epoch in progress, for capture_training_state().
  FitResult history_;              // the epochs completed so far
  int64_t next_step_ = 0;          // the next step of epoch_
  bool at_epoch_end_ = false;      // inside on_epoch_end: the next position is (epoch_ + 1, 0)
  torch::Tensor epoch_loss_sum_;   // this rank's summed step losses of the epoch (float64, device)
  double epoch_seconds_before_ = 0;  // of the epoch before a resume
  double epoch_comm_wait_ = 0;       // the epoch's communication wait so far (before a resume too)
  Stopwatch epoch_watch_;
};

}  // namespace mlrec::train
