// What the CUDA tests share: generated data, the "trains as torch's ops do" run, the check that
// an output came from mlrec's kernel, bf16 autocast, and the fixtures that skip where no GPU is
// visible (as in CI) or the build has no CUDA kernels of its own.
#pragma once

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "mlrec/config/config.h"
#include "mlrec/data/synthetic.h"
#include "mlrec/distributed/process_group.h"
#include "mlrec/ops/cuda_kernels.h"
#include "mlrec/train/run.h"
#include "support/temp_dir.h"

namespace mlrec::test_support {

// Generated ML-1M-format ratings of 300 users on 100 movies, in dir/data.
inline void write_small_dataset(const TempDir& dir) {
  data::SyntheticOptions synthetic;
  synthetic.users = 300;
  synthetic.movies = 100;
  data::write_synthetic_movielens(dir.file("data"), data::Release::kMovieLens1M, synthetic);
}

// A small run on the GPU over the data write_small_dataset made in dir/data: `model` for 3
// epochs of batches of 128, then `settings` (later ones win), in `group` (by default a
// one-rank group of its own).
inline train::RunResult train_small_on_cuda(const TempDir& dir, const std::string& model,
                                            const std::vector<std::string>& settings, dist::ProcessGroup& group) {
  std::vector<std::string> all = {"model.name=" + model,  "data.dir=" + dir.file("data"),
                                  "output.dir=" + dir.file("run"), "train.device=cuda",
                                  "train.epochs=3",        "train.batch_size=128",
                                  "train.log_every_steps=0", "model.embedding_init_std=0.1"};
  all.insert(all.end(), settings.begin(), settings.end());
  return train::run_training(config::config_from_yaml_string("{}", all), group);
}

inline train::RunResult train_small_on_cuda(const TempDir& dir, const std::string& model,
                                            const std::vector<std::string>& settings) {
  dist::ProcessGroup group;
  group.comm = dist::make_local_communicator();
  return train_small_on_cuda(dir, model, settings, group);
}

// BST + user features on the small dataset for 3 epochs, once with `key` = `ours` (one family
// of mlrec's kernels) and once with `key` = torch, both with the `extra` settings: the kernels
// must capture into the step's graph and train as torch's ops do.
inline void expect_trains_as_torchs_ops(const std::string& key, const std::string& ours,
                                        const std::vector<std::string>& extra = {}) {
  TempDir dir;
  write_small_dataset(dir);
  auto train = [&](const std::string& value) {
    std::vector<std::string> settings = {"train.patience=0", key + "=" + value};
    settings.insert(settings.end(), extra.begin(), extra.end());
    return train_small_on_cuda(dir, "seq_features", settings);
  };
  const auto with_kernels = train(ours);
  const auto with_torch = train("torch");
  ASSERT_TRUE(with_kernels.fit.cuda_graph) << key;
  EXPECT_LT(with_kernels.fit.epochs.back().train_loss, with_kernels.fit.epochs.front().train_loss) << key;
  EXPECT_NEAR(with_kernels.best.mae, with_torch.best.mae, 0.05) << key;
}

// MF on the small dataset for 3 epochs, once with `ours` and once with `theirs` (settings): the
// run with ours must capture its step into a CUDA graph and train as the other does, epoch by
// epoch (atomic additions that differ in order only).
inline void expect_mf_trains_alike(const std::vector<std::string>& ours, const std::vector<std::string>& theirs) {
  TempDir dir;
  write_small_dataset(dir);
  auto with = [](std::vector<std::string> settings) {
    settings.insert(settings.begin(), "train.patience=0");
    return settings;
  };
  const auto a = train_small_on_cuda(dir, "mf", with(ours));
  const auto b = train_small_on_cuda(dir, "mf", with(theirs));
  ASSERT_TRUE(a.fit.cuda_graph);
  ASSERT_EQ(a.fit.epochs.size(), b.fit.epochs.size());
  for (size_t e = 0; e < b.fit.epochs.size(); ++e) {
    EXPECT_NEAR(a.fit.epochs[e].train_loss, b.fit.epochs[e].train_loss, 1e-4) << "epoch " << e + 1;
    EXPECT_NEAR(a.fit.epochs[e].valid.mae, b.fit.epochs[e].valid.mae, 1e-4) << "epoch " << e + 1;
  }
}

// Whether `y` came out of the autograd function `name` (one of mlrec's kernels): the tests of a
// kernel must fail when a condition sends its case to torch's ops instead.
inline std::string node_name(const torch::Tensor& y) { return y.grad_fn() ? y.grad_fn()->name() : "no autograd node"; }

inline bool made_by(const torch::Tensor& y, const std::string& name) {
  return node_name(y).find("::" + name) != std::string::npos;
}

// bf16 autocast on CUDA for a scope, as the trainer's train.precision = bf16 sets it.
class Bf16Autocast {
 public:
  Bf16Autocast() {
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~Bf16Autocast() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(at::kCUDA, false);
  }
};

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
};

// The tests of mlrec's CUDA kernels, a suite per family (scripts/gpu_check.sh gates each family on
// its suite): skipped where no GPU is visible, the build has no kernels, or they were built for
// other GPUs (Cuda.MlrecKernelsRunOnTheGpusTheyAreBuiltFor keeps that from hiding a fault).
class CudaKernels : public Cuda {
 protected:
  void SetUp() override {
    Cuda::SetUp();
    if (!IsSkipped() && !ops::cuda_kernels_built()) GTEST_SKIP() << "built without CUDA kernels";
    if (!IsSkipped() && !ops::cuda_kernels_run_on(0)) GTEST_SKIP() << "mlrec's CUDA kernels have no code for this GPU";
  }
};

}  // namespace mlrec::test_support
