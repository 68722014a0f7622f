#include "mlrec/distributed/process_group.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "mpi_communicator.h"
#include "mlrec/common/logging.h"

namespace mlrec::dist {
namespace {

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

int env_int(const char* name, int fallback) {
  const char* value = env(name);
  return value ? std::atoi(value) : fallback;
}

bool mpi_is_up() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

std::string hostname() {
  char name[256] = {0};
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

LaunchInfo read_launch_info() {
  LaunchInfo info;
  const bool slurm_task = env("SLURM_PROCID") && env("SLURM_JOB_ID");
  if (env("OMPI_COMM_WORLD_SIZE") || env("PMI_RANK") || env("PMI_SIZE")) {
    info.under_mpi = true;
    info.launcher = "mpirun";
  }
  if (slurm_task && (env("PMIX_RANK") || env("PMI_RANK") || env_int("SLURM_NTASKS", 1) > 1)) {
    // srun starts the ranks itself; MPI finds them through Slurm's PMI/PMIx plugin.
    info.under_mpi = true;
    info.launcher = "srun";
  } else if (!info.under_mpi && env("PMIX_RANK")) {
    info.under_mpi = true;
    info.launcher = "mpirun";
  }
  if (!info.under_mpi) info.launcher = "none";
  info.env_local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", env_int("SLURM_LOCALID", -1));
  return info;
}

ProcessGroup init_process_group(double timeout_seconds) {
  ProcessGroup group;
  const LaunchInfo launch = read_launch_info();
  group.host = hostname();
  group.launcher = launch.launcher;
  if (!launch.under_mpi) {
    group.comm = make_local_communicator();
    return group;
  }
  if (!mpi_is_up()) {
    int provided = 0;
    // The communication thread makes the collectives' calls, while the main thread may call
    // MPI_Abort when a rank fails: several threads in MPI at once.
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    if (provided < MPI_THREAD_MULTIPLE) {
      log_warning("MPI provides thread level " + std::to_string(provided) + " < MPI_THREAD_MULTIPLE");
    }
    // Errors come back as codes we check (and report with the rank) instead of aborting inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &group.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &group.world_size);
  // Ranks sharing this host: the launcher's variable where the host's ranks hold each a value
  // of their own in it, else MPI's own view. An mpirun other than Open MPI's inside a Slurm job
  // leaves every rank the batch step's SLURM_LOCALID (0): every rank would then take GPU 0.
  // (Not required to count from 0: where MPI splits a host finer than the launcher does, e.g.
  // containers with IPC namespaces of their own, the launcher's numbering is the right one.)
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, group.rank, MPI_INFO_NULL, &node);
  int node_rank = 0;
  MPI_Comm_rank(node, &node_rank);
  MPI_Comm_size(node, &group.local_size);
  std::vector<int> env_ranks(static_cast<size_t>(group.local_size));
  int mine = launch.env_local_rank;
  MPI_Allgather(&mine, 1, MPI_INT, env_ranks.data(), 1, MPI_INT, node);
  MPI_Comm_free(&node);
  std::sort(env_ranks.begin(), env_ranks.end());
  const bool env_is_a_numbering =
      env_ranks.front() >= 0 && std::adjacent_find(env_ranks.begin(), env_ranks.end()) == env_ranks.end();
  group.local_rank = env_is_a_numbering ? launch.env_local_rank : node_rank;
  if (!env_is_a_numbering && launch.env_local_rank >= 0 && node_rank == 0) {
    log_warning("the launcher's local rank variable (OMPI_COMM_WORLD_LOCAL_RANK or SLURM_LOCALID) does not number "
                "this host's " + std::to_string(group.local_size) + " ranks apart; using MPI's numbering");
  }
  group.comm = std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, timeout_seconds);
  return group;
}

void set_collective_timeout(Communicator& comm, double timeout_seconds) {
  if (auto* mpi = dynamic_cast<MpiCommunicator*>(&comm)) mpi->set_timeout(timeout_seconds);
}

void abort_job(int code) {
  std::fflush(nullptr);
  if (mpi_is_up()) {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 1) MPI_Abort(MPI_COMM_WORLD, code);
  }
  std::exit(code);
}

void finalize_process_group(ProcessGroup& group) {
  group.comm.reset();  // joins the communication thread and frees its MPI communicators
  if (mpi_is_up()) MPI_Finalize();
}

}  // namespace mlrec::dist
