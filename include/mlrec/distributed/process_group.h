// The job's ranks: how this process was launched, MPI's lifetime, and the communicator that
// fits the device. Every launcher variable is read here and nowhere else.
#pragma once

#include <memory>
#include <string>

#include "mlrec/distributed/communicator.h"

namespace mlrec::dist {

/// How the process was started, from the environment alone (before MPI is initialised).
struct LaunchInfo {
  bool under_mpi = false;   // mpirun/mpiexec, or srun with an MPI (PMI/PMIx) plugin
  std::string launcher;     // "mpirun", "srun" or "none"
  int env_local_rank = -1;  // OMPI_COMM_WORLD_LOCAL_RANK or SLURM_LOCALID; -1 when neither is set
};
LaunchInfo read_launch_info();

/// This process's place in the job.
struct ProcessGroup {
  int rank = 0, world_size = 1;
  int local_rank = 0, local_size = 1;  // among the ranks on this host
  std::string host;
  std::string launcher;
  std::unique_ptr<Communicator> comm;  // MPI when launched under MPI, else local
};

/// Initialises MPI when the process was launched under it (else a world of one) and returns
/// the group with a CPU (MPI) communicator. Collectives time out after `timeout_seconds`.
ProcessGroup init_process_group(double timeout_seconds);

/// Replaces the group's communicator with one for tensors on `device_index` (NCCL), keeping
/// the previous one (MPI) as its bootstrap: the NCCL unique id travels over MPI. A world of one
/// needs no bootstrap and gets a size-1 NCCL communicator.
void use_nccl(ProcessGroup& group, int device_index, double timeout_seconds);

/// Sets the collective timeout of the group's communicator.
void set_collective_timeout(Communicator& comm, double timeout_seconds);

/// Ends the whole job, every rank, with `code` (MPI_Abort under MPI, else exit).
[[noreturn]] void abort_job(int code);

/// Shuts MPI down cleanly at the end of a successful run (a no-op without MPI).
void finalize_process_group(ProcessGroup& group);

}  // namespace mlrec::dist
