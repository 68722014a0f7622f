// The CPU-only build (cmake/MlrecTorch.cmake, MLREC_CUDA=OFF) has no CUDA graphs: this replaces
// src/train/cuda_graph_step.cpp there. The trainer builds a CudaGraphStep only on a CUDA device,
// which this build never has; were it asked, it would capture nothing and run eagerly.
#include "mlrec/train/cuda_graph_step.h"

#include <ATen/core/Tensor.h>

namespace mlrec::train {

struct CudaGraphStep::State {
  StepFunction step;
};

CudaGraphStep::CudaGraphStep(StepFunction step, c10::Device, int64_t) : state_(new State{std::move(step)}) {}
CudaGraphStep::~CudaGraphStep() = default;
at::Tensor CudaGraphStep::warm_up(const at::Tensor& index) { return state_->step(index); }
bool CudaGraphStep::warmed_up() const { return true; }
bool CudaGraphStep::capture(std::string* why) {
  if (why) *why = "this mlrec was built without CUDA";
  return false;
}
bool CudaGraphStep::captured() const { return false; }
at::Tensor CudaGraphStep::replay(const at::Tensor& index) { return state_->step(index); }

}  // namespace mlrec::train
