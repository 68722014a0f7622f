#include "mlrec/train/profiler.h"

#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/cuda.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>
#include <stdexcept>
#include <system_error>

#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"

namespace mlrec::train {
namespace {

namespace kineto = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

std::set<ActivityType> activities_for(const torch::Device& device) {
  std::set<ActivityType> activities = {ActivityType::CPU};
  if (device.is_cuda()) activities.insert(ActivityType::CUDA);
  return activities;
}

// Kineto writes the trace itself and reports no write error (a full disk cuts the file short):
// so it writes next to the target, and the file is renamed into place only once it has been
// read back as whole JSON.
void save_trace(kineto::ProfilerResult& result, const std::string& path) {
  const std::string kineto_path = path + ".kineto";
  struct RemoveOnExit {
    const std::string& p;
    ~RemoveOnExit() {
      std::error_code ignored;
      std::filesystem::remove(p, ignored);
    }
  } remove_kineto_file{kineto_path};
  result.save(kineto_path);
  std::error_code error;
  if (!std::filesystem::exists(kineto_path, error)) {
    throw std::runtime_error(path + ": cannot write: the profiler wrote no trace");
  }
  if (!nlohmann::json::accept(read_file(kineto_path, "the profiler's trace"))) {
    throw std::runtime_error(path + ": cannot write: the profiler's trace is cut short (is the disk full?)");
  }
  std::filesystem::rename(kineto_path, path, error);
  if (error) throw std::runtime_error(path + ": cannot write: " + error.message());
}

}  // namespace

StepProfiler::StepProfiler(const config::Config::Profile& options, std::string dir)
    : options_(options), dir_(std::move(dir)) {
  if (options_.steps <= 0) throw std::invalid_argument("StepProfiler: profile.steps must be positive");
}

StepProfiler::~StepProfiler() {
  if (!recording_) return;
  try {
    kineto::disableProfiler();
  } catch (...) {
    // (the run is failing already; its own error is the one to report)
  }
}

void StepProfiler::on_train_begin(Trainer& trainer) {
  if (done_) return;
  // Kineto's set-up (CUPTI's on a GPU) before the recorded steps, as torch.profiler's warm-up.
  kineto::prepareProfiler(ProfilerConfig(ProfilerState::KINETO, options_.shapes), activities_for(trainer.device()));
  if (options_.skip_steps == 0) start(trainer);
}

void StepProfiler::on_step_end(Trainer& trainer, int64_t, const torch::Tensor&) {
  if (done_) return;
  ++steps_taken_;
  if (recording_) {
    if (++recorded_ == options_.steps) finish(trainer);
  } else if (steps_taken_ == options_.skip_steps) {
    start(trainer);
  }
}

void StepProfiler::on_train_end(Trainer& trainer) {
  if (!recording_) {
    if (!done_) {
      log_warning("profile: the run took " + std::to_string(steps_taken_) + " steps, not more than profile.skip_steps (" +
                  std::to_string(options_.skip_steps) + "): no trace written");
    }
    return;
  }
  log_warning("profile: the run ended after " + std::to_string(recorded_) + " of the " + std::to_string(options_.steps) +
              " steps to record; the trace holds those");
  finish(trainer);
}

void StepProfiler::start(Trainer& trainer) {
  // The steps before were launched asynchronously: their kernels are not the recorded steps'.
  if (trainer.device().is_cuda()) torch::cuda::synchronize(trainer.device().index());
  kineto::enableProfiler(ProfilerConfig(ProfilerState::KINETO, options_.shapes), activities_for(trainer.device()));
  recording_ = true;
}

void StepProfiler::finish(Trainer& trainer) {
  // The recorded steps' kernels must have run before their activity records are collected.
  if (trainer.device().is_cuda()) torch::cuda::synchronize(trainer.device().index());
  auto result = kineto::disableProfiler();
  recording_ = false;
  done_ = true;
  const std::string path = dir_ + "/trace.rank" + std::to_string(trainer.comm().rank()) + ".json";
  try {
    std::error_code error;
    std::filesystem::create_directories(dir_, error);
    if (error) throw std::runtime_error(dir_ + ": cannot create: " + error.message());
    save_trace(*result, path);
  } catch (const std::exception& e) {
    // A trace is a diagnosis: training goes on without it.
    log_warning(std::string("profile: ") + e.what() + "; training goes on without the trace");
    return;
  }
  written_ = path;
  log_info("profile: " + std::to_string(recorded_) + " steps recorded in " + path);
}

}  // namespace mlrec::train
