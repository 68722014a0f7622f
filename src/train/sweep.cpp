#include "mlrec/train/sweep.h"

#include <fmt/format.h>

#include <filesystem>

#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/stop_signal.h"
#include "mlrec/train/run.h"

namespace mlrec::train {

void run_sweep_trials(const config::SweepSpec& spec, const std::vector<std::string>& extra_overrides,
                      dist::ProcessGroup& group, bool retry_failed, const std::vector<size_t>& only) {
  namespace fs = std::filesystem;
  if (group.rank == 0) fs::create_directories(spec.output);
  // Each trial is a one-rank run: this rank alone, its share of the host's cores.
  dist::ProcessGroup alone;
  alone.host = group.host;
  alone.local_size = group.local_size;
  alone.comm = dist::make_local_communicator();

  std::vector<size_t> trials = only;
  if (trials.empty()) {
    for (size_t i = 0; i < spec.trials.size(); ++i) trials.push_back(i);
  }
  log_rank0(fmt::format("sweep: {} of {} trials of {} over {} rank(s), into {}", trials.size(), spec.trials.size(),
                        spec.base, group.world_size, spec.output));
  for (size_t k = static_cast<size_t>(group.rank); k < trials.size(); k += static_cast<size_t>(group.world_size)) {
    const size_t i = trials[k];
    const std::string dir = spec.trial_dir(i);
    std::vector<std::string> overrides = spec.trial_overrides(i, extra_overrides);
    overrides.push_back("output.dir=" + dir);
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
      const config::Config config = config::load_config(spec.base, overrides);
      const RunResult result = run_training(config, alone);
      log_info(fmt::format("trial {} ({}): valid MAE {:.5f}{}", i, settings, result.best.mae,
                           result.already_finished ? " (finished in an earlier run)" : ""));
    } catch (const StopRequested&) {
      throw;  // not a failure: the trial resumes when the sweep is run again
    } catch (const std::exception& e) {
      // A failed trial is a result too: recorded, and the sweep goes on.
      fs::create_directories(dir);
      write_file_atomic((fs::path(dir) / "failed.txt").string(), std::string(e.what()) + "\n");
      log_error(fmt::format("trial {} ({}) failed: {}", i, settings, e.what()));
    }
  }
  // Trials take as long as they take: the final barrier must not time out on a slow rank.
  dist::set_collective_timeout(*group.comm, 30 * 24 * 3600.0);
  group.comm->barrier("sweep end");
}

}  // namespace mlrec::train
