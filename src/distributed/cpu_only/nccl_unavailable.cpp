// The CPU-only build (cmake/MlrecTorch.cmake, MLREC_CUDA=OFF) has no NCCL: this replaces
// src/distributed/nccl_communicator.cpp there. Nothing reaches it by default (without CUDA the
// device is the CPU and the backend MPI); an explicit dist.backend=nccl gets this error.
#include "mlrec/common/error.h"
#include "mlrec/distributed/process_group.h"

namespace mlrec::dist {

void use_nccl(ProcessGroup&, int, double) {
  throw ConfigError::for_key("dist.backend",
                             "needs the CUDA build of mlrec; this one is CPU-only (built without a CUDA "
                             "toolkit): use dist.backend=mpi, or rebuild where the CUDA 13 toolkit is installed");
}

}  // namespace mlrec::dist
