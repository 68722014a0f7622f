#include "mlrec/train/run.h"

#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cuda_runtime.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "mlrec/common/error.h"
#include "mlrec/common/json.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/timer.h"
#include "mlrec/data/dataset.h"
#include "mlrec/data/movielens.h"
#include "mlrec/data/prepare.h"
#include "mlrec/models/baseline.h"
#include "mlrec/models/registry.h"
#include "mlrec/train/callbacks.h"
#include "mlrec/train/trainer.h"

namespace mlrec::train {
namespace {

struct LoadedData {
  data::DatasetInfo info;
  data::RatingDataset train, valid, test;  // test is empty under the study's protocol
  std::string release;
  double seconds = 0;  // from opening the files to the tensors being ready
};

LoadedData load_data(const config::Config::Data& options) {
  LoadedData loaded;
  Stopwatch watch;
  const data::RawRatings raw = data::load_movielens(options.dir);
  data::SplitOptions split;
  split.valid_per_user = options.valid_per_user;
  split.min_ratings_per_user = options.min_ratings_per_user;
  split.test_per_user = options.test_per_user;
  const data::PreparedRatings prepared = data::prepare_ratings(raw, split);
  loaded.train = data::RatingDataset(prepared, prepared.train_rows, options.sequence_length);
  loaded.valid = data::RatingDataset(prepared, prepared.valid_rows, options.sequence_length);
  if (!prepared.test_rows.empty()) {
    loaded.test = data::RatingDataset(prepared, prepared.test_rows, options.sequence_length);
  }
  loaded.info = data::make_dataset_info(prepared, options.sequence_length);
  loaded.seconds = watch.seconds();
  loaded.release = data::release_name(raw.release);

  log_rank0(data::format_stats(raw, data::compute_stats(raw)));
  std::string held_out = with_commas(loaded.valid.size()) + " validation";
  if (options.test_per_user > 0) held_out += " and " + with_commas(loaded.test.size()) + " test";
  log_rank0("split: " + with_commas(loaded.train.size()) + " training, " + held_out +
            " ratings (each user's last ratings by time); data ready in " + std::to_string(loaded.seconds) + " s");
  if (options.test_per_user > 0 && loaded.test.size() == 0) {
    throw InputError::in(options.dir, "data.test_per_user leaves no test ratings");
  }
  if (loaded.train.size() == 0 || loaded.valid.size() == 0) {
    throw InputError::in(options.dir, "the split leaves no training or no validation ratings");
  }
  return loaded;
}

}  // namespace

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

JsonObject metrics_json(const Metrics& m) {
  JsonObject json;
  json.add("mae", m.mae).add("mse", m.mse).add("rmse", m.rmse).add("count", m.count);
  return json;
}

}  // namespace

RunResult run_training(const config::Config& config, dist::ProcessGroup& group,
                       const std::vector<std::shared_ptr<Callback>>& extra) {
  // threads 0: this host's cores shared among the ranks on it.
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = config.train.threads > 0 ? config.train.threads : std::max(1, cores / group.local_size);
  torch::set_num_threads(threads);
  const torch::Device device = choose_device(config.train.device, group.local_rank);
  const std::string where = device_name(device);
  if (config.dist.backend == "nccl" && !device.is_cuda()) {
    throw ConfigError::for_key("dist.backend", "'nccl' needs a GPU, and this run is on the CPU");
  }
  if (group.world_size > 1) log_placement(group, where);
  const bool wants_nccl = config.dist.backend == "nccl" || (config.dist.backend == "auto" && group.world_size > 1);
  if (device.is_cuda() && wants_nccl && group.comm->backend() != "nccl") {
    dist::use_nccl(group, device.index(), config.dist.timeout_seconds);
  }
  dist::Communicator& comm = *group.comm;

  LoadedData data = load_data(config.data);
  torch::manual_seed(static_cast<uint64_t>(config.train.seed));
  models::RatingModelPtr model = models::make_model(config.model, data.info);
  int64_t parameter_count = 0;
  for (const auto& p : model->parameters()) parameter_count += p.numel();
  log_rank0("model " + config.model.name + ": " + with_commas(parameter_count) + " parameters on " +
            where + ", " + std::to_string(comm.world_size()) + " rank(s), global batch " +
            std::to_string(config.train.batch_size));

  // From here on the run directory exists: everything before could still fail on bad input.
  namespace fs = std::filesystem;
  const fs::path run_dir = config.output.dir;
  if (comm.is_root()) {
    fs::create_directories(run_dir);
    write_file_atomic((run_dir / "config.yaml").string(), config::to_yaml(config));
  }
  const std::string checkpoint = config.output.save_checkpoint ? (run_dir / "best.pt").string() : "";

  data.train = data.train.to(device);
  data.valid = data.valid.to(device);
  if (data.test.size() > 0) data.test = data.test.to(device);
  Trainer trainer(model, config.train, comm, device, int64_t(config.dist.bucket_mb) << 20);

  Metrics best;
  int best_epoch = 0, epochs_run = 0;
  FitResult fit;
  if (!model->trainable()) {
    model->fit(data.train.targets());
    best = trainer.evaluate(data.valid);
    if (comm.is_root()) {
      write_file_atomic((run_dir / "metrics.jsonl").string(), "");
      if (!checkpoint.empty()) save_checkpoint(*model, checkpoint);
    }
    char line[160];
    std::snprintf(line, sizeof line, "baseline predicts %.4f: valid MAE %.5f MSE %.5f RMSE %.5f (%lld)",
                  static_cast<models::MedianBaseline&>(*model).prediction(), best.mae, best.mse, best.rmse,
                  static_cast<long long>(best.count));
    log_rank0(line);
  } else {
    auto save_best = std::make_shared<SaveBestCallback>(checkpoint);
    trainer.add_callback(std::make_shared<ProgressCallback>(config.train.log_every_steps));
    trainer.add_callback(std::make_shared<MetricsLogger>(
        comm.is_root() ? (run_dir / "metrics.jsonl").string() : ""));
    trainer.add_callback(save_best);
    trainer.add_callback(std::make_shared<EarlyStoppingCallback>(config.train.patience,
                                                                 config.train.early_stopping_threshold));
    for (const auto& callback : extra) trainer.add_callback(callback);
    fit = trainer.fit(data.train, data.valid);
    best = save_best->best_metrics();
    best_epoch = save_best->best_epoch();
    epochs_run = static_cast<int>(fit.epochs.size());
  }

  // The test set is scored once, for the selected model (the best epoch's weights, reloaded):
  // no decision above has seen it.
  Metrics test;
  if (data.test.size() > 0) {
    test = trainer.evaluate(data.test);
    char line[160];
    std::snprintf(line, sizeof line, "test (selected model, scored once): MAE %.5f MSE %.5f RMSE %.5f (%lld)",
                  test.mae, test.mse, test.rmse, static_cast<long long>(test.count));
    log_rank0(line);
  }

  RunResult result;
  result.test = test;
  result.model = config.model.name;
  result.device = where;
  result.data_seconds = data.seconds;
  result.fit = fit;
  result.best = best;
  result.best_epoch = best_epoch;
  result.epochs_run = epochs_run;
  result.steps_per_epoch = trainer.steps_per_epoch();
  if (!comm.is_root()) return result;
  JsonObject summary;
  summary.add("model", config.model.name)
      .add("release", data.release)
      .add("best_epoch", best_epoch)
      .add("epochs_run", epochs_run)
      .add("max_epochs", config.train.epochs)
      .add("protocol", data.test.size() > 0 ? "valid_test" : "study")
      .add("valid", metrics_json(best))
      .add("train_count", data.train.size())
      .add("test_count", data.test.size())
      .add("data_seconds", data.seconds)
      .add("train_seconds", fit.train_seconds)
      .add("train_samples", fit.train_samples)
      .add("samples_per_second", fit.samples_per_second())
      .add("comm_wait_seconds", fit.comm_wait_seconds)
      .add("comm_wait_share", fit.comm_wait_share())
      .add("steps_per_epoch", trainer.steps_per_epoch())
      .add("batch_size", config.train.batch_size)
      .add("seed", config.train.seed)
      .add("precision", config.train.precision)
      .add("cuda_graph", fit.cuda_graph)
      .add("parameters", parameter_count)
      .add("world_size", comm.world_size())
      .add("backend", comm.backend())
      .add("device", where)
      .add("torch", std::string(TORCH_VERSION));
  if (data.test.size() > 0) summary.add("test", metrics_json(test));
  write_file_atomic((run_dir / "summary.json").string(), summary.str() + "\n");
  log_rank0("run directory: " + run_dir.string());
  return result;
}

}  // namespace mlrec::train
