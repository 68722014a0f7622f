#include "mlrec/distributed/grad_sync.h"

#include "mlrec/common/timer.h"

namespace mlrec::dist {

GradientSynchronizer::GradientSynchronizer(const std::vector<torch::Tensor>& parameters,
                                           Communicator& comm, int64_t bucket_bytes, SyncPoint sync_point)
    : comm_(comm), sync_point_(sync_point) {
  for (const auto& p : parameters) {
    if (p.requires_grad()) parameters_.push_back(p);
  }
  slots_.resize(parameters_.size());
  // Reverse registration order approximates the order in which gradients become ready. A
  // bucket closes when the next parameter would overflow it (a parameter larger than the
  // bucket size gets one of its own) or has another dtype or device.
  int64_t bucket_size = 0, bucket_numel = 0;
  for (size_t k = parameters_.size(); k-- > 0;) {
    const auto& p = parameters_[k];
    const int64_t bytes = p.numel() * p.element_size();
    bool start_new = buckets_.empty() || (bucket_size > 0 && bucket_size + bytes > bucket_bytes);
    if (!start_new) {
      const auto& head = parameters_[buckets_.back().parameters.front()];
      start_new = head.scalar_type() != p.scalar_type() || head.device() != p.device();
    }
    if (start_new) {
      buckets_.emplace_back();
      bucket_size = bucket_numel = 0;
    }
    slots_[k].bucket = buckets_.size() - 1;
    slots_[k].offset = bucket_numel;
    slots_[k].numel = p.numel();
    buckets_.back().parameters.push_back(k);
    bucket_size += bytes;
    bucket_numel += p.numel();
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    auto& bucket = buckets_[b];
    int64_t numel = 0;
    for (size_t q : bucket.parameters) numel += parameters_[q].numel();
    const auto& first = parameters_[bucket.parameters.front()];
    bucket.buffer = torch::zeros({numel}, first.options());
    bucket.label = "grad bucket " + std::to_string(b + 1) + "/" + std::to_string(buckets_.size());
  }
  if (sync_point_ == SyncPoint::kAfterBackward) return;
  for (size_t k = 0; k < parameters_.size(); ++k) {
    hooks_.push_back(parameters_[k].register_hook([this, k](const torch::Tensor& grad) { on_gradient(k, grad); }));
  }
}

GradientSynchronizer::~GradientSynchronizer() {
  for (size_t k = 0; k < hooks_.size(); ++k) parameters_[k].remove_hook(hooks_[k]);
}

int64_t GradientSynchronizer::bytes_per_step() const {
  int64_t bytes = 0;
  for (const auto& b : buckets_) bytes += b.buffer.numel() * b.buffer.element_size();
  return bytes;
}

std::vector<std::vector<size_t>> GradientSynchronizer::bucket_layout() const {
  std::vector<std::vector<size_t>> layout;
  for (const auto& b : buckets_) layout.push_back(b.parameters);
  return layout;
}

void GradientSynchronizer::begin_micro_batch(bool first, bool last) {
  if (sync_point_ == SyncPoint::kAfterBackward) return;
  std::lock_guard<std::mutex> lock(mutex_);
  accumulate_ = !first;
  sync_now_ = last;
  if (first) {
    for (auto& slot : slots_) slot.received = false;
    for (auto& bucket : buckets_) {
      bucket.pending = bucket.parameters.size();
      bucket.work.reset();
    }
    next_to_launch_ = 0;
  } else {
    // Later micro-batches deliver every gradient again.
    for (auto& bucket : buckets_) bucket.pending = bucket.parameters.size();
  }
}

void GradientSynchronizer::on_gradient(size_t index, const torch::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mutex_);
  Slot& slot = slots_[index];
  Bucket& bucket = buckets_[slot.bucket];
  auto view = bucket.buffer.narrow(0, slot.offset, slot.numel);
  torch::NoGradGuard no_grad;
  // Parameters that share a bucket with a previous micro-batch's gradient accumulate into it.
  if (accumulate_ && slot.received) {
    view.add_(grad.reshape({-1}));
  } else {
    view.copy_(grad.reshape({-1}));
  }
  slot.received = true;
  if (bucket.pending > 0) --bucket.pending;
  if (sync_now_) launch_ready_buckets();
}

void GradientSynchronizer::launch_ready_buckets() {
  while (next_to_launch_ < buckets_.size() && buckets_[next_to_launch_].pending == 0) {
    launch(next_to_launch_++);
  }
}

void GradientSynchronizer::launch(size_t b) {
  auto& bucket = buckets_[b];
  // A parameter that got no gradient this step (unused by the forward) counts as zero.
  for (size_t q : bucket.parameters) {
    if (!slots_[q].received) bucket.buffer.narrow(0, slots_[q].offset, slots_[q].numel).zero_();
  }
  bucket.work = comm_.all_reduce_sum_async(bucket.buffer, bucket.label.c_str());
}

void GradientSynchronizer::pack_gradients() {
  torch::NoGradGuard no_grad;
  for (size_t q = 0; q < parameters_.size(); ++q) {
    const auto& grad = parameters_[q].grad();
    // (one without a gradient is zeroed by launch(), as with the hooks)
    slots_[q].received = grad.defined();
    if (grad.defined()) {
      buckets_[slots_[q].bucket].buffer.narrow(0, slots_[q].offset, slots_[q].numel).copy_(grad.reshape({-1}));
    }
  }
}

double GradientSynchronizer::finish() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (sync_point_ == SyncPoint::kAfterBackward) {
      pack_gradients();
      next_to_launch_ = 0;
    }
    while (next_to_launch_ < buckets_.size()) launch(next_to_launch_++);
  }
  Stopwatch wait_watch;
  for (auto& bucket : buckets_) bucket.work->wait();
  const double waited = wait_watch.seconds();
  torch::NoGradGuard no_grad;
  const double scale = 1.0 / comm_.world_size();
  for (auto& bucket : buckets_) {
    bucket.buffer.mul_(scale);
    for (size_t q : bucket.parameters) {
      auto& p = parameters_[q];
      auto average = bucket.buffer.narrow(0, slots_[q].offset, slots_[q].numel).view_as(p);
      if (p.grad().defined()) {
        p.mutable_grad().copy_(average);
      } else {
        p.mutable_grad() = average.clone();
      }
    }
  }
  return waited;
}

}  // namespace mlrec::dist
