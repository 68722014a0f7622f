#include "mlrec/train/step_graph.h"

namespace mlrec::train {

StepGraphChoice choose_step_graph(const StepGraphInputs& in) {
  StepGraphChoice choice;
  if (!in.on_gpu) return choice;
  if (!in.requested) {
    choice.why_off = "train.cuda_graphs is false";
    return choice;
  }
  if (in.sparse_tables) {
    // The number of rows a step's sparse table update touches changes from step to step.
    choice.why_off = "sparse embedding updates (train.embedding_optimizer) have no static shapes";
    return choice;
  }
  if (in.backend == "nccl") {
    // (also at one rank: the trainer then runs the data-parallel step, collectives included)
    choice.graph = StepGraph::kStepWithCollectives;
  } else if (in.world_size == 1) {
    choice.graph = StepGraph::kStep;
  } else if (in.synced_buffers && in.accumulation_steps > 1) {
    // Rank 0's buffers are broadcast before every micro-batch's forward; with host-staged
    // collectives that broadcast must stay outside the graph, so only one forward may follow it.
    choice.why_off = "the " + in.backend + " communicator cannot broadcast BatchNorm statistics between the " +
                     "micro-batches of a graph (train.accumulation_steps > 1)";
  } else {
    choice.graph = StepGraph::kStepThenCollectives;
  }
  return choice;
}

const char* step_graph_name(StepGraph graph) {
  switch (graph) {
    case StepGraph::kOff: return "off";
    case StepGraph::kStep: return "step";
    case StepGraph::kStepWithCollectives: return "step with collectives";
    case StepGraph::kStepThenCollectives: return "step, then collectives";
  }
  return "off";
}

}  // namespace mlrec::train
