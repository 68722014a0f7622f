// Part of the build with mlrec's CUDA kernels (src/ops/cuda_stub/ is the build without them).
#include "mlrec/ops/cuda_kernels.h"

namespace mlrec::ops {

bool cuda_kernels_built() { return true; }

}  // namespace mlrec::ops
