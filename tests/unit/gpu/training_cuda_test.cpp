// CUDA and NCCL on one GPU: the whole training loop on the device, the captured step against
// eager steps, the embeddings' scatter-add backward, the padded MLP input against the CPU model,
// and a size-1 NCCL communicator, also inside a captured graph (NCCL refuses two ranks on one
// GPU, so that is all one GPU can test of NCCL; tests/distributed runs ranks sharing the GPU over
// MPI). Every test skips where no GPU is visible, as in CI.
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <yaml-cpp/yaml.h>

#include "mlrec/config/config.h"
#include "mlrec/distributed/grad_sync.h"
#include "mlrec/distributed/process_group.h"
#include "mlrec/models/registry.h"
#include "mlrec/ops/cuda_kernels.h"
#include "mlrec/ops/embedding.h"
#include "mlrec/train/adamw.h"
#include "mlrec/train/run.h"
#include "mlrec/train/schedule.h"
#include "support/synthetic_fixture.h"
#include "support/temp_dir.h"
#include "support/cuda_fixture.h"

namespace mlrec {
namespace {

using namespace test_support;  // the CUDA fixtures and helpers (support/cuda_fixture.h)

TEST_F(Cuda, SizeOneNcclCommunicatorReducesAndBroadcastsOnTheDevice) {
  dist::ProcessGroup group;
  group.comm = dist::make_local_communicator();
  dist::use_nccl(group, 0, 60);
  ASSERT_EQ(group.comm->backend(), "nccl");
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kBFloat16, torch::kInt64}) {
    auto t = torch::arange(1001, options.dtype(torch::kFloat64)).to(dtype);
    auto expected = t.clone();
    group.comm->all_reduce_sum(t, "test");
    EXPECT_TRUE(torch::equal(t.cpu(), expected.cpu())) << dtype;  // a sum over one rank
  }
  auto b = torch::full({7}, 3.0, options);
  group.comm->broadcast(b, 0, "test");
  EXPECT_TRUE(torch::equal(b.cpu(), torch::full({7}, 3.0)));
  auto a = torch::ones({5}, options);
  group.comm->all_reduce_sum_async(a, "async")->wait();
  EXPECT_EQ(a.sum().item<float>(), 5.f);
  group.comm->barrier("test");
}

// NCCL inside a captured graph, at size 1 (all one GPU allows): the synchroniser's hooks launch
// the buckets' all-reduces on the NCCL stream during the captured backward and finish() joins
// them back, as a multi-rank graphed step does; every replay must then give the gradients an
// eager step gives for its input, and the communicator must stay usable.
TEST_F(Cuda, NcclAllReducesCapturedWithTheBackwardReplayAsEagerSteps) {
  dist::ProcessGroup group;
  group.comm = dist::make_local_communicator();
  dist::use_nccl(group, 0, 60);
  const auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  auto make_net = [] {
    torch::manual_seed(0);
    torch::nn::Sequential net(torch::nn::Linear(16, 32), torch::nn::ReLU(), torch::nn::Linear(32, 1));
    net->to(torch::kCUDA);
    return net;
  };
  auto graphed_net = make_net(), eager_net = make_net();
  auto params = graphed_net->parameters();
  dist::GradientSynchronizer sync(params, *group.comm, /*bucket_bytes=*/512);
  ASSERT_GT(sync.bucket_count(), 1u);  // several all-reduces in flight during backward
  auto input = torch::randn({64, 16}, options);  // the graph's static input
  auto step = [&] {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    sync.begin_micro_batch(true, true);
    graphed_net->forward(input).square().mean().backward();
    sync.finish();
  };
  at::cuda::CUDAGraph graph;
  torch::cuda::synchronize();
  {
    c10::cuda::CUDAStreamGuard side(c10::cuda::getStreamFromPool(false, 0));
    for (int warm_up = 0; warm_up < 3; ++warm_up) step();
    graph.capture_begin();
    step();
    graph.capture_end();
  }
  torch::cuda::synchronize();
  for (int replay = 0; replay < 3; ++replay) {
    input.copy_(torch::randn({64, 16}, options));
    graph.replay();
    group.comm->watch_current_stream("test: replay");
    eager_net->zero_grad();
    eager_net->forward(input).square().mean().backward();
    const auto eager_params = eager_net->parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(torch::allclose(params[i].grad(), eager_params[i].grad(), 1e-5, 1e-6))
          << "replay " << replay << ", parameter " << i;
    }
  }
  auto after = torch::ones({3}, options);
  group.comm->all_reduce_sum(after, "test: after the graph");
  group.comm->barrier("test");
  EXPECT_EQ(after.sum().item<float>(), 3.f);
}

// mlrec's kernels are built for MLREC_CUDA_ARCHITECTURES (90 by default: code for compute
// capability 9.0, which every 9.x GPU runs). On such a GPU they must be found to run: a wrong
// answer would skip their tests and quietly put torch's ops in their place.
TEST_F(Cuda, MlrecKernelsRunOnTheGpusTheyAreBuiltFor) {
  if (!ops::cuda_kernels_built()) GTEST_SKIP() << "built without CUDA kernels";
  const auto* gpu = at::cuda::getDeviceProperties(0);
  if (gpu->major != 9) {
    GTEST_SKIP() << "compute capability " << gpu->major << "." << gpu->minor
                 << ": whether the kernels run here depends on MLREC_CUDA_ARCHITECTURES";
  }
  EXPECT_TRUE(ops::cuda_kernels_run_on(0));
  EXPECT_TRUE(ops::cuda_kernels_run_on(0));  // (the cached answer)
  EXPECT_FALSE(ops::cuda_kernels_run_on(torch::cuda::device_count()));  // no such device
}

// The optimizer's update inside a graph: mlrec's kernel reads lr and beta1 from the schedule in
// device memory at the count of steps taken. Run eagerly once (as in the warm-up), then captured
// and replayed, it must update as ATen's fused AdamW does with host numbers, step for step over a
// OneCycle schedule whose beta1 changes every step. The sizes cover one and several 65,536-element
// chunks and lengths that are not a multiple of 4 (the kernel's unvectorised path); a parameter
// without gradient is left alone.
TEST_F(Cuda, ScheduledAdamWInsideAGraphMatchesAtensFusedAdamW) {
  torch::manual_seed(11);
  const auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  std::vector<torch::Tensor> mine, theirs;
  for (int64_t n : {1, 7, 1024, 65536 + 3, 3 * 65536}) {
    auto p = torch::randn({n}, options);
    mine.push_back(p.clone().requires_grad_(true));
    theirs.push_back(p.clone().requires_grad_(true));
  }
  auto idle = torch::randn({5}, options).requires_grad_(true);
  const auto idle_before = idle.detach().clone();
  auto with_idle = mine;
  with_idle.push_back(idle);
  train::FusedAdamW scheduled(with_idle, 0.999, 1e-8, 0.01);
  train::FusedAdamW host(theirs, 0.999, 1e-8, 0.01);
  ASSERT_TRUE(scheduled.steps_on_device());
  const train::OneCycleSchedule schedule(train::OneCycleOptions{0.01, 20, 0.3, 25, 1e4, true, 0.85, 0.95, 0.9});
  train::DeviceSchedule on_device(schedule, 20, options.device());
  on_device.seek(2);
  // Gradients at fixed addresses, as a captured backward leaves them; rewritten before each step.
  for (auto& p : mine) p.mutable_grad() = torch::zeros_like(p);
  auto draw_gradients = [&] {
    for (size_t i = 0; i < mine.size(); ++i) {
      auto g = torch::randn_like(mine[i]);
      mine[i].mutable_grad().copy_(g);
      theirs[i].mutable_grad() = g;
    }
  };
  auto host_step = [&](int64_t s) {
    host.step(static_cast<float>(schedule.at(s).lr), static_cast<float>(schedule.at(s).beta1));
  };
  auto expect_same = [&](int64_t s) {
    torch::cuda::synchronize();
    for (size_t i = 0; i < mine.size(); ++i) {
      ASSERT_TRUE(torch::allclose(mine[i], theirs[i], 1e-6, 1e-7))
          << "step " << s << ", tensor " << i << ": " << (mine[i] - theirs[i]).abs().max().item<double>();
    }
  };
  int64_t s = 2;
  draw_gradients();
  scheduled.step(on_device);
  host_step(s);
  expect_same(s);

  at::cuda::CUDAGraph graph;
  torch::cuda::synchronize();
  {
    const auto side = c10::cuda::getStreamFromPool(false, 0);
    c10::cuda::CUDAStreamGuard on_side(side);
    graph.capture_begin();
    scheduled.step(on_device);
    graph.capture_end();
  }
  torch::cuda::synchronize();
  for (++s; s < 9; ++s) {
    draw_gradients();
    graph.replay();
    host_step(s);
    expect_same(s);
  }
  EXPECT_EQ(on_device.steps_taken(), 9);
  EXPECT_TRUE(torch::equal(idle.cpu(), idle_before.cpu()));
  const auto mine_state = scheduled.state(), their_state = host.state();
  for (size_t i = 0; i < their_state.size(); ++i) {
    EXPECT_TRUE(torch::allclose(mine_state[i].second, their_state[i].second, 1e-6, 1e-9)) << their_state[i].first;
  }
}

TEST_F(Cuda, WholeTrainingLoopRunsOnTheDeviceWithNccl) {
  test_support::TempDir dir;
  write_small_dataset(dir);
  for (const std::string model : {"mf", "seq_features"}) {
    for (const std::string precision : {"fp32", "bf16"}) {
      dist::ProcessGroup group;
      group.comm = dist::make_local_communicator();
      const auto result = train_small_on_cuda(
          dir, model, {"dist.backend=nccl", "train.precision=" + precision, "train.epochs=2", "train.batch_size=256"},
          group);
      EXPECT_EQ(group.comm->backend(), "nccl");
      // The data-parallel step, its all-reduces captured with it (as at N ranks).
      EXPECT_TRUE(result.fit.cuda_graph) << model << " " << precision;
      EXPECT_TRUE(result.fit.optimizer_in_graph) << model << " " << precision;
      EXPECT_EQ(result.best.count, 300) << model << " " << precision;
      EXPECT_TRUE(std::isfinite(result.best.mae)) << model << " " << precision;
      EXPECT_NE(result.device.find("cuda"), std::string::npos);
      const YAML::Node summary = YAML::LoadFile(dir.file("run/summary.json"));
      EXPECT_EQ(summary["backend"].as<std::string>(), "nccl");
    }
  }
}

// The models fitted on the CPU keep their tables in host memory on a GPU run: under NCCL their
// buffers' broadcasts go over the host communicator (NCCL refused them: 'the NCCL communicator
// works on tensors of cuda:0', and the run ended before fitting).
TEST_F(Cuda, ModelsFittedOnTheCpuRunUnderNccl) {
  for (const std::string model : {"item_knn", "bayes_svdpp", "baseline"}) {
    test_support::TempDir plain_dir, nccl_dir;
    write_small_dataset(plain_dir);
    write_small_dataset(nccl_dir);
    const auto plain = train_small_on_cuda(plain_dir, model, {});
    dist::ProcessGroup group;
    group.comm = dist::make_local_communicator();
    const auto nccl = train_small_on_cuda(nccl_dir, model, {"dist.backend=nccl"}, group);
    EXPECT_EQ(group.comm->backend(), "nccl");
    EXPECT_EQ(nccl.best.count, 300) << model;
    EXPECT_NEAR(nccl.best.mae, plain.best.mae, 1e-6) << model;
  }
}

// dist.backend=nccl at one rank runs the data-parallel step: gradient hooks, buckets, their
// all-reduces captured into the step's graph on NCCL's stream. It must train as the plain
// one-rank step does (MF: no dropout, so to float tolerance), graphed or eager.
TEST_F(Cuda, DataParallelStepWithCapturedCollectivesTrainsAsThePlainStep) {
  test_support::TempDir dir;
  write_small_dataset(dir);
  auto train = [&](bool nccl, bool graphs) {
    dist::ProcessGroup group;
    group.comm = dist::make_local_communicator();
    return train_small_on_cuda(dir, "mf",
                               {"train.patience=0", std::string("dist.backend=") + (nccl ? "nccl" : "auto"),
                                std::string("train.cuda_graphs=") + (graphs ? "true" : "false")},
                               group);
  };
  const auto plain = train(false, false);
  for (bool graphs : {false, true}) {
    const auto parallel = train(true, graphs);
    EXPECT_EQ(parallel.fit.cuda_graph, graphs);
    EXPECT_EQ(parallel.fit.optimizer_in_graph, graphs);
    EXPECT_GT(parallel.fit.grad_bytes, 0);  // the all-reduces ran
    ASSERT_EQ(parallel.fit.epochs.size(), plain.fit.epochs.size());
    for (size_t e = 0; e < plain.fit.epochs.size(); ++e) {
      EXPECT_NEAR(parallel.fit.epochs[e].train_loss, plain.fit.epochs[e].train_loss, 1e-4) << "epoch " << e + 1;
      EXPECT_NEAR(parallel.fit.epochs[e].valid.mae, plain.fit.epochs[e].valid.mae, 1e-4) << "epoch " << e + 1;
    }
  }
}

// Gathered windows on the device (tensor ops, data.windows=gathered) hold the same samples as
// the CPU's, and a whole run with them (CUDA graphs on for MF) trains to the materialized run's
// result: the gather is captured with the step.
TEST_F(Cuda, GatheredWindowsOnTheDeviceMatchTheCpuAndTrainAlike) {
  test_support::SyntheticData d(50, 40, 3, 10);
  auto columns = std::make_shared<const data::RatingColumns>(data::rating_columns(d.prepared));
  const auto rows = torch::tensor(d.prepared.train_rows, torch::kInt64).to(torch::kInt32);
  const data::RatingDataset cpu(columns, rows, 10, data::WindowStorage::kGathered);
  const auto device = cpu.to(torch::Device(torch::kCUDA, 0));
  EXPECT_EQ(device.storage(), data::WindowStorage::kGathered);
  const auto index = torch::randperm(cpu.size(), torch::kInt64);
  const auto a = cpu.gather(index), b = device.gather(index.cuda());
  EXPECT_TRUE(torch::equal(a.movies, b.movies.cpu()));
  EXPECT_TRUE(torch::equal(a.levels, b.levels.cpu()));
  EXPECT_TRUE(torch::equal(a.pad_mask, b.pad_mask.cpu()));
  EXPECT_TRUE(torch::equal(a.target, b.target.cpu()));
  EXPECT_EQ(cpu.checksum(), device.checksum());

  test_support::TempDir dir;
  write_small_dataset(dir);
  std::vector<double> mae;
  for (const std::string windows : {"materialized", "gathered"}) {
    dist::ProcessGroup group;
    group.comm = dist::make_local_communicator();
    const std::vector<std::string> settings{"data.windows=" + windows, "train.epochs=2",
                                            "output.dir=" + dir.file("run-" + windows)};  // two runs
    mae.push_back(train_small_on_cuda(dir, "mf", settings, group).best.mae);
  }
  EXPECT_NEAR(mae[0], mae[1], 1e-4);
}

// The captured step is the eager step replayed: without dropout (MF) both train the same model
// up to the order of atomic additions in the embeddings' backward.
TEST_F(Cuda, ScatterAddEmbeddingGradientsMatchTorchsEmbedding) {
  torch::manual_seed(6);
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  auto indices = torch::randint(0, 7, {1024, 10}, options.dtype(torch::kLong));  // many repeats
  auto upstream = torch::randn({1024, 10, 16}, options);
  auto ours = torch::randn({7, 16}, options).requires_grad_(true);
  auto theirs = ours.detach().clone().requires_grad_(true);
  (ops::scatter_add_embedding(ours, indices, 0) * upstream).sum().backward();
  (torch::embedding(theirs, indices, 0) * upstream).sum().backward();
  EXPECT_TRUE(torch::allclose(ours.grad(), theirs.grad(), 1e-4, 1e-3));
  EXPECT_EQ(ours.grad()[0].abs().sum().item<float>(), 0.f);
}

// On CUDA the MLP's input is padded with zero features to a multiple of 8 (models/bst.cpp; here
// 10 x 16 + 16 + 17 = 193 -> 200): the device model must compute what the CPU model computes,
// outputs and the gradients of every parameter, the first MLP layer's included.
TEST_F(Cuda, SequenceModelWithItsPaddedMlpInputMatchesTheCpuModel) {
  at::globalContext().setAllowTF32CuBLAS(false);  // strict fp32 GEMMs on both sides
  test_support::SyntheticData d(40, 30);
  torch::manual_seed(13);
  auto cpu = models::make_model(test_support::small_model("seq_features"), d.info);
  auto cuda = models::make_model(test_support::small_model("seq_features"), d.info);
  {
    torch::NoGradGuard no_grad;
    auto source = cpu->named_parameters();
    for (auto& p : cuda->named_parameters()) p.value().copy_(source[p.key()]);
  }
  cuda->to(torch::kCUDA);
  cpu->eval();  // no dropout, BatchNorm's running statistics: the same function on both devices
  cuda->eval();
  auto on_cpu = cpu->forward(d.train.slice(0, 64));
  auto on_cuda = cuda->forward(d.train.to(torch::kCUDA).slice(0, 64));
  EXPECT_LT((on_cpu - on_cuda.cpu()).abs().max().item<double>(), 1e-4);
  (on_cpu * on_cpu).sum().backward();
  (on_cuda * on_cuda).sum().backward();
  auto cpu_parameters = cpu->named_parameters();
  for (const auto& p : cuda->named_parameters()) {
    const auto& expected = cpu_parameters[p.key()].grad();
    ASSERT_EQ(p.value().grad().defined(), expected.defined()) << p.key();
    if (!expected.defined()) continue;
    ASSERT_EQ(p.value().grad().sizes(), expected.sizes()) << p.key();
    const double scale = expected.abs().max().item<double>();
    EXPECT_LT((p.value().grad().cpu() - expected).abs().max().item<double>(), 1e-4 * scale + 1e-6) << p.key();
  }
}


// Sparse embedding updates on the device (the tensor-op path of ops/sparse_optimizer.h, sparse
// gradients from the module's own lookup, CUDA graphs off) train MF as on the CPU (the one-pass
// loop), up to the order of the additions; the size-1 NCCL communicator's all-gather places
// the tensor as the CPU's does.
TEST_F(Cuda, SparseEmbeddingUpdatesTrainAsOnTheCpu) {
  test_support::TempDir dir;
  write_small_dataset(dir);
  for (const std::string optimizer : {"lazy_adam", "rowwise_adagrad"}) {
    const std::vector<std::string> settings = {"train.patience=0", "train.embedding_optimizer=" + optimizer};
    const auto on_cuda = train_small_on_cuda(dir, "mf", settings);
    auto on_cpu_settings = settings;
    on_cpu_settings.push_back("train.device=cpu");
    const auto on_cpu = train_small_on_cuda(dir, "mf", on_cpu_settings);
    EXPECT_FALSE(on_cuda.fit.cuda_graph) << optimizer;
    ASSERT_EQ(on_cuda.fit.epochs.size(), on_cpu.fit.epochs.size());
    EXPECT_NEAR(on_cuda.best.mae, on_cpu.best.mae, 1e-3) << optimizer;
  }
  dist::ProcessGroup group;
  group.comm = dist::make_local_communicator();
  dist::use_nccl(group, 0, 60);
  auto options = torch::TensorOptions().device(torch::kCUDA, 0);
  auto mine = torch::arange(17, options.dtype(torch::kInt64));
  auto gathered = torch::empty({1, 17}, options.dtype(torch::kInt64));
  group.comm->all_gather(mine, gathered, "test");
  EXPECT_TRUE(torch::equal(gathered[0].cpu(), mine.cpu()));
}

TEST_F(Cuda, GraphReplayedStepsTrainAsEagerSteps) {
  test_support::TempDir dir;
  write_small_dataset(dir);
  auto train = [&](const std::string& model, bool graphs, const std::string& precision) {
    return train_small_on_cuda(dir, model,
                               {"train.precision=" + precision, "train.patience=0",
                                std::string("train.cuda_graphs=") + (graphs ? "true" : "false")});
  };
  const auto eager = train("mf", false, "fp32");
  const auto graphed = train("mf", true, "fp32");
  const auto update_outside = train_small_on_cuda(
      dir, "mf", {"train.precision=fp32", "train.patience=0", "train.graph_optimizer=false"});
  EXPECT_FALSE(eager.fit.cuda_graph);
  ASSERT_TRUE(graphed.fit.cuda_graph);
  EXPECT_TRUE(graphed.fit.optimizer_in_graph);  // lr and beta1 from the device schedule
  ASSERT_TRUE(update_outside.fit.cuda_graph);
  EXPECT_FALSE(update_outside.fit.optimizer_in_graph);  // host numbers after each replay
  for (const auto* run : {&graphed, &update_outside}) {
    ASSERT_EQ(run->fit.epochs.size(), eager.fit.epochs.size());
    for (size_t e = 0; e < eager.fit.epochs.size(); ++e) {
      EXPECT_NEAR(run->fit.epochs[e].train_loss, eager.fit.epochs[e].train_loss, 1e-4) << "epoch " << e + 1;
      EXPECT_NEAR(run->fit.epochs[e].valid.mae, eager.fit.epochs[e].valid.mae, 1e-4) << "epoch " << e + 1;
    }
  }
  // Dropout draws differ between the two, so the sequence model is held to learning alike.
  for (const std::string precision : {"fp32", "bf16"}) {
    const auto seq_eager = train("seq_features", false, precision);
    const auto seq_graphed = train("seq_features", true, precision);
    ASSERT_TRUE(seq_graphed.fit.cuda_graph) << precision;
    EXPECT_TRUE(seq_graphed.fit.optimizer_in_graph) << precision;
    EXPECT_LT(seq_graphed.fit.epochs.back().train_loss, seq_graphed.fit.epochs.front().train_loss) << precision;
    EXPECT_NEAR(seq_graphed.best.mae, seq_eager.best.mae, 0.05) << precision;
  }
}

}  // namespace
}  // namespace mlrec
