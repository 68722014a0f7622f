// Whether, and how, a training step is replayed as one CUDA graph: decided from the device, the
// ranks and their communicator before training starts (torch-free, so that the rules are tested
// on any machine; train/cuda_graph_step.h does the capturing).
#pragma once

#include <string>

namespace mlrec::train {

enum class StepGraph {
  kOff,                  // eager launches
  kStep,                 // one rank: gather, forward and backward in the graph
  kStepWithCollectives,  // NCCL (at any number of ranks): the gradient all-reduces and buffer
                         // broadcasts are captured too, on their own stream, overlapping
                         // backward in every replay
  kStepThenCollectives,  // a communicator that cannot be captured (MPI staging GPU tensors
                         // through host memory): the graph computes the gradients, their
                         // all-reduces follow each replay
};

struct StepGraphInputs {
  bool on_gpu = false;
  bool requested = true;           // train.cuda_graphs
  int world_size = 1;
  std::string backend = "local";   // the communicator's: local, mpi or nccl
  bool sparse_tables = false;      // train.embedding_optimizer other than dense
  bool synced_buffers = false;     // buffers (BatchNorm statistics) broadcast before each forward
  int accumulation_steps = 1;
};

struct StepGraphChoice {
  StepGraph graph = StepGraph::kOff;
  std::string why_off;  // for kOff on a GPU: the reason, for the log
};

StepGraphChoice choose_step_graph(const StepGraphInputs& inputs);

/// "off", "step", "step with collectives", "step, then collectives" (logs, summary.json).
const char* step_graph_name(StepGraph graph);

}  // namespace mlrec::train
