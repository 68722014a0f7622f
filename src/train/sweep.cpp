#include "mlrec/train/sweep.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/stop_signal.h"
#include "mlrec/train/run.h"
#include "mlrec/train/run_identity.h"

namespace mlrec::train {
namespace {

// Before any trial trains: every trial's configuration is loaded, so that a bad key fails the
// sweep at once, and the folders of the trials to run are checked. One holding a run of another
// configuration means the sweep's settings changed since it ran; trial by trial, each would be
// refused ("holds the files of another run") and recorded as failed inside the other run's
// folder, and the report would label the old results with the new settings: the whole sweep is
// refused instead.
void check_trials(const config::SweepSpec& spec, const std::vector<std::string>& extra_overrides,
                  const std::vector<size_t>& to_run) {
  for (size_t i = 0; i < spec.trials.size(); ++i) {
    const config::Config config = config::load_config(spec.base, spec.trial_run_overrides(i, extra_overrides));
    if (config.output.overwrite || std::find(to_run.begin(), to_run.end(), i) == to_run.end()) continue;
    if (const auto difference = difference_from_run_in(spec.trial_dir(i), identity_of(config))) {
      throw ConfigError(fmt::format(
          "sweep output {}: trial {} ({}) holds a run of another configuration ({}): the sweep's settings changed "
          "since it ran; give the sweep another output folder, or --set output.overwrite=true to replace such runs",
          spec.output, i, spec.trial_dir(i), *difference));
    }
  }
}

}  // namespace

void run_sweep_trials(const config::SweepSpec& spec, const std::vector<std::string>& extra_overrides,
                      dist::ProcessGroup& group, bool retry_failed, const std::vector<size_t>& only) {
  namespace fs = std::filesystem;
  std::vector<size_t> trials = only;
  if (trials.empty()) {
    for (size_t i = 0; i < spec.trials.size(); ++i) trials.push_back(i);
  }
  check_trials(spec, extra_overrides, trials);  // every rank alike: they all refuse, or none
  if (group.rank == 0) fs::create_directories(spec.output);
  // Each trial is a one-rank run: this rank alone, its share of the host's cores.
  dist::ProcessGroup alone;
  alone.host = group.host;
  alone.local_size = group.local_size;
  alone.comm = dist::make_local_communicator();

  log_rank0(fmt::format("sweep: {} of {} trials of {} over {} rank(s), into {}", trials.size(), spec.trials.size(),
                        spec.base, group.world_size, spec.output));
  std::optional<StopRequested> stopped;
  size_t stopped_trial = 0;
  std::optional<LogEveryRankAsRoot> trial_logs(std::in_place);  // each trial is its own one-rank job
  for (size_t k = static_cast<size_t>(group.rank); k < trials.size(); k += static_cast<size_t>(group.world_size)) {
    const size_t i = trials[k];
    const std::string dir = spec.trial_dir(i);
    const std::string settings = spec.trial_settings(i, " ");
    const fs::path failed = fs::path(dir) / "failed.txt";
    if (fs::exists(failed)) {
      if (!retry_failed) {
        log_info(fmt::format("trial {} ({}) failed in an earlier run: kept as failed (--retry-failed runs it again)",
                             i, settings));
        continue;
      }
      fs::remove(failed);
    }
    try {
      const config::Config config = config::load_config(spec.base, spec.trial_run_overrides(i, extra_overrides));
      const RunResult result = run_training(config, alone);
      log_info(fmt::format("trial {} ({}): valid MAE {:.5f}{}", i, settings, result.best.mae,
                           result.already_finished ? " (finished in an earlier run)" : ""));
    } catch (const StopRequested& stop) {
      // Not a failure: the trial resumes when the sweep is run again. This rank's other trials
      // wait for that too; the other ranks hear of the stop below.
      log_info(fmt::format("trial {} ({}) stopped by {}{}", i, settings, signal_name(stop.signal()),
                           stop.checkpoint().empty() ? " (no checkpoint: checkpoint.keep is 0)"
                                                     : "; checkpoint: " + stop.checkpoint()));
      stopped = stop;
      stopped_trial = i;
      break;
    } catch (const std::exception& e) {
      // A failed trial is a result too: recorded, and the sweep goes on.
      fs::create_directories(dir);
      write_file_atomic(failed.string(), std::string(e.what()) + "\n");
      log_error(fmt::format("trial {} ({}) failed: {}", i, settings, e.what()));
    }
  }
  trial_logs.reset();
  // Every rank gets here, its trials done or stopped, and learns whether any rank stopped: a
  // rank that stopped and left at once would leave the others waiting here for ever (and
  // MPI_Finalize with them). Trials take as long as they take: no timeout on a slow rank.
  dist::Communicator& host = group.comm->host();
  dist::set_collective_timeout(host, 30 * 24 * 3600.0);
  const auto mine = torch::tensor({stopped ? int64_t{stopped->signal()} : 0, int64_t(stopped_trial)}, torch::kInt64);
  auto all = torch::zeros({group.world_size, 2}, torch::kInt64);
  host.all_gather(mine, all, "sweep end");
  if (stopped) throw *stopped;
  for (int64_t r = 0; r < group.world_size; ++r) {
    if (const int signal = static_cast<int>(all[r][0].item<int64_t>()); signal != 0) {
      const size_t trial = static_cast<size_t>(all[r][1].item<int64_t>());
      throw StopRequested(signal, fmt::format("{} (trial {}, on rank {})", spec.trial_dir(trial), trial, r));
    }
  }
}

}  // namespace mlrec::train
