#include "mlrec/train/trainer.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include "mlrec/common/error.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/timer.h"
#include "mlrec/distributed/sampler.h"

namespace mlrec::train {
namespace {

std::unique_ptr<Schedule> make_schedule(const config::Config::Train& o, int64_t total_steps) {
  if (o.schedule == "constant") return std::make_unique<ConstantSchedule>(o.lr, o.beta1);
  return std::make_unique<OneCycleSchedule>(OneCycleOptions::from(o, total_steps));
}

// bf16 autocast around the forward pass, as torch.autocast does in Python.
class AutocastGuard {
 public:
  AutocastGuard(bool enabled, c10::DeviceType device) : enabled_(enabled), device_(device) {
    if (!enabled_) return;
    previous_ = at::autocast::is_autocast_enabled(device_);
    at::autocast::set_autocast_enabled(device_, true);
    at::autocast::set_autocast_dtype(device_, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(device_, previous_);
  }

 private:
  bool enabled_;
  c10::DeviceType device_;
  bool previous_ = false;
};

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
  sync_buffers_ = comm_.world_size() > 1 && !model_->buffers().empty();
  if (comm_.world_size() > 1) broadcast_and_verify_model();
}

namespace {

// FNV-1a over the bytes of every parameter and buffer, in registration order.
int64_t model_hash(const torch::nn::Module& module) {
  uint64_t hash = 1469598103934665603ULL;
  auto mix = [&](const torch::Tensor& t) {
    auto bytes = t.detach().to(torch::kCPU).contiguous();
    const auto* p = static_cast<const unsigned char*>(bytes.data_ptr());
    for (int64_t i = 0, n = bytes.numel() * bytes.element_size(); i < n; ++i) {
      hash = (hash ^ p[i]) * 1099511628211ULL;
    }
  };
  for (const auto& p : module.parameters()) mix(p);
  for (const auto& b : module.buffers()) mix(b);
  return static_cast<int64_t>(hash);
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

FitResult Trainer::fit(const data::RatingDataset& train, const data::RatingDataset& valid) {
  dist::DistributedSampler sampler(train.size(), options_.batch_size, comm_.rank(),
                                   comm_.world_size(), static_cast<uint64_t>(options_.seed),
                                   options_.max_steps_per_epoch);
  if (sampler.local_batch() % options_.accumulation_steps != 0) {
    throw ConfigError::for_key("train.accumulation_steps",
                               "the per-rank batch " + std::to_string(sampler.local_batch()) +
                                   " does not divide into " + std::to_string(options_.accumulation_steps) +
                                   " micro-batches");
  }
  if (comm_.world_size() > 1) {
    grad_sync_ = std::make_unique<dist::GradientSynchronizer>(model_->parameters(), comm_, bucket_bytes_);
  }
  steps_per_epoch_ = sampler.steps_per_epoch();
  // As in the study, the schedule spans the maximum number of epochs: early stopping ends
  // training before the cycle completes.
  schedule_ = make_schedule(options_, int64_t(options_.epochs) * steps_per_epoch_);
  optimizer_ = std::make_unique<FusedAdamW>(model_->parameters(), options_.beta2, options_.eps,
                                            options_.weight_decay);
  // Set either way: the flags are process-wide and an earlier run (bench runs several) may
  // have changed them.
  at::globalContext().setAllowTF32CuBLAS(precision_ == config::Precision::kTf32);
  at::globalContext().setAllowTF32CuDNN(precision_ == config::Precision::kTf32);
  // Graphs only for one rank: with several, the gradient hooks talk to the communicator
  // between kernels, which a graph cannot replay.
  if (device_.is_cuda() && options_.cuda_graphs && comm_.world_size() == 1) {
    graph_step_ = std::make_unique<CudaGraphStep>(
        [this, &train](const torch::Tensor& index) { return forward_backward(train, index); }, device_,
        sampler.local_batch());
  }

  FitResult fit;
  stop_requested_ = false;
  global_step_ = 0;
  for (auto& c : callbacks_) c->on_train_begin(*this);
  for (epoch_ = 1; epoch_ <= options_.epochs; ++epoch_) {
    EpochResult result;
    result.epoch = epoch_;
    train_epoch(train, sampler, result);
    Stopwatch eval_watch;
    result.valid = evaluate(valid);
    result.eval_seconds = eval_watch.seconds();
    fit.train_seconds += result.train_seconds;
    fit.train_samples += result.samples;
    fit.comm_wait_seconds += result.comm_wait_seconds;
    fit.epochs.push_back(result);
    for (auto& c : callbacks_) c->on_epoch_end(*this, result);
    if (stop_requested_) break;
  }
  epoch_ = std::min(epoch_, options_.epochs);
  for (auto& c : callbacks_) c->on_train_end(*this);
  grad_sync_.reset();
  fit.cuda_graph = graph_step_ && graph_step_->captured();
  if (graph_step_) {
    // The gradients live in the graph's memory pool: drop them with the graph.
    optimizer_->zero_grad();
    graph_step_.reset();
  }
  return fit;
}

void Trainer::train_epoch(const data::RatingDataset& train, dist::DistributedSampler& sampler,
                          EpochResult& result) {
  model_->train();
  const int64_t local_batch = sampler.local_batch();
  auto indices = sampler.epoch_indices(epoch_).to(device_);
  // The loss is summed on the device and read once per epoch: no host synchronisation per step.
  auto loss_sum = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));

  synchronize_device();
  Stopwatch watch;
  double lr = 0;
  for (int64_t step = 0; step < steps_per_epoch_; ++step, ++global_step_) {
    comm_.set_progress(epoch_, step);
    const StepSettings settings = schedule_->at(global_step_);
    lr = settings.lr;
    const auto step_index = indices.narrow(0, step * local_batch, local_batch);
    torch::Tensor step_loss;
    if (graph_step_) {
      step_loss = graphed_forward_backward(train, step_index);
    } else {
      optimizer_->zero_grad();
      step_loss = forward_backward(train, step_index);
    }
    if (grad_sync_) result.comm_wait_seconds += grad_sync_->finish();
    optimizer_->step(settings.lr, settings.beta1);
    loss_sum.add_(step_loss);
    for (auto& c : callbacks_) c->on_step_end(*this, step, step_loss);
  }
  synchronize_device();
  result.train_seconds = watch.seconds();
  result.lr = lr;

  comm_.all_reduce_sum(loss_sum, "train loss");
  const double steps = double(steps_per_epoch_) * comm_.world_size();
  result.train_loss = loss_sum.item<double>() / steps;
  result.samples = steps_per_epoch_ * sampler.global_batch();
  result.samples_per_second = result.train_seconds > 0 ? result.samples / result.train_seconds : 0;
}

torch::Tensor Trainer::forward_backward(const data::RatingDataset& train, const torch::Tensor& step_index) {
  const int micro_batches = options_.accumulation_steps;
  const int64_t micro_batch = step_index.size(0) / micro_batches;
  const bool bf16 = precision_ == config::Precision::kBf16;
  torch::Tensor step_loss;
  for (int m = 0; m < micro_batches; ++m) {
    auto batch = train.gather(step_index.narrow(0, m * micro_batch, micro_batch));
    if (sync_buffers_) broadcast_buffers();
    if (grad_sync_) grad_sync_->begin_micro_batch(m == 0, m == micro_batches - 1);
    torch::Tensor prediction;
    {
      AutocastGuard autocast(bf16, device_.type());
      prediction = model_->forward(batch);
    }
    // Each micro-batch carries 1/k of the step's mean loss, so k of them add up to it.
    auto loss = torch::mse_loss(prediction.to(torch::kFloat32), batch.target);
    if (micro_batches > 1) loss = loss / micro_batches;
    loss.backward();
    step_loss = m == 0 ? loss.detach() : step_loss + loss.detach();
  }
  return step_loss;
}

torch::Tensor Trainer::graphed_forward_backward(const data::RatingDataset& train, const torch::Tensor& step_index) {
  if (graph_step_->captured()) return graph_step_->replay(step_index);
  // Before the capture the gradients are dropped, so that the captured backward writes fresh
  // ones into the graph's pool (instead of adding to tensors from outside it); afterwards
  // every replay overwrites those, and they are never dropped again.
  optimizer_->zero_grad();
  if (!graph_step_->warmed_up()) return graph_step_->warm_up(step_index);
  std::string why;
  if (graph_step_->capture(&why)) {
    log_rank0("training step captured as a CUDA graph");
    return graph_step_->replay(step_index);
  }
  log_warning("the training step could not be captured as a CUDA graph (" + why +
              "); training with eager kernel launches");
  graph_step_.reset();
  optimizer_->zero_grad();
  return forward_backward(train, step_index);
}

Metrics Trainer::evaluate(const data::RatingDataset& dataset) {
  torch::NoGradGuard no_grad;
  model_->eval();
  if (sync_buffers_) broadcast_buffers();
  const auto shard = dist::evaluation_shard(dataset.size(), comm_.rank(), comm_.world_size());
  auto sums = torch::zeros({3}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  const bool bf16 = precision_ == config::Precision::kBf16;
  for (int64_t begin = shard.begin; begin < shard.end; begin += options_.eval_batch_size) {
    const int64_t end = std::min<int64_t>(begin + options_.eval_batch_size, shard.end);
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
  }
  comm_.all_reduce_sum(sums, "metrics");
  auto host = sums.cpu();
  const double* s = host.data_ptr<double>();
  return Metrics::from(ErrorSums{s[0], s[1], s[2]});
}

}  // namespace mlrec::train
