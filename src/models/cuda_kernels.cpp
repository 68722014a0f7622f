#include "mlrec/models/cuda_kernels.h"

namespace mlrec::models {

bool cuda_kernels_built() {
#ifdef MLREC_WITH_CUDA_KERNELS
  return true;
#else
  return false;
#endif
}

}  // namespace mlrec::models
