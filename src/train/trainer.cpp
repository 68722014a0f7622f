#include "mlrec/train/trainer.h"

#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>
#include <torch/cuda.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <tuple>

#include "mlrec/common/checksum.h"
#include "mlrec/common/error.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/stop_signal.h"
#include "mlrec/common/timer.h"
#include "mlrec/distributed/sampler.h"
#include "mlrec/train/autocast.h"
#include "mlrec/train/run_record.h"

namespace mlrec::train {
namespace {

std::unique_ptr<Schedule> make_schedule(const config::Config::Train& o, int64_t total_steps) {
  if (o.schedule == "constant") return std::make_unique<ConstantSchedule>(o.lr, o.beta1);
  return std::make_unique<OneCycleSchedule>(OneCycleOptions::from(o, total_steps));
}


}  // namespace

Trainer::Trainer(models::RatingModelPtr model, const config::Config::Train& options,
                 dist::Communicator& comm, torch::Device device, int64_t bucket_bytes)
    : model_(std::move(model)),
      options_(options),
      precision_(config::precision_of(options)),
      comm_(comm),
      device_(device),
      bucket_bytes_(bucket_bytes) {
  model_->to(device_);
  // NCCL at one rank (dist.backend=nccl) runs the data-parallel step all the same: the one-GPU
  // run of the path that N GPUs take (and of its CUDA graph), at the cost of no-op collectives.
  data_parallel_ = comm_.world_size() > 1 || comm_.backend() == "nccl";
  sync_buffers_ = data_parallel_ && !model_->buffers().empty();
  if (data_parallel_) broadcast_and_verify_model();
}

namespace {

// FNV-1a over the bytes of every parameter and buffer, in registration order.
int64_t model_hash(const torch::nn::Module& module) {
  Fnv1a64 hash;
  auto mix = [&](const torch::Tensor& t) {
    auto bytes = t.detach().to(torch::kCPU).contiguous();
    hash.add(bytes.data_ptr(), bytes.numel() * bytes.element_size());
  };
  for (const auto& p : module.parameters()) mix(p);
  for (const auto& b : module.buffers()) mix(b);
  return static_cast<int64_t>(hash.value());
}

}  // namespace

void Trainer::broadcast_and_verify_model() {
  torch::NoGradGuard no_grad;
  for (auto& p : model_->parameters()) {
    auto data = p.detach();
    comm_.broadcast(data, 0, "initial parameters");
  }
  for (auto& b : model_->buffers()) comm_.broadcast(b, 0, "initial buffers");
  auto options = torch::TensorOptions().dtype(torch::kInt64).device(device_);
  auto reference = torch::full({1}, model_hash(*model_), options);
  comm_.broadcast(reference, 0, "model hash");
  auto mismatches = torch::full({1}, reference.item<int64_t>() == model_hash(*model_) ? 0 : 1, options);
  comm_.all_reduce_sum(mismatches, "model hash check");
  if (mismatches.item<int64_t>() != 0) {
    throw std::runtime_error(std::to_string(mismatches.item<int64_t>()) +
                             " rank(s) hold a model that differs from rank 0's after the broadcast");
  }
}

void Trainer::broadcast_buffers() {
  // As DDP's default (and the study): rank 0's BatchNorm running statistics before each
  // forward, so batch statistics are per rank and evaluation sees the same buffers everywhere.
  for (auto& b : model_->buffers()) comm_.broadcast(b, 0, "buffers");
}

void Trainer::synchronize_device() {
  if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
}

void check_batching(const config::Config::Train& options, int64_t train_size, int world_size,
                    const torch::nn::Module& model) {
  const dist::DistributedSampler sampler(train_size, options.batch_size, 0, world_size,
                                         static_cast<uint64_t>(options.seed), options.max_steps_per_epoch);
  if (sampler.local_batch() % options.accumulation_steps != 0) {
    throw ConfigError::for_key("train.accumulation_steps",
                               "the per-rank batch " + std::to_string(sampler.local_batch()) +
                                   " does not divide into " + std::to_string(options.accumulation_steps) +
                                   " micro-batches");
  }
  // BatchNorm in training needs two samples to take a variance: one per micro-batch failed
  // mid-run with torch's "Expected more than 1 value per channel".
  const int64_t micro_batch = sampler.local_batch() / options.accumulation_steps;
  const auto modules = model.modules(/*include_self=*/true);
  const bool batch_norm = std::any_of(modules.begin(), modules.end(), [](const std::shared_ptr<torch::nn::Module>& m) {
    return m->as<torch::nn::BatchNorm1dImpl>() != nullptr;
  });
  if (batch_norm && micro_batch < 2) {
    throw ConfigError::for_key("train.batch_size",
                               "gives each rank " + std::to_string(micro_batch) + " sample(s) per micro-batch (" +
                                   std::to_string(world_size) + " rank(s), train.accumulation_steps " +
                                   std::to_string(options.accumulation_steps) +
                                   "); the model's BatchNorm needs at least 2");
  }
}

FitResult Trainer::fit(const data::RatingDataset& train, const data::RatingDataset& valid) {
  check_batching(options_, train.size(), comm_.world_size(), *model_);
  dist::DistributedSampler sampler(train.size(), options_.batch_size, comm_.rank(), comm_.world_size(),
                                   static_cast<uint64_t>(options_.seed), options_.max_steps_per_epoch);
  // (sparse table updates: train.embedding_optimizer other than dense, see make_optimizers)
  const StepGraphChoice graph = choose_step_graph({device_.is_cuda(), options_.cuda_graphs, comm_.world_size(),
                                                   comm_.backend(), options_.embedding_optimizer != "dense",
                                                   sync_buffers_, options_.accumulation_steps});
  step_graph_ = graph.graph;
  make_optimizers();
  steps_per_epoch_ = sampler.steps_per_epoch();
  // As in the study, the schedule spans the maximum number of epochs: early stopping ends
  // training before the cycle completes.
  schedule_ = make_schedule(options_, int64_t(options_.epochs) * steps_per_epoch_);
  // Set either way: the flags are process-wide and an earlier run (bench runs several) may
  // have changed them.
  at::globalContext().setAllowTF32CuBLAS(precision_ == config::Precision::kTf32);
  at::globalContext().setAllowTF32CuDNN(precision_ == config::Precision::kTf32);
  if (step_graph_ != StepGraph::kOff) {
    graph_step_ = std::make_unique<CudaGraphStep>(
        [this, &train](const torch::Tensor& index) { return graph_step_body(train, index); }, device_,
        sampler.local_batch());
  } else if (device_.is_cuda() && options_.cuda_graphs) {
    log_rank0("training with eager kernel launches: " + graph.why_off);
  }

  history_ = FitResult{};
  stop_requested_ = false;
  interrupted_ = false;
  global_step_ = 0;
  int first_epoch = 1;
  int64_t first_step = 0;
  if (resume_) {
    std::tie(first_epoch, first_step) = apply_resume(*resume_);
    resume_.reset();
  }
  place_optimizer_in_graph();
  for (auto& c : callbacks_) c->on_train_begin(*this);
  // A run resumed after early stopping had ended it goes straight to the end of training.
  for (epoch_ = first_epoch; epoch_ <= options_.epochs && !stop_requested_; ++epoch_) {
    EpochResult result;
    result.epoch = epoch_;
    train_epoch(train, sampler, epoch_ == first_epoch ? first_step : 0, result);
    if (interrupted_) break;
    Stopwatch eval_watch;
    raise_test_signal_at("eval", epoch_, 0, comm_.rank());
    result.valid = evaluate(valid, validation_ranking_ ? &*validation_ranking_ : nullptr);
    result.eval_seconds = eval_watch.seconds();
    history_.train_seconds += result.train_seconds;
    history_.train_samples += result.samples;
    history_.comm_wait_seconds += result.comm_wait_seconds;
    history_.epochs.push_back(result);
    at_epoch_end_ = true;
    for (auto& c : callbacks_) c->on_epoch_end(*this, result);
    at_epoch_end_ = false;
    if (stop_requested_ || interrupted_) break;
  }
  epoch_ = std::min(epoch_, options_.epochs);
  for (auto& c : callbacks_) c->on_train_end(*this);
  grad_sync_.reset();
  sparse_exchange_.reset();
  FitResult fit = history_;
  fit.cuda_graph = graph_step_ && graph_step_->captured();
  fit.optimizer_in_graph = fit.cuda_graph && optimizer_in_graph();
  device_schedule_.reset();
  if (graph_step_) {
    // The gradients live in the graph's memory pool: drop them with the graph.
    zero_grad();
    graph_step_.reset();
  }
  return fit;
}

void Trainer::place_optimizer_in_graph() {
  device_schedule_.reset();
  // The update joins the graph where nothing of it has to happen on the host: no host-staged
  // all-reduce between backward and update (kStepThenCollectives), and an update that reads lr
  // and beta1 from device memory (mlrec's CUDA kernel). Elsewhere it stays one fused launch after
  // each replay, with host numbers. (Sparse table updates have no graph at all: step_graph.cpp.)
  const int64_t total_steps = int64_t(options_.epochs) * steps_per_epoch_;
  if (!graph_step_ || !options_.graph_optimizer || step_graph_ == StepGraph::kStepThenCollectives ||
      !optimizer_->steps_on_device() || total_steps > DeviceSchedule::kMaxSteps) {
    return;
  }
  device_schedule_ = std::make_unique<DeviceSchedule>(*schedule_, total_steps, device_);
  device_schedule_->seek(global_step_);  // a resumed run continues its schedule
}

void Trainer::make_optimizers() {
  std::vector<torch::Tensor> dense, tables;
  if (options_.embedding_optimizer == "dense") {
    dense = model_->parameters();
  } else {
    // Every embedding table looks its rows up with a sparse gradient (ops::lookup honours the
    // module's option) and is updated by the tables' optimizer.
    for (const auto& module : model_->modules(/*include_self=*/false)) {
      if (auto* embedding = module->as<torch::nn::Embedding>()) {
        embedding->options.sparse(true);
        tables.push_back(embedding->weight);
      }
    }
    for (const auto& p : model_->parameters()) {
      const bool is_table = std::any_of(tables.begin(), tables.end(), [&](const torch::Tensor& t) { return t.is_same(p); });
      if (!is_table) dense.push_back(p);
    }
    table_optimizer_ = std::make_unique<SparseEmbeddingOptimizer>(
        tables, embedding_optimizer_kind(options_.embedding_optimizer), options_.beta2, options_.eps,
        options_.weight_decay);
  }
  optimizer_ = std::make_unique<FusedAdamW>(dense, options_.beta2, options_.eps, options_.weight_decay);
  if (data_parallel_) {
    // A graph that cannot hold the collectives computes the gradients, and they are averaged
    // after its replay; otherwise the hooks start each bucket's all-reduce during backward.
    const auto sync_point = step_graph_ == StepGraph::kStepThenCollectives ? dist::SyncPoint::kAfterBackward
                                                                           : dist::SyncPoint::kDuringBackward;
    if (!dense.empty()) grad_sync_ = std::make_unique<dist::GradientSynchronizer>(dense, comm_, bucket_bytes_, sync_point);
    if (!tables.empty()) sparse_exchange_ = std::make_unique<dist::SparseGradientExchange>(tables, comm_);
  }
}

void Trainer::zero_grad() {
  optimizer_->zero_grad();
  if (table_optimizer_) table_optimizer_->zero_grad();
}

void Trainer::train_epoch(const data::RatingDataset& train, dist::DistributedSampler& sampler, int64_t first_step,
                          EpochResult& result) {
  model_->train();
  const int64_t local_batch = sampler.local_batch();
  auto indices = sampler.epoch_indices(epoch_).to(device_);
  if (first_step == 0) {
    // The loss is summed on the device and read once per epoch: no host synchronisation per
    // step (a resumed epoch continues the sum it was stopped with).
    epoch_loss_sum_ = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
    epoch_seconds_before_ = 0;
    epoch_comm_wait_ = 0;
  }

  synchronize_device();
  epoch_watch_.restart();
  for (int64_t step = first_step; step < steps_per_epoch_; ++step) {
    comm_.set_progress(epoch_, step);
    raise_test_signal_at("train", epoch_, step + 1, comm_.rank());
    seed_step_generators(static_cast<uint64_t>(options_.seed), comm_.rank(), global_step_, device_);
    const StepSettings settings = schedule_->at(global_step_);
    const auto step_index = indices.narrow(0, step * local_batch, local_batch);
    torch::Tensor step_loss;
    {
      // In a profile (train/profiler.h) the step is named as torch.profiler names its steps,
      // which trace viewers split a trace by; the scope closes before the callbacks, which may
      // start or stop the profiler.
      RECORD_USER_SCOPE("ProfilerStep#" + std::to_string(global_step_));
      if (buffers_before_step()) broadcast_buffers();
      if (graph_step_) {
        step_loss = graphed_forward_backward(train, step_index);
      } else {
        zero_grad();
        step_loss = forward_backward(train, step_index);
      }
      if (grad_sync_) {
        // (a graph with collectives averaged the gradients itself, in graph_step_body)
        if (!collectives_in_graph()) {
          RECORD_USER_SCOPE("mlrec::gradient_all_reduce");
          epoch_comm_wait_ += grad_sync_->finish();
        }
        history_.grad_bytes += grad_sync_->bytes_per_step();
      }
      if (sparse_exchange_) {
        RECORD_USER_SCOPE("mlrec::sparse_gradient_exchange");
        epoch_comm_wait_ += sparse_exchange_->exchange();
        history_.grad_bytes += sparse_exchange_->bytes_last_exchange();
      }
      ++history_.steps;
      if (!optimizer_in_graph()) {
        RECORD_USER_SCOPE("mlrec::optimizer_step");
        optimizer_->step(settings.lr, settings.beta1);
      }
      if (table_optimizer_) {
        RECORD_USER_SCOPE("mlrec::table_optimizer_step");
        table_optimizer_->step(settings.lr, settings.beta1);
      }
      epoch_loss_sum_.add_(step_loss);
    }
    ++global_step_;
    next_step_ = step + 1;
    // On the CPU reading the loss costs nothing; on a GPU it would stall the stream every step,
    // so there the epoch's sum is checked once the epoch ends (and before each checkpoint).
    if (device_.is_cpu()) check_loss_finite(step_loss, step);
    for (auto& c : callbacks_) c->on_step_end(*this, step, step_loss);
    if (interrupted_) return;
  }
  // The epoch's loss, evaluation and checkpoint collectives belong to no step: a timeout in
  // them must not be reported at the last step's number.
  comm_.set_progress(epoch_, -1);
  synchronize_device();
  result.train_seconds = epoch_seconds_before_ + epoch_watch_.seconds();
  result.comm_wait_seconds = epoch_comm_wait_;
  // One replay is one optimizer step: the device's count must be the host's (read once an epoch).
  if (optimizer_in_graph() && device_schedule_->steps_taken() != global_step_) {
    throw std::logic_error(fmt::format("the graphed optimizer took {} steps where the trainer counted {}",
                                       device_schedule_->steps_taken(), global_step_));
  }
  result.lr = schedule_->at(global_step_ - 1).lr;
  check_loss_finite(epoch_loss_sum_, steps_per_epoch_ - 1);

  auto loss_sum = epoch_loss_sum_.clone();
  comm_.all_reduce_sum(loss_sum, "train loss");
  const double steps = double(steps_per_epoch_) * comm_.world_size();
  result.train_loss = loss_sum.item<double>() / steps;
  result.samples = steps_per_epoch_ * sampler.global_batch();
  result.samples_per_second = result.train_seconds > 0 ? result.samples / result.train_seconds : 0;
}

void Trainer::check_loss_finite(const torch::Tensor& loss, int64_t step) const {
  const double value = loss.item<double>();
  if (std::isfinite(value)) return;
  throw std::runtime_error(fmt::format("the training loss became {} at epoch {} step {} (of {}): training stopped, "
                                       "nothing non-finite saved; lower train.lr or check the data",
                                       value, epoch_, step + 1, steps_per_epoch_));
}

namespace {

using Json = nlohmann::ordered_json;

Json epoch_json(const EpochResult& r) {
  return Json{{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"valid", r.valid}, {"lr", r.lr}, {"seconds", r.train_seconds},
              {"eval_seconds", r.eval_seconds}, {"samples", r.samples}, {"samples_per_second", r.samples_per_second},
              {"comm_wait_seconds", r.comm_wait_seconds}};
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Seeds the default generator of `device` (a process-wide object).
void seed_default_generator(const torch::Device& device, uint64_t seed) {
  at::Generator generator = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_current_seed(seed);
}

EpochResult epoch_from_json(const Json& j) {
  EpochResult r;
  r.epoch = j.at("epoch").get<int>();
  r.train_loss = number_or_nan(j.at("train_loss"));
  r.valid = j.at("valid").get<Metrics>();
  r.lr = j.at("lr").get<double>();
  r.train_seconds = j.at("seconds").get<double>();
  r.eval_seconds = j.at("eval_seconds").get<double>();
  r.samples = j.at("samples").get<int64_t>();
  r.samples_per_second = j.at("samples_per_second").get<double>();
  r.comm_wait_seconds = j.at("comm_wait_seconds").get<double>();
  return r;
}

}  // namespace

void seed_step_generators(uint64_t seed, int rank, int64_t step, const torch::Device& device) {
  const uint64_t mixed = splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(rank)) ^ static_cast<uint64_t>(step));
  seed_default_generator(torch::Device(torch::kCPU), mixed);
  if (!device.is_cpu()) seed_default_generator(device, mixed);
}

TrainingState Trainer::capture_training_state() {
  TrainingState state;
  // The epoch's partial loss of every rank (a collective), so that the resumed epoch adds up
  // exactly as the uninterrupted one: each rank its own sum.
  torch::Tensor loss_sums;
  if (!at_epoch_end_) {
    loss_sums = torch::zeros({comm_.world_size()}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
    loss_sums.narrow(0, comm_.rank(), 1).copy_(epoch_loss_sum_);
    comm_.all_reduce_sum(loss_sums, "checkpoint: partial losses");
    check_loss_finite(loss_sums.sum(), next_step_ - 1);
  }
  if (!comm_.is_root()) return state;

  Json& t = state.values["trainer"];
  t["epoch"] = at_epoch_end_ ? epoch_ + 1 : epoch_;
  t["step_in_epoch"] = at_epoch_end_ ? 0 : next_step_;
  t["global_step"] = global_step_;
  t["steps_per_epoch"] = steps_per_epoch_;
  t["global_batch"] = options_.batch_size;
  t["world_size"] = comm_.world_size();
  t["stop_requested"] = stop_requested_;
  t["epoch_seconds"] = at_epoch_end_ ? 0.0 : epoch_seconds_before_ + epoch_watch_.seconds();
  // Rank 0's: the one summary.json reports (the other ranks continue from it too).
  t["epoch_comm_wait_seconds"] = at_epoch_end_ ? 0.0 : epoch_comm_wait_;
  Json epochs = Json::array();
  for (const auto& r : history_.epochs) epochs.push_back(epoch_json(r));
  t["history"] = epochs;
  if (!at_epoch_end_) state.add("trainer/epoch_loss_sums", loss_sums);

  for (const auto& p : model_->named_parameters()) state.add("model/" + p.key(), p.value());
  for (const auto& b : model_->named_buffers()) state.add("model/" + b.key(), b.value());
  for (const auto& [name, tensor] : optimizer_->state()) state.add("optimizer/" + name, tensor);
  if (table_optimizer_) {
    for (const auto& [name, tensor] : table_optimizer_->state()) state.add("optimizer/" + name, tensor);
  }
  // (No generator states: each step seeds them afresh, seed_step_generators.)
  for (const auto& c : callbacks_) c->save_state(state);
  return state;
}

std::pair<int, int64_t> Trainer::apply_resume(const TrainingState& state) {
  torch::NoGradGuard no_grad;
  const Json& t = state.values.at("trainer");
  if (t.at("steps_per_epoch").get<int64_t>() != steps_per_epoch_ || t.at("global_batch").get<int64_t>() != options_.batch_size) {
    throw InputError::in(state.source, "was taken with " + t.at("steps_per_epoch").dump() + " steps per epoch of " +
                                           t.at("global_batch").dump() + " samples; this run has " +
                                           std::to_string(steps_per_epoch_) + " of " + std::to_string(options_.batch_size));
  }
  auto load_into = [&](const std::string& name, torch::Tensor target) {
    const torch::Tensor& value = state.tensor(name);
    if (value.sizes() != target.sizes()) throw InputError::in(state.source, "tensor '" + name + "' has another shape");
    target.copy_(value);
  };
  for (auto& p : model_->named_parameters()) load_into("model/" + p.key(), p.value());
  for (auto& b : model_->named_buffers()) load_into("model/" + b.key(), b.value());
  // The tables' optimizer names its state "table_...".
  std::vector<std::pair<std::string, torch::Tensor>> dense_state, table_state;
  for (auto& entry : state.tensors_under("optimizer/")) {
    (entry.first.rfind("table_", 0) == 0 ? table_state : dense_state).push_back(std::move(entry));
  }
  optimizer_->load_state(dense_state);
  if (table_optimizer_) table_optimizer_->load_state(table_state);
  else if (!table_state.empty()) throw InputError::in(state.source, "holds sparse embedding optimizer state");
  global_step_ = t.at("global_step").get<int64_t>();
  stop_requested_ = t.at("stop_requested").get<bool>();
  for (const auto& e : t.at("history")) {
    history_.epochs.push_back(epoch_from_json(e));
    history_.train_seconds += history_.epochs.back().train_seconds;
    history_.train_samples += history_.epochs.back().samples;
    history_.comm_wait_seconds += history_.epochs.back().comm_wait_seconds;
  }
  const int epoch = t.at("epoch").get<int>();
  const int64_t step = t.at("step_in_epoch").get<int64_t>();
  if (step > 0) {
    // Each rank continues its own partial sum; on another number of ranks the sums are pooled
    // on rank 0 (the epoch's mean loss is then exact up to the order of additions). A sum is of
    // per-rank batch means and the epoch's total is divided by steps x ranks, so the pool is
    // weighted by this run's ranks over the checkpoint's (unweighted, 2 -> 1 ranks doubled it).
    const torch::Tensor sums = state.tensor("trainer/epoch_loss_sums");
    const int64_t ranks_then = sums.numel();
    const bool same_ranks = ranks_then == comm_.world_size();
    const double mine = same_ranks ? sums[comm_.rank()].item<double>()
                                   : (comm_.is_root() ? sums.sum().item<double>() * comm_.world_size() / double(ranks_then)
                                                      : 0.0);
    epoch_loss_sum_ = torch::full({1}, mine, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
    epoch_seconds_before_ = t.at("epoch_seconds").get<double>();
    epoch_comm_wait_ = t.value("epoch_comm_wait_seconds", 0.0);  // absent from older checkpoints
  }
  for (auto& c : callbacks_) c->load_state(state);
  return {epoch, step};
}

torch::Tensor Trainer::forward_backward(const data::RatingDataset& train, const torch::Tensor& step_index) {
  const int micro_batches = options_.accumulation_steps;
  const int64_t micro_batch = step_index.size(0) / micro_batches;
  const bool bf16 = precision_ == config::Precision::kBf16;
  torch::Tensor step_loss;
  for (int m = 0; m < micro_batches; ++m) {
    data::Batch batch;
    {
      RECORD_USER_SCOPE("mlrec::gather_batch");
      batch = train.gather(step_index.narrow(0, m * micro_batch, micro_batch));
    }
    if (sync_buffers_ && !buffers_before_step()) broadcast_buffers();
    if (grad_sync_) grad_sync_->begin_micro_batch(m == 0, m == micro_batches - 1);
    torch::Tensor loss;
    {
      RECORD_USER_SCOPE("mlrec::forward");
      torch::Tensor prediction;
      {
        AutocastGuard autocast(bf16, device_.type());
        prediction = model_->forward(batch);
      }
      // Each micro-batch carries 1/k of the step's mean loss, so k of them add up to it.
      loss = options_.loss == "mae" ? torch::l1_loss(prediction.to(torch::kFloat32), batch.target)
                                    : torch::mse_loss(prediction.to(torch::kFloat32), batch.target);
      if (micro_batches > 1) loss = loss / micro_batches;
    }
    {
      // (on a GPU the backward ops run on autograd's device thread, each under its own
      // "autograd::engine::evaluate_function" in the trace)
      RECORD_USER_SCOPE("mlrec::backward");
      loss.backward();
    }
    step_loss = m == 0 ? loss.detach() : step_loss + loss.detach();
  }
  return step_loss;
}

torch::Tensor Trainer::graph_step_body(const data::RatingDataset& train, const torch::Tensor& step_index) {
  auto loss = forward_backward(train, step_index);
  // The buckets' all-reduces were launched by the hooks during backward (captured on the NCCL
  // stream); waiting for them here joins that stream back into the capture.
  if (collectives_in_graph()) grad_sync_->finish();
  if (device_schedule_) {
    RECORD_USER_SCOPE("mlrec::optimizer_step");
    optimizer_->step(*device_schedule_);
  }
  return loss;
}

torch::Tensor Trainer::replay_step(const torch::Tensor& step_index) {
  auto loss = graph_step_->replay(step_index);
  // The replayed collectives were captured, not launched one by one: the whole replay goes
  // under the collectives' timeout instead.
  if (collectives_in_graph()) comm_.watch_current_stream("graphed training step");
  return loss;
}

torch::Tensor Trainer::graphed_forward_backward(const data::RatingDataset& train, const torch::Tensor& step_index) {
  if (graph_step_->captured()) {
    RECORD_USER_SCOPE("mlrec::graph_replay");
    return replay_step(step_index);
  }
  // Before the capture the gradients are dropped, so that the captured backward writes fresh
  // ones into the graph's pool (instead of adding to tensors from outside it); afterwards
  // every replay overwrites those, and they are never dropped again.
  zero_grad();
  if (!graph_step_->warmed_up()) return graph_step_->warm_up(step_index);
  std::string why;
  if (graph_step_->capture(&why)) {
    log_rank0(std::string("training step captured as a CUDA graph (") + step_graph_name(step_graph_) +
              (device_schedule_ ? ", with the optimizer's update" : "") + ")");
    return replay_step(step_index);
  }
  if (collectives_in_graph()) {
    // The capture had begun the step's collectives (bucket hooks, forks of the communicator's
    // stream): falling back here, on this rank alone, could leave the gradient synchroniser
    // mid-step and the ranks at different collectives. The job ends instead, on every rank.
    throw std::runtime_error("the training step could not be captured as a CUDA graph (" + why +
                             "), and with its collectives in the graph the ranks cannot fall back to eager "
                             "launches apart; set train.cuda_graphs=false to train without graphs");
  }
  log_warning("the training step could not be captured as a CUDA graph (" + why +
              "); training with eager kernel launches");
  graph_step_.reset();
  zero_grad();
  return forward_backward(train, step_index);
}

namespace {

// Adds the batch's ranking sums (hits, DCG, rows ranked) to sums[3..5]. Each row's held-out item
// is ranked among every item but padding and those its user rated before it, by the model's
// predicted rating in float32; items tied with it count as ranked above it, so that a model
// that cannot tell items apart (a constant) ranks nothing first.
void add_ranking_sums(models::RatingModel& model, const data::Batch& batch, const RankingInput& ranking, int k,
                      torch::Tensor& sums) {
  const int64_t rows = batch.size();
  // (contiguous: written below, and the baseline returns one value expanded)
  auto scores = model.score_all_items(batch, ranking.num_items).to(torch::kFloat32).contiguous();  // [B, items + 1]
  auto target = batch.movies.select(1, batch.movies.size(1) - 1).to(torch::kInt64).unsqueeze(1);
  auto target_score = scores.gather(1, target);
  const float excluded = -std::numeric_limits<float>::infinity();
  ranking.seen.mask(scores, batch.user, excluded);
  scores.select(1, 0).fill_(excluded);
  scores.scatter_(1, target, target_score);  // the held-out item stays a candidate in any case
  auto rank = scores.ge(target_score).sum(1).to(torch::kFloat64);  // 1 = first
  auto hit = rank.le(k);
  sums[3] += hit.sum();
  sums[4] += torch::where(hit, 1.0 / torch::log2(rank + 1.0), torch::zeros_like(rank)).sum();
  sums[5] += double(rows);
}

}  // namespace

double Trainer::current_lr() const { return schedule_ && global_step_ > 0 ? schedule_->at(global_step_ - 1).lr : 0.0; }

Metrics Trainer::evaluate(const data::RatingDataset& dataset, const RankingInput* ranking) {
  torch::NoGradGuard no_grad;
  model_->eval();
  if (sync_buffers_) broadcast_buffers();
  const auto shard = dist::evaluation_shard(dataset.size(), comm_.rank(), comm_.world_size());
  auto sums = torch::zeros({6}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  const bool bf16 = precision_ == config::Precision::kBf16;
  int64_t batch_size = options_.eval_batch_size;
  if (ranking) {
    // A ranked batch holds a score per item: ~64 MB of them at a time.
    batch_size = std::min<int64_t>(batch_size, std::max<int64_t>(1, (int64_t{1} << 24) / (ranking->num_items + 1)));
  }
  for (int64_t begin = shard.begin; begin < shard.end; begin += batch_size) {
    const int64_t end = std::min<int64_t>(begin + batch_size, shard.end);
    auto batch = dataset.slice(begin, end);
    torch::Tensor prediction;
    {
      AutocastGuard autocast(bf16, device_.type());
      prediction = model_->forward(batch);
    }
    auto error = prediction.to(torch::kFloat64) - batch.target.to(torch::kFloat64);
    sums[0] += error.abs().sum();
    sums[1] += error.square().sum();
    sums[2] += double(end - begin);
    if (ranking) add_ranking_sums(*model_, batch, *ranking, options_.ranking_k, sums);
  }
  comm_.all_reduce_sum(sums, "metrics");
  auto host = sums.cpu();
  const double* s = host.data_ptr<double>();
  return Metrics::from(ErrorSums{s[0], s[1], s[2], s[3], s[4], s[5]}, ranking ? options_.ranking_k : 0);
}

}  // namespace mlrec::train
