#include "mlrec/train/run.h"

#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cuda_runtime.h>

#include <fmt/format.h>

#include <cstring>
#include <thread>

#include "mlrec/common/error.h"
#include "mlrec/common/logging.h"
#include "mlrec/data/load.h"
#include "mlrec/models/baseline.h"
#include "mlrec/models/registry.h"
#include "mlrec/train/callbacks.h"
#include "mlrec/train/checkpoint.h"
#include "mlrec/train/run_directory.h"
#include "mlrec/train/trainer.h"

namespace mlrec::train {

torch::Device choose_device(const std::string& requested, int local_rank) {
  const bool cuda = torch::cuda::is_available();
  if (requested == "cuda" && !cuda) {
    throw ConfigError::for_key("train.device", "'cuda' was requested but no CUDA device is available");
  }
  if (requested == "cpu" || !cuda) return torch::Device(torch::kCPU);
  const int count = static_cast<int>(torch::cuda::device_count());
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % count));
}

namespace {

// Rank 0 logs where every rank runs: each rank writes its line into its row of a byte matrix,
// and a sum over ranks assembles the table.
void log_placement(dist::ProcessGroup& group, const std::string& where) {
  constexpr int64_t kWidth = 160;
  auto table = torch::zeros({group.world_size, kWidth}, torch::kUInt8);
  const std::string line = "rank " + std::to_string(group.rank) + ": host " + group.host + ", local rank " +
                           std::to_string(group.local_rank) + ", " + where;
  std::memcpy(table[group.rank].data_ptr(), line.data(), std::min<size_t>(line.size(), kWidth - 1));
  group.comm->all_reduce_sum(table, "placement");
  if (group.rank != 0) return;
  for (int r = 0; r < group.world_size; ++r) {
    log_info(std::string(static_cast<const char*>(table[r].data_ptr()), strnlen(static_cast<const char*>(table[r].data_ptr()), kWidth)));
  }
}

std::string device_name(const torch::Device& device) {
  if (device.is_cpu()) {
    return "cpu (" + std::to_string(torch::get_num_threads()) + " threads)";
  }
  cudaDeviceProp properties;
  if (cudaGetDeviceProperties(&properties, device.index()) == cudaSuccess) {
    return "cuda:" + std::to_string(device.index()) + " (" + properties.name + ")";
  }
  return "cuda:" + std::to_string(device.index());
}

// This rank's threads, device and communicator. threads 0: this host's cores shared among the
// ranks on it. With GPUs and several ranks (or dist.backend=nccl) the communicator becomes NCCL.
struct RankSetup {
  torch::Device device{torch::kCPU};
  std::string where;  // "cpu (2 threads)", "cuda:0 (NVIDIA H200)"
};

RankSetup set_up_rank(const config::Config& config, dist::ProcessGroup& group) {
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = config.train.threads > 0 ? config.train.threads : std::max(1, cores / group.local_size);
  torch::set_num_threads(threads);
  RankSetup setup;
  setup.device = choose_device(config.train.device, group.local_rank);
  setup.where = device_name(setup.device);
  if (config.dist.backend == "nccl" && !setup.device.is_cuda()) {
    throw ConfigError::for_key("dist.backend", "'nccl' needs a GPU, and this run is on the CPU");
  }
  if (group.world_size > 1) log_placement(group, setup.where);
  const bool wants_nccl = config.dist.backend == "nccl" || (config.dist.backend == "auto" && group.world_size > 1);
  if (setup.device.is_cuda() && wants_nccl && group.comm->backend() != "nccl") {
    dist::use_nccl(group, setup.device.index(), config.dist.timeout_seconds);
  }
  return setup;
}

std::string metrics_text(const Metrics& m) {
  return fmt::format("MAE {:.5f} MSE {:.5f} RMSE {:.5f} ({})", m.mae, m.mse, m.rmse, m.count);
}

// The median baseline trains nothing: fitted once, scored once.
void fit_baseline(models::RatingModel& model, Trainer& trainer, const data::LoadedData& data,
                  const RunDirectory& run_dir, const std::string& checkpoint, RunResult& result) {
  model.fit(data.train.targets());
  result.best = trainer.evaluate(data.valid);
  run_dir.write_empty_metrics();
  if (run_dir.writer() && !checkpoint.empty()) save_checkpoint(model, checkpoint);
  log_rank0(fmt::format("baseline predicts {:.4f}: valid {}", static_cast<models::MedianBaseline&>(model).prediction(),
                        metrics_text(result.best)));
}

// The trained models: the trainer with the run's callbacks (metrics.jsonl, best weights, early
// stopping, progress, and the caller's).
void fit_model(const config::Config& config, Trainer& trainer, const data::LoadedData& data,
               const RunDirectory& run_dir, const std::string& checkpoint,
               const std::vector<std::shared_ptr<Callback>>& extra, RunResult& result) {
  auto save_best = std::make_shared<SaveBestCallback>(checkpoint);
  trainer.add_callback(std::make_shared<ProgressCallback>(config.train.log_every_steps));
  trainer.add_callback(std::make_shared<MetricsLogger>(run_dir.writer() ? run_dir.metrics_path() : ""));
  trainer.add_callback(save_best);
  trainer.add_callback(std::make_shared<EarlyStoppingCallback>(config.train.patience,
                                                               config.train.early_stopping_threshold));
  for (const auto& callback : extra) trainer.add_callback(callback);
  result.fit = trainer.fit(data.train, data.valid);
  result.best = save_best->best_metrics();
  result.best_epoch = save_best->best_epoch();
  result.epochs_run = static_cast<int>(result.fit.epochs.size());
}

RunSummary make_summary(const config::Config& config, const data::LoadedData& data, const RunResult& result,
                        int64_t parameters, const dist::Communicator& comm) {
  RunSummary s;
  s.model = config.model.name;
  s.release = data.release;
  s.best_epoch = result.best_epoch;
  s.epochs_run = result.epochs_run;
  s.max_epochs = config.train.epochs;
  s.protocol = data.test.size() > 0 ? "valid_test" : "study";
  s.valid = result.best;
  if (data.test.size() > 0) s.test = result.test;
  s.train_count = data.train.size();
  s.test_count = data.test.size();
  s.data_seconds = data.seconds;
  s.train_seconds = result.fit.train_seconds;
  s.train_samples = result.fit.train_samples;
  s.samples_per_second = result.fit.samples_per_second();
  s.comm_wait_seconds = result.fit.comm_wait_seconds;
  s.comm_wait_share = result.fit.comm_wait_share();
  s.steps_per_epoch = result.steps_per_epoch;
  s.batch_size = config.train.batch_size;
  s.seed = config.train.seed;
  s.precision = config.train.precision;
  s.cuda_graph = result.fit.cuda_graph;
  s.parameters = parameters;
  s.world_size = comm.world_size();
  s.backend = comm.backend();
  s.device = result.device;
  s.torch = TORCH_VERSION;
  return s;
}

}  // namespace

RunResult run_training(const config::Config& config, dist::ProcessGroup& group,
                       const std::vector<std::shared_ptr<Callback>>& extra) {
  const RankSetup rank = set_up_rank(config, group);
  dist::Communicator& comm = *group.comm;

  data::LoadedData data = data::load_data(config.data);
  torch::manual_seed(static_cast<uint64_t>(config.train.seed));
  models::RatingModelPtr model = models::make_model(config.model, data.info);
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  log_rank0("model " + config.model.name + ": " + with_commas(parameters) + " parameters on " + rank.where + ", " +
            std::to_string(comm.world_size()) + " rank(s), global batch " + std::to_string(config.train.batch_size));

  // From here on the run directory exists: everything before could still fail on bad input.
  const RunDirectory run_dir(config.output.dir, comm.is_root());
  run_dir.create(config::to_yaml(config));
  const std::string checkpoint = config.output.save_checkpoint ? run_dir.best_weights_path() : "";

  data.train = data.train.to(rank.device);
  data.valid = data.valid.to(rank.device);
  if (data.test.size() > 0) data.test = data.test.to(rank.device);
  Trainer trainer(model, config.train, comm, rank.device, int64_t(config.dist.bucket_mb) << 20);

  RunResult result;
  result.model = config.model.name;
  result.device = rank.where;
  result.data_seconds = data.seconds;
  if (model->trainable()) {
    fit_model(config, trainer, data, run_dir, checkpoint, extra, result);
  } else {
    fit_baseline(*model, trainer, data, run_dir, checkpoint, result);
  }
  result.steps_per_epoch = trainer.steps_per_epoch();

  // The test set is scored once, for the selected model (the best epoch's weights, reloaded):
  // no decision above has seen it.
  if (data.test.size() > 0) {
    result.test = trainer.evaluate(data.test);
    log_rank0("test (selected model, scored once): " + metrics_text(result.test));
  }

  run_dir.write_summary(make_summary(config, data, result, parameters, comm));
  log_rank0("run directory: " + run_dir.path());
  return result;
}

}  // namespace mlrec::train
