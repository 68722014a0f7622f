#include "mlrec/train/cuda_graph_step.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>

namespace mlrec::train {

struct CudaGraphStep::State {
  StepFunction step;
  c10::Device device;
  at::Tensor index;                 // the static input: the batch's sample indices
  c10::cuda::CUDAStream stream;     // warm-up and capture run here, never on the default stream
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  at::Tensor loss;                  // the captured step's output
  int warm_up_steps = 0;
};

namespace {

// Makes `waiter` wait for the work queued so far on `producer` (no host synchronisation).
void wait_for(const c10::cuda::CUDAStream& waiter, const c10::cuda::CUDAStream& producer) {
  at::cuda::CUDAEvent event;
  event.record(producer);
  event.block(waiter);
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

CudaGraphStep::CudaGraphStep(StepFunction step, c10::Device device, int64_t batch) {
  c10::cuda::CUDAGuard guard(device);
  state_ = std::unique_ptr<State>(new State{
      std::move(step), device, at::empty({batch}, at::TensorOptions().dtype(at::kLong).device(device)),
      c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index()), nullptr, at::Tensor(), 0});
}

CudaGraphStep::~CudaGraphStep() = default;

bool CudaGraphStep::captured() const { return state_->graph != nullptr; }

bool CudaGraphStep::warmed_up() const { return state_->warm_up_steps >= 3; }

at::Tensor CudaGraphStep::warm_up(const at::Tensor& index) {
  State& s = *state_;
  c10::cuda::CUDAGuard guard(s.device);
  const auto current = c10::cuda::getCurrentCUDAStream(s.device.index());
  // The side stream starts after everything queued before (the previous optimizer step) and the
  // caller's stream continues after the step, as torch.cuda.graph's documented warm-up does.
  wait_for(s.stream, current);
  at::Tensor loss;
  {
    c10::cuda::CUDAStreamGuard on_side(s.stream);
    s.index.copy_(index);
    loss = s.step(s.index);
  }
  wait_for(current, s.stream);
  ++s.warm_up_steps;
  return loss;
}

bool CudaGraphStep::capture(std::string* why) {
  State& s = *state_;
  c10::cuda::CUDAGuard guard(s.device);
  // Nothing of earlier steps may still run when the capture begins, as torch.cuda.graph does.
  c10::cuda::device_synchronize();
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  std::string failure;
  at::Tensor loss;
  {
    c10::cuda::CUDAStreamGuard on_side(s.stream);
    // bf16 autocast caches the casted weights; a cached cast made inside the capture would be
    // a graph-pool tensor read outside it, so the cache stays off (torch.cuda.graph's advice).
    const bool autocast_cache = at::autocast::is_autocast_cache_enabled();
    at::autocast::set_autocast_cache_enabled(false);
    try {
      graph->capture_begin();
      try {
        loss = s.step(s.index);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      // Always ended, also after a failure, so that the stream and the allocator leave capture mode.
      try {
        graph->capture_end();
      } catch (const std::exception& e) {
        if (failure.empty()) failure = e.what();
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
    at::autocast::set_autocast_cache_enabled(autocast_cache);
  }
  if (!failure.empty()) {
    graph.reset();
    (void)cudaGetLastError();  // a refused operation leaves a (non-sticky) error behind
    c10::cuda::device_synchronize();
    if (why) *why = first_line(failure);
    return false;
  }
  s.graph = std::move(graph);
  s.loss = loss;
  return true;
}

at::Tensor CudaGraphStep::replay(const at::Tensor& index) {
  State& s = *state_;
  c10::cuda::CUDAGuard guard(s.device);
  s.index.copy_(index);
  s.graph->replay();
  return s.loss;
}

}  // namespace mlrec::train
