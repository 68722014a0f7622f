// When a training step is replayed as a CUDA graph, and where its collectives go.
#include "mlrec/train/step_graph.h"

#include <gtest/gtest.h>

namespace mlrec::train {
namespace {

StepGraphInputs gpu_ranks(int world_size, const std::string& backend) {
  StepGraphInputs in;
  in.on_gpu = true;
  in.world_size = world_size;
  in.backend = backend;
  return in;
}

TEST(StepGraph, OneGpuRankGraphsTheStepAndTheCpuNever) {
  EXPECT_EQ(choose_step_graph(gpu_ranks(1, "local")).graph, StepGraph::kStep);
  EXPECT_EQ(choose_step_graph(gpu_ranks(1, "mpi")).graph, StepGraph::kStep);  // under mpirun -np 1
  // dist.backend=nccl at one rank runs the data-parallel step, collectives in the graph.
  EXPECT_EQ(choose_step_graph(gpu_ranks(1, "nccl")).graph, StepGraph::kStepWithCollectives);
  StepGraphInputs cpu = gpu_ranks(1, "local");
  cpu.on_gpu = false;
  const auto off = choose_step_graph(cpu);
  EXPECT_EQ(off.graph, StepGraph::kOff);
  EXPECT_TRUE(off.why_off.empty());  // nothing to report: graphs are a GPU matter
}

TEST(StepGraph, NcclRanksCaptureTheirCollectivesAndHostStagedRanksReduceAfterTheReplay) {
  EXPECT_EQ(choose_step_graph(gpu_ranks(4, "nccl")).graph, StepGraph::kStepWithCollectives);
  EXPECT_EQ(choose_step_graph(gpu_ranks(2, "mpi")).graph, StepGraph::kStepThenCollectives);
  // BatchNorm statistics: NCCL broadcasts them inside the graph, before every micro-batch.
  StepGraphInputs nccl = gpu_ranks(2, "nccl");
  nccl.synced_buffers = true;
  nccl.accumulation_steps = 4;
  EXPECT_EQ(choose_step_graph(nccl).graph, StepGraph::kStepWithCollectives);
  // MPI broadcasts them before the replay: one micro-batch, or no graph.
  StepGraphInputs mpi = gpu_ranks(2, "mpi");
  mpi.synced_buffers = true;
  EXPECT_EQ(choose_step_graph(mpi).graph, StepGraph::kStepThenCollectives);
  mpi.accumulation_steps = 2;
  const auto off = choose_step_graph(mpi);
  EXPECT_EQ(off.graph, StepGraph::kOff);
  EXPECT_NE(off.why_off.find("accumulation_steps"), std::string::npos) << off.why_off;
}

TEST(StepGraph, SparseTableUpdatesAndTheSettingTurnGraphsOffWithAReason) {
  for (int ranks : {1, 2}) {
    StepGraphInputs sparse = gpu_ranks(ranks, ranks == 1 ? "local" : "nccl");
    sparse.sparse_tables = true;
    const auto off = choose_step_graph(sparse);
    EXPECT_EQ(off.graph, StepGraph::kOff);
    EXPECT_NE(off.why_off.find("embedding_optimizer"), std::string::npos) << off.why_off;
  }
  StepGraphInputs unwanted = gpu_ranks(2, "nccl");
  unwanted.requested = false;
  EXPECT_EQ(choose_step_graph(unwanted).graph, StepGraph::kOff);
  EXPECT_NE(choose_step_graph(unwanted).why_off.find("cuda_graphs"), std::string::npos);
}

TEST(StepGraph, EveryChoiceHasItsOwnName) {
  EXPECT_STREQ(step_graph_name(StepGraph::kOff), "off");
  EXPECT_STREQ(step_graph_name(StepGraph::kStepWithCollectives), "step with collectives");
  EXPECT_STRNE(step_graph_name(StepGraph::kStep), step_graph_name(StepGraph::kStepThenCollectives));
}

}  // namespace
}  // namespace mlrec::train
