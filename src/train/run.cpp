#include "mlrec/train/run.h"

#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#if MLREC_WITH_CUDA
#include <cuda_runtime.h>
#endif

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/common/host_memory.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/stop_signal.h"
#include "mlrec/common/version.h"
#include "mlrec/distributed/agreement.h"
#include "mlrec/distributed/placement.h"
#include "mlrec/data/load.h"
#include "mlrec/models/baseline.h"
#include "mlrec/models/registry.h"
#include "mlrec/train/callbacks.h"
#include "mlrec/train/checkpoint.h"
#include "mlrec/train/checkpoint_store.h"
#include "mlrec/train/checkpointing.h"
#include "mlrec/train/profiler.h"
#include "mlrec/train/run_directory.h"
#include "mlrec/train/trainer.h"

namespace mlrec::train {

namespace {
// What a CPU-only build (cmake/MlrecTorch.cmake: built without a CUDA toolkit) says when asked
// for CUDA: the machine may well have a GPU, so the fix is the build, not the hardware.
constexpr const char* kCpuOnlyBuild =
    "needs the CUDA build of mlrec; this one is CPU-only (built without a CUDA toolkit): rebuild "
    "where the CUDA 13 toolkit is installed (scripts/build.sh), or run on the CPU";
}  // namespace

torch::Device choose_device(const std::string& requested, int local_rank, const std::string& setting) {
  const bool cuda = torch::cuda::is_available();
  if (requested == "cuda" && !cuda) {
    throw ConfigError(setting + ": " +
                      (MLREC_WITH_CUDA ? "'cuda' was requested but no CUDA device is available" : kCpuOnlyBuild));
  }
  if (requested == "cpu" || !cuda) return torch::Device(torch::kCPU);
  const int count = static_cast<int>(torch::cuda::device_count());
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % count));
}

namespace {

// Every rank's `line` (up to 159 bytes), on every rank: each rank writes its line into its row of
// a byte matrix, and a sum over ranks assembles the table.
std::vector<std::string> gather_lines(dist::ProcessGroup& group, const std::string& line, const char* label) {
  constexpr int64_t kWidth = 160;
  auto table = torch::zeros({group.world_size, kWidth}, torch::kUInt8);
  std::memcpy(table[group.rank].data_ptr(), line.data(), std::min<size_t>(line.size(), kWidth - 1));
  group.comm->all_reduce_sum(table, label);
  std::vector<std::string> lines;
  for (int r = 0; r < group.world_size; ++r) {
    const auto* row = static_cast<const char*>(table[r].data_ptr());
    lines.emplace_back(row, strnlen(row, kWidth));
  }
  return lines;
}

// Rank 0 logs where every rank runs.
void log_placement(dist::ProcessGroup& group, const std::string& where) {
  const auto lines = gather_lines(group, "rank " + std::to_string(group.rank) + ": host " + group.host +
                                             ", local rank " + std::to_string(group.local_rank) + ", " + where,
                                  "placement");
  if (group.rank != 0) return;
  for (const auto& line : lines) log_info(line);
}

// The GPU's identity across the job: its host and its UUID (the index alone repeats across
// hosts, and a rank that sees only its own GPU calls it cuda:0 whichever it is).
std::string device_identity(const torch::Device& device, const std::string& host) {
  std::string id = host + "/cuda:" + std::to_string(device.index());
#if MLREC_WITH_CUDA
  cudaDeviceProp properties;
  if (cudaGetDeviceProperties(&properties, device.index()) == cudaSuccess) {
    id = host + "/";
    for (unsigned char byte : properties.uuid.bytes) id += fmt::format("{:02x}", byte);
  }
#endif
  return id;
}

// NCCL refuses two ranks on one GPU (and says so only deep inside its initialisation): the job
// is refused here, by every rank alike, naming the ranks and the setting that serves them.
void check_one_gpu_per_rank(dist::ProcessGroup& group, const torch::Device& device) {
  const auto devices = gather_lines(group, device_identity(device, group.host), "device identities");
  if (const auto shared = dist::first_ranks_sharing_a_device(devices)) {
    throw ConfigError::for_key(
        "dist.backend", fmt::format("ranks {} and {} share one GPU ({}), and NCCL needs a GPU of its own per rank: "
                                    "set dist.backend=mpi to let ranks share GPUs (collectives staged through "
                                    "host memory), or start at most one rank per GPU",
                                    shared->first, shared->second, devices[shared->first]));
  }
}

std::string device_name(const torch::Device& device) {
  if (device.is_cpu()) {
    return "cpu (" + std::to_string(torch::get_num_threads()) + " threads)";
  }
#if MLREC_WITH_CUDA
  cudaDeviceProp properties;
  if (cudaGetDeviceProperties(&properties, device.index()) == cudaSuccess) {
    return "cuda:" + std::to_string(device.index()) + " (" + properties.name + ")";
  }
#endif
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
#if MLREC_WITH_CUDA
  // The rank's GPU as the main thread's current device (as DDP's torch.cuda.set_device(local
  // rank)): mlrec's code names or guards its device, but a call that names none (a library's,
  // or the next engineer's) would otherwise open a context on GPU 0 for every rank of the host.
  if (setup.device.is_cuda()) {
    const cudaError_t set = cudaSetDevice(setup.device.index());
    if (set != cudaSuccess) {
      throw std::runtime_error("cannot select " + setup.device.str() + ": " + cudaGetErrorString(set));
    }
  }
#endif
  setup.where = device_name(setup.device);
  if (config.dist.backend == "nccl" && !setup.device.is_cuda()) {
    throw ConfigError::for_key("dist.backend", MLREC_WITH_CUDA ? "'nccl' needs a GPU, and this run is on the CPU"
                                                               : kCpuOnlyBuild);
  }
  if (group.world_size > 1) log_placement(group, setup.where);
  const bool wants_nccl = config.dist.backend == "nccl" || (config.dist.backend == "auto" && group.world_size > 1);
  if (setup.device.is_cuda() && wants_nccl && group.comm->backend() != "nccl") {
    if (group.world_size > 1) check_one_gpu_per_rank(group, setup.device);
    dist::use_nccl(group, setup.device.index(), config.dist.timeout_seconds);
  }
  return setup;
}

std::string metrics_text(const Metrics& m) {
  std::string text = fmt::format("MAE {:.5f} MSE {:.5f} RMSE {:.5f} ({})", m.mae, m.mse, m.rmse, m.count);
  if (m.has_ranking()) text += fmt::format(" HR@{} {:.5f} NDCG@{} {:.5f}", m.ranking_k, m.hr, m.ranking_k, m.ndcg);
  return text;
}

// When the ranking metrics are computed (train.ranking): every epoch, for the selected model
// only, or not at all.
enum class RankingWhen { kEpoch, kFinal, kOff };

RankingWhen ranking_when(const config::Config::Train& options, const models::RatingModel& model) {
  if (options.ranking == "epoch") return RankingWhen::kEpoch;
  if (options.ranking == "final") return RankingWhen::kFinal;
  if (options.ranking == "off") return RankingWhen::kOff;
  // auto: every epoch where scoring all items is one matrix product; the sequence models need a
  // forward per item (3,706 per validation row on ML-1M), which only train.ranking=final asks for.
  return model.scores_all_items_cheaply() ? RankingWhen::kEpoch : RankingWhen::kOff;
}

// The models fitted without gradients (the median baseline, item_knn, bayes_svdpp) train nothing:
// fitted once, scored once.
void fit_without_gradients(models::RatingModel& model, Trainer& trainer, const data::LoadedData& data,
                  const RunDirectory& run_dir, const std::string& checkpoint, const RankingInput* ranking,
                  RunResult& result) {
  model.fit(data.train);
  result.best = trainer.evaluate(data.valid, ranking);
  run_dir.write_empty_metrics();
  if (run_dir.writer() && !checkpoint.empty()) save_checkpoint(model, checkpoint);
  if (const auto* baseline = dynamic_cast<const models::MedianBaseline*>(&model)) {
    log_rank0(fmt::format("baseline predicts {:.4f}: valid {}", baseline->prediction(), metrics_text(result.best)));
  } else {
    log_rank0("fitted: valid " + metrics_text(result.best));
  }
}

// The trained models: the trainer with the run's callbacks (metrics.jsonl, best weights, early
// stopping, progress, checkpoints, a profile when asked, and the caller's).
void fit_model(const config::Config& config, Trainer& trainer, const data::LoadedData& data,
               const RunDirectory& run_dir, const std::string& checkpoint, const RunIdentity& identity,
               const std::vector<std::shared_ptr<Callback>>& extra, RunResult& result) {
  auto save_best = std::make_shared<SaveBestCallback>(checkpoint);
  auto checkpointer = std::make_shared<CheckpointCallback>(config.checkpoint, run_dir.path(), identity);
  trainer.add_callback(std::make_shared<ProgressCallback>(config.train.log_every_steps));
  trainer.add_callback(std::make_shared<MetricsLogger>(run_dir.writer() ? run_dir.metrics_path() : ""));
  trainer.add_callback(std::make_shared<TensorBoardLogger>(run_dir.writer() ? run_dir.tensorboard_path() : "",
                                                           config.train.log_every_steps, config::to_yaml(config)));
  trainer.add_callback(save_best);
  trainer.add_callback(std::make_shared<EarlyStoppingCallback>(config.train.patience,
                                                               config.train.early_stopping_threshold));
  // After the others: an epoch-end checkpoint holds their state of that epoch.
  trainer.add_callback(checkpointer);
  if (config.profile.steps > 0) {
    trainer.add_callback(std::make_shared<StepProfiler>(config.profile, run_dir.profile_path()));
  }
  for (const auto& callback : extra) trainer.add_callback(callback);
  result.fit = trainer.fit(data.train, data.valid);
  if (checkpointer->stopped_by() != 0) throw StopRequested(checkpointer->stopped_by(), checkpointer->last_checkpoint());
  result.best = save_best->best_metrics();
  result.best_epoch = save_best->best_epoch();
  result.epochs_run = static_cast<int>(result.fit.epochs.size());
}

RunSummary make_summary(const config::Config& config, const data::LoadedData& data, const std::string& fingerprint,
                        const RunResult& result, int64_t parameters, const dist::Communicator& comm) {
  RunSummary s;
  s.model = config.model.name;
  s.release = data.release;
  s.data = fingerprint;
  s.rating_min = data.info.rating_min;
  s.rating_max = data.info.rating_max;
  s.rating_step = data.info.rating_step;
  s.best_epoch = result.best_epoch;
  s.epochs_run = result.epochs_run;
  s.max_epochs = config.train.epochs;
  s.protocol = data.test.size() > 0 ? "valid_test" : "study";
  s.valid = result.best;
  if (data.test.size() > 0) s.test = result.test;
  s.train_count = data.train.size();
  s.test_count = data.test.size();
  s.data_seconds = data.seconds;
  s.data_rss_bytes = result.data_rss_bytes;
  s.data_pss_bytes_all_ranks = result.data_pss_bytes_all_ranks;
  s.data_windows = data.train.storage() == data::WindowStorage::kMaterialized ? "materialized" : "gathered";
  if (!data.cache_file.empty()) s.data_cache = (data.cache_built ? "built " : "mapped ") + data.cache_file;
  s.train_seconds = result.fit.train_seconds;
  s.train_samples = result.fit.train_samples;
  s.samples_per_second = result.fit.samples_per_second();
  s.comm_wait_seconds = result.fit.comm_wait_seconds;
  s.comm_wait_share = result.fit.comm_wait_share();
  s.grad_bytes_per_step = result.fit.steps > 0 ? result.fit.grad_bytes / result.fit.steps : 0;
  s.embedding_optimizer = config.train.embedding_optimizer;
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

// How a run begins, decided by rank 0 from its run directory and shared with every rank.
struct StartPlan {
  enum Kind : int64_t { kFresh = 0, kResume = 1, kFinished = 2 };
  Kind kind = kFresh;
  std::string checkpoint_path, checkpoint_meta, checkpoint_state;  // kResume
  std::string summary;                                              // kFinished: summary.json's text
};

// A checkpoint continues only the run it was taken from: the same configuration (but for
// may_change_on_resume's keys) and the same data.
void check_checkpoint_identity(const StoredCheckpoint& checkpoint, const RunIdentity& here) {
  const RunIdentity there = RunIdentity::from_json(checkpoint.meta.value("identity", nlohmann::ordered_json::object()));
  if (const auto difference = first_config_difference(there, here)) {
    throw ConfigError("checkpoint " + checkpoint.path + " belongs to a run with another configuration: " + *difference +
                      "; resume it with that configuration, or set checkpoint.resume=never (with output.overwrite=true)");
  }
  if (there.data != here.data) {
    throw InputError::in(checkpoint.path, "was taken on other data (" + there.data + "; this run's data: " + here.data +
                                              "); resume it with the data it was taken on");
  }
  if (there.version != here.version) {
    log_warning("checkpoint " + checkpoint.path + " was written by mlrec " + there.version + ", this is " + here.version +
                ": resuming anyway (the rest of the run may differ from what that version would have trained: float "
                "rounding, or the dropout masks' seeds, which each step draws afresh since 2026-12-08)");
  }
}

StartPlan resume_plan(StoredCheckpoint checkpoint, const RunIdentity& identity) {
  check_checkpoint_identity(checkpoint, identity);
  StartPlan plan;
  plan.kind = StartPlan::kResume;
  plan.checkpoint_path = checkpoint.path;
  plan.checkpoint_meta = checkpoint.meta.dump();
  plan.checkpoint_state = std::move(checkpoint.state);
  return plan;
}

// Rank 0, holding the directory's lock: resume, start fresh, or report a finished run; refuse
// a directory that holds another run unless output.overwrite says to replace it.
StartPlan plan_start(const config::Config& config, const RunDirectory& run_dir, const RunIdentity& identity) {
  StartPlan plan;
  const std::string& resume = config.checkpoint.resume;
  const bool explicit_checkpoint = resume != "auto" && resume != "never";
  bool holds_run = run_dir.holds_run_files();
  std::optional<std::string> other_run;
  if (holds_run) {
    other_run = std::filesystem::exists(run_dir.config_path()) ? difference_from_run_in(run_dir.path(), identity)
                                                                : std::optional<std::string>("its config.yaml is missing");
  }
  if (other_run) {
    if (!config.output.overwrite) {
      throw ConfigError::for_key("output.dir", run_dir.path() + " holds the files of another run (" + *other_run +
                                                   "); set output.overwrite=true to replace them, or choose another "
                                                   "output.dir");
    }
    log_rank0("output.overwrite: removing the files of the run in " + run_dir.path() + " (" + *other_run + ")");
    run_dir.remove_run_files();
    holds_run = false;
  }
  if (explicit_checkpoint) {
    return resume_plan(CheckpointStore::load(resume), identity);
  }
  if (!holds_run) return plan;
  // An earlier run of this same configuration.
  if (resume == "never") {
    if (!config.output.overwrite) {
      throw ConfigError::for_key("checkpoint.resume", "'never', but " + run_dir.path() +
                                                          " holds an earlier run of this configuration; "
                                                          "checkpoint.resume=auto continues it, output.overwrite=true "
                                                          "starts it again");
    }
    run_dir.remove_run_files();
    return plan;
  }
  if (std::filesystem::exists(run_dir.summary_path())) {
    plan.kind = StartPlan::kFinished;
    plan.summary = read_file(run_dir.summary_path(), "run summary");
    return plan;
  }
  const CheckpointStore store(run_dir.path(), config.checkpoint.keep);
  if (auto checkpoint = store.load_newest([](const std::string& warning) { log_warning(warning); })) {
    return resume_plan(std::move(*checkpoint), identity);
  }
  log_rank0(run_dir.path() + " holds an earlier start of this run with no checkpoint: starting it again");
  run_dir.remove_run_files();
  return plan;
}

// Rank 0's string on every rank, over the host communicator.
void broadcast_string(dist::Communicator& comm, std::string& text) {
  if (comm.world_size() == 1) return;
  auto size = torch::full({1}, static_cast<int64_t>(text.size()), torch::kInt64);
  comm.broadcast(size, 0, "string size");
  auto bytes = torch::empty({size.item<int64_t>()}, torch::kUInt8);
  if (comm.is_root()) std::memcpy(bytes.data_ptr(), text.data(), text.size());
  comm.broadcast(bytes, 0, "string");
  text.assign(static_cast<const char*>(bytes.data_ptr()), bytes.numel());
}

void share_plan(dist::Communicator& comm, StartPlan& plan) {
  if (comm.world_size() == 1) return;
  auto kind = torch::full({1}, static_cast<int64_t>(plan.kind), torch::kInt64);
  comm.broadcast(kind, 0, "start plan");
  plan.kind = static_cast<StartPlan::Kind>(kind.item<int64_t>());
  if (plan.kind == StartPlan::kResume) {
    broadcast_string(comm, plan.checkpoint_path);
    broadcast_string(comm, plan.checkpoint_meta);
    broadcast_string(comm, plan.checkpoint_state);
  } else if (plan.kind == StartPlan::kFinished) {
    broadcast_string(comm, plan.summary);
  }
}

TrainingState state_of(const StartPlan& plan) {
  TrainingState state;
  state.source = plan.checkpoint_path;
  const auto meta = nlohmann::ordered_json::parse(plan.checkpoint_meta);
  state.values = meta.at("state");
  deserialize_tensors(plan.checkpoint_state, state);
  const auto& t = state.values.at("trainer");
  std::string where = fmt::format("epoch {}, step {} of {}", t.at("epoch").get<int>(),
                                  t.at("step_in_epoch").get<int64_t>(), t.at("steps_per_epoch").get<int64_t>());
  log_rank0("resuming from " + plan.checkpoint_path + " (" + where + ", taken on " +
            std::to_string(t.at("world_size").get<int>()) + " rank(s))");
  return state;
}

RunResult finished_result(const StartPlan& plan, const RunDirectory& run_dir) {
  const RunSummary summary = run_summary_from_json(plan.summary, run_dir.summary_path());
  RunResult result;
  result.already_finished = true;
  result.model = summary.model;
  result.device = summary.device;
  result.best = summary.valid;
  if (summary.test) result.test = *summary.test;
  result.best_epoch = summary.best_epoch;
  result.epochs_run = summary.epochs_run;
  result.steps_per_epoch = summary.steps_per_epoch;
  log_rank0(fmt::format("{} holds this run, finished ({} epochs, best epoch {}: valid MAE {:.5f}); nothing to train. "
                        "To train it again: checkpoint.resume=never output.overwrite=true",
                        run_dir.path(), summary.epochs_run, summary.best_epoch, summary.valid.mae));
  return result;
}

}  // namespace

RunResult run_training(const config::Config& config, dist::ProcessGroup& group,
                       const std::vector<std::shared_ptr<Callback>>& extra) {
  if (!config.blend.members.empty()) {
    throw ConfigError::for_key("blend.members", "this configuration is a blend, which `mlrec_dist --config FILE "
                                                "[--seeds ...]` trains (its members, then the blend), not a sweep or "
                                                "a single run");
  }
  // Before anything that depends on the configuration: every rank runs the same program on the
  // same configuration (ranks of an MPMD launch may not).
  RunIdentity identity = identity_of(config);
  identity.version = program_version();
  {
    std::vector<dist::AgreementItem> items{{"program version", identity.version}};
    for (const auto& [key, value] : identity.config) {
      // Per-node settings: the threads, and where the data and its cache sit (the data's
      // fingerprint is compared).
      if (key != "train.threads" && key != "data.dir" && key != "data.cache_dir") items.push_back({key, value});
    }
    dist::check_ranks_agree(*group.comm, items);
  }
  const RankSetup rank = set_up_rank(config, group);
  dist::Communicator& comm = *group.comm;

  data::LoadedData data = data::load_data(config.data);
  // The memory the data takes, before the model's: every rank's share, summed.
  const ResidentMemory data_memory = resident_memory();
  auto pss = torch::full({1}, data_memory.pss_bytes, torch::kInt64);
  comm.host().all_reduce_sum(pss, "data memory");
  identity.data = data::data_fingerprint(data);
  // By fingerprint only: each host may read its own copy (data.dir may differ between ranks).
  dist::check_ranks_agree(comm, {{"data fingerprint", identity.data}});
  torch::manual_seed(static_cast<uint64_t>(config.train.seed));
  models::RatingModelPtr model = models::make_model(config.model, data.info);
  // The checks that need the data and the model, before anything is written.
  check_batching(config.train, data.train.size(), comm.world_size(), *model);
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  log_rank0("model " + config.model.name + ": " + with_commas(parameters) + " parameters on " + rank.where + ", " +
            std::to_string(comm.world_size()) + " rank(s), global batch " + std::to_string(config.train.batch_size));

  // The run directory: locked for this run, then checked (resume, fresh, or finished). Nothing
  // is written before this point, so bad input leaves no run directory behind.
  const RunDirectory run_dir(config.output.dir, comm.is_root());
  const auto lock = run_dir.lock();
  StartPlan plan;
  if (comm.is_root()) {
    plan = plan_start(config, run_dir, identity);
    if (const int removed = run_dir.remove_temporaries()) {
      log_rank0("removed " + std::to_string(removed) + " temporary file(s) left by an interrupted run");
    }
  }
  share_plan(comm.host(), plan);
  if (plan.kind == StartPlan::kFinished) return finished_result(plan, run_dir);
  run_dir.create(config::to_yaml(config), data::to_json(data.ids));
  const std::string checkpoint = config.output.save_checkpoint ? run_dir.best_weights_path() : "";

  data.to(rank.device);
  Trainer trainer(model, config.train, comm, rank.device, int64_t(config.dist.bucket_mb) << 20);
  if (plan.kind == StartPlan::kResume) trainer.resume_from(state_of(plan));
  const RankingWhen ranking = ranking_when(config.train, *model);
  // The seen items go to the device only where something is ranked.
  const RankingInput valid_ranking = ranking == RankingWhen::kOff
                                         ? RankingInput{}
                                         : RankingInput{data.seen_before_valid.to(rank.device), data.info.num_movies};
  if (ranking == RankingWhen::kEpoch) trainer.rank_validation(valid_ranking);

  RunResult result;
  result.model = config.model.name;
  result.device = rank.where;
  result.data_seconds = data.seconds;
  result.data_rss_bytes = data_memory.rss_bytes;
  result.data_pss_bytes_all_ranks = pss.item<int64_t>();
  if (model->trainable()) {
    fit_model(config, trainer, data, run_dir, checkpoint, identity, extra, result);
  } else {
    fit_without_gradients(*model, trainer, data, run_dir, checkpoint, ranking == RankingWhen::kOff ? nullptr : &valid_ranking,
                 result);
  }
  result.steps_per_epoch = trainer.steps_per_epoch();
  if (ranking == RankingWhen::kFinal && model->trainable()) {
    // The selected model (the best epoch's weights, reloaded), ranked once; its error metrics
    // are those of its epoch, recomputed here only as a by-product.
    const Metrics ranked = trainer.evaluate(data.valid, &valid_ranking);
    result.best.ranking_k = ranked.ranking_k;
    result.best.hr = ranked.hr;
    result.best.ndcg = ranked.ndcg;
    log_rank0(fmt::format("selected model, validation ranking: HR@{} {:.5f} NDCG@{} {:.5f}", ranked.ranking_k,
                          ranked.hr, ranked.ranking_k, ranked.ndcg));
  }

  // The test set is scored once, for the selected model (the best epoch's weights, reloaded):
  // no decision above has seen it.
  if (data.test.size() > 0) {
    RankingInput test_ranking;
    if (ranking != RankingWhen::kOff) test_ranking = {data.seen_before_test.to(rank.device), data.info.num_movies};
    result.test = trainer.evaluate(data.test, ranking == RankingWhen::kOff ? nullptr : &test_ranking);
    log_rank0("test (selected model, scored once): " + metrics_text(result.test));
  }

  run_dir.write_summary(make_summary(config, data, identity.data, result, parameters, comm));
  log_rank0("run directory: " + run_dir.path());
  return result;
}

}  // namespace mlrec::train
