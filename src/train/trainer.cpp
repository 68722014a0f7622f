#include "mlrec/train/trainer.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include "mlrec/common/error.h"
#include "mlrec/common/timer.h"
#include "mlrec/dist/sampler.h"

namespace mlrec::train {
namespace {

std::unique_ptr<Schedule> make_schedule(const config::Config::Train& o, int64_t total_steps) {
  if (o.schedule == "constant") return std::make_unique<ConstantSchedule>(o.lr, o.beta1);
  OneCycleOptions one_cycle;
  one_cycle.max_lr = o.lr;
  one_cycle.total_steps = total_steps;
  one_cycle.pct_start = o.pct_start;
  one_cycle.div_factor = o.div_factor;
  one_cycle.final_div_factor = o.final_div_factor;
  one_cycle.cycle_momentum = o.cycle_momentum;
  one_cycle.base_momentum = o.base_momentum;
  one_cycle.max_momentum = o.max_momentum;
  one_cycle.beta1 = o.beta1;
  return std::make_unique<OneCycleSchedule>(one_cycle);
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
                 dist::Communicator& comm, torch::Device device)
    : model_(std::move(model)), options_(options), comm_(comm), device_(device) {
  model_->to(device_);
}

void Trainer::synchronize_device() {
  if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
}

void Trainer::synchronize_gradients() {
  // World size 1 needs nothing. Several ranks average their gradients; this plain per-tensor
  // all-reduce is the correctness baseline that bucketed, overlapped reduction replaces.
  const int world = comm_.world_size();
  if (world == 1) return;
  for (auto& p : model_->parameters()) {
    if (!p.grad().defined()) continue;
    auto grad = p.mutable_grad();
    comm_.all_reduce_sum(grad);
    grad.div_(world);
  }
}

FitResult Trainer::fit(const data::RatingDataset& train, const data::RatingDataset& valid) {
  dist::DistributedSampler sampler(train.size(), options_.batch_size, comm_.rank(),
                                   comm_.world_size(), static_cast<uint64_t>(options_.seed),
                                   options_.max_steps_per_epoch);
  steps_per_epoch_ = sampler.steps_per_epoch();
  // As in the study, the schedule spans the maximum number of epochs: early stopping ends
  // training before the cycle completes.
  schedule_ = make_schedule(options_, int64_t(options_.epochs) * steps_per_epoch_);
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      model_->parameters(), torch::optim::AdamWOptions(options_.lr)
                                .betas({options_.beta1, options_.beta2})
                                .eps(options_.eps)
                                .weight_decay(options_.weight_decay));
  if (options_.precision == "tf32") {
    at::globalContext().setAllowTF32CuBLAS(true);
    at::globalContext().setAllowTF32CuDNN(true);
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
    fit.epochs.push_back(result);
    for (auto& c : callbacks_) c->on_epoch_end(*this, result);
    if (stop_requested_) break;
  }
  epoch_ = std::min(epoch_, options_.epochs);
  for (auto& c : callbacks_) c->on_train_end(*this);
  return fit;
}

void Trainer::train_epoch(const data::RatingDataset& train, dist::DistributedSampler& sampler,
                          EpochResult& result) {
  model_->train();
  const int64_t local_batch = sampler.local_batch();
  auto indices = sampler.epoch_indices(epoch_).to(device_);
  // The loss is summed on the device and read once per epoch: no host synchronisation per step.
  auto loss_sum = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  const bool bf16 = options_.precision == "bf16";

  synchronize_device();
  Stopwatch watch;
  double lr = 0;
  for (int64_t step = 0; step < steps_per_epoch_; ++step, ++global_step_) {
    const StepSettings settings = schedule_->at(global_step_);
    lr = settings.lr;
    for (auto& group : optimizer_->param_groups()) {
      auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
      o.lr(settings.lr);
      o.betas({settings.beta1, options_.beta2});
    }
    auto batch = train.gather(indices.narrow(0, step * local_batch, local_batch));
    torch::Tensor prediction;
    {
      AutocastGuard autocast(bf16, device_.type());
      prediction = model_->forward(batch);
    }
    auto loss = torch::mse_loss(prediction.to(torch::kFloat32), batch.target);
    optimizer_->zero_grad(/*set_to_none=*/true);
    loss.backward();
    synchronize_gradients();
    optimizer_->step();
    auto detached = loss.detach();
    loss_sum.add_(detached);
    for (auto& c : callbacks_) c->on_step_end(*this, step, detached);
  }
  synchronize_device();
  result.train_seconds = watch.seconds();
  result.lr = lr;

  comm_.all_reduce_sum(loss_sum);
  const double steps = double(steps_per_epoch_) * comm_.world_size();
  result.train_loss = loss_sum.item<double>() / steps;
  result.samples = steps_per_epoch_ * sampler.global_batch();
  result.samples_per_second = result.train_seconds > 0 ? result.samples / result.train_seconds : 0;
}

Metrics Trainer::evaluate(const data::RatingDataset& dataset) {
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto shard = dist::evaluation_shard(dataset.size(), comm_.rank(), comm_.world_size());
  auto sums = torch::zeros({3}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  const bool bf16 = options_.precision == "bf16";
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
  comm_.all_reduce_sum(sums);
  auto host = sums.cpu();
  const double* s = host.data_ptr<double>();
  return Metrics::from(ErrorSums{s[0], s[1], s[2]});
}

}  // namespace mlrec::train
