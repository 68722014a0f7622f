#include "mlrec/bench/bench.h"

#if MLREC_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif
#include <sys/resource.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <cstdio>

#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/timer.h"
#include "mlrec/config/config.h"
#include "mlrec/train/epoch_step_watch.h"
#include "mlrec/train/run.h"
#include "mlrec/train/run_record.h"

namespace mlrec::bench {
namespace {

// Times windows of steps. On a GPU the clock is read after a device synchronisation, once per
// window, so the steps in between run without host synchronisation.
class StepTimer : public train::Callback {
 public:
  explicit StepTimer(int window) : window_(window) {}

  void on_step_end(train::Trainer& trainer, int64_t step, const torch::Tensor&) override {
    // Each epoch's windows start after its first step (the epoch's permutation and the first
    // gather are not steady state).
    if (watch_.starts_at(trainer.epoch(), step)) {
      sync(trainer);
      watch_.restart(step);
      return;
    }
    const int64_t steps = watch_.steps_timed(step);
    if (steps < window_) return;
    sync(trainer);
    rates_.push_back(steps * trainer.global_batch() / watch_.seconds());
    watch_.restart(step);
  }

  /// Median window rate, leaving out the run's first window (warm-up) unless it is the only one;
  /// null with none (no epoch had --window steps after its first, or the model trains nothing):
  /// 0 would read as a measured rate.
  nlohmann::json steady_samples_per_second() const {
    if (rates_.empty()) return nullptr;
    if (rates_.size() == 1) return rates_.front();
    std::vector<double> rates(rates_.begin() + 1, rates_.end());
    std::nth_element(rates.begin(), rates.begin() + rates.size() / 2, rates.end());
    return rates[rates.size() / 2];
  }
  size_t windows() const { return rates_.size(); }

 private:
  static void sync(train::Trainer& trainer) {
    if (trainer.device().is_cuda()) torch::cuda::synchronize(trainer.device().index());
  }
  int window_;
  train::EpochStepWatch watch_;
  std::vector<double> rates_;
};

double target_mae(const std::string& model) {
  if (model == "mf") return 0.895;
  if (model == "seq" || model == "seq_ratings" || model == "seq_features") return 0.73;
  return NAN;
}

double peak_host_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // kilobytes on Linux
}

}  // namespace

void run_bench(const BenchOptions& options, dist::ProcessGroup& group) {
  if (group.rank == 0 && !options.out.empty()) check_writable(options.out);
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (size_t i = 0; i < options.configs.size(); ++i) {
    config::Config config = config::load_config(options.configs[i], options.overrides);
    if (options.configs.size() > 1) {
      // One run directory per configuration, under the common output.dir: named by the file,
      // and by its position too where two files share a name (cfgA/mf.yaml, cfgB/mf.yaml), which
      // would otherwise share a directory, the second run replacing the first.
      const std::string stem = std::filesystem::path(options.configs[i]).stem().string();
      const auto same_name = std::count_if(options.configs.begin(), options.configs.end(), [&](const std::string& c) {
        return std::filesystem::path(c).stem().string() == stem;
      });
      config.output.dir = (std::filesystem::path(config.output.dir) /
                           (same_name > 1 ? stem + "-" + std::to_string(i + 1) : stem)).string();
    }
    // A benchmark measures a whole run from its start, every time: it never continues or
    // reports an earlier one.
    config.checkpoint.resume = "never";
    config.output.overwrite = true;
    dist::set_collective_timeout(*group.comm, config.dist.timeout_seconds);
    const torch::Device device = train::choose_device(config.train.device, group.local_rank);
    if (device.is_cuda()) {
      // The allocator knows the device only once CUDA is initialised (lazily, at first use).
      torch::empty({1}, torch::TensorOptions().device(device));
#if MLREC_WITH_CUDA
      c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#endif
    }
    auto timer = std::make_shared<StepTimer>(options.window);
    Stopwatch run_watch;
    const train::RunResult run = train::run_training(config, group, {timer});
    const double run_seconds = run_watch.seconds();  // everything: data, training, evaluation, files

    const double train_seconds = run.fit.train_seconds, samples_per_second = run.fit.samples_per_second();
    double eval_seconds = 0, to_target = NAN, elapsed = 0;
    const double target = target_mae(run.model);
    for (const auto& e : run.fit.epochs) {
      eval_seconds += e.eval_seconds;
      elapsed += e.train_seconds + e.eval_seconds;
      if (std::isnan(to_target) && e.valid.mae <= target) to_target = elapsed;
    }
    const double epochs = std::max<size_t>(1, run.fit.epochs.size());
    double peak_device_mb = 0;
    if (device.is_cuda()) {
#if MLREC_WITH_CUDA
      const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
      peak_device_mb = stats.allocated_bytes[0].peak / 1048576.0;
#endif
    }
    results.push_back({{"config", options.configs[i]},
                       {"model", run.model},
                       {"device", run.device},
                       {"world_size", group.world_size},
                       {"precision", config.train.precision},
                       {"cuda_graph", run.fit.cuda_graph},
                       {"optimizer_in_graph", run.fit.optimizer_in_graph},
                       {"batch_size", config.train.batch_size},
                       {"run_seconds", run_seconds},
                       {"data_seconds", run.data_seconds},
                       {"steady_samples_per_second", timer->steady_samples_per_second()},
                       {"timing_windows", timer->windows()},
                       {"samples_per_second", samples_per_second},
                       {"train_seconds", train_seconds},
                       {"epoch_seconds", train_seconds / epochs},
                       {"eval_seconds", eval_seconds / epochs},
                       {"epochs_run", run.epochs_run},
                       {"best_epoch", run.best_epoch},
                       {"target_mae", target},
                       {"time_to_target_seconds", to_target},
                       {"valid", run.best},
                       {"comm_wait_share", run.fit.comm_wait_share()},
                       {"peak_host_mb", peak_host_mb()},
                       {"peak_device_mb", peak_device_mb}});
    const nlohmann::json steady = timer->steady_samples_per_second();
    log_rank0(fmt::format("bench {}: {} samples/s steady, {:.0f} over whole epochs, data {:.3f} s, run {:.1f} s, "
                          "MAE {:.5f}{}",
                          run.model, steady.is_null() ? "no" : fmt::format("{:.0f}", steady.get<double>()),
                          samples_per_second, run.data_seconds, run_seconds, run.best.mae,
                          run.fit.cuda_graph ? " (CUDA graph)" : ""));
  }
  const std::string json = results.dump(2) + "\n";
  if (group.rank == 0) {
    if (options.out.empty()) {
      std::fputs(json.c_str(), stdout);
    } else {
      write_file_atomic(options.out, json);
      log_rank0("benchmark written to " + options.out);
    }
  }
}

}  // namespace mlrec::bench
