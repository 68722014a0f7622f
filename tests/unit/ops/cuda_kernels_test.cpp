// Whether mlrec's CUDA kernels run on a device is asked of the driver (src/ops/cuda_kernels.cpp).
// Where no GPU is visible (this machine, CI) every answer must be no, without an error escaping:
// the ops then take torch's path. Cuda.MlrecKernelsRunOnTheGpusTheyAreBuiltFor asks on a GPU.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "mlrec/ops/cuda_kernels.h"

namespace mlrec {
namespace {

TEST(CudaKernels, RunOnNoDeviceWhereNoGpuIsVisible) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is visible";
  for (int device : {0, 1, -1, 64, 1000}) EXPECT_FALSE(ops::cuda_kernels_run_on(device)) << device;
  EXPECT_FALSE(ops::cuda_kernels_run_on(0));  // asked again: the cached answer
}

}  // namespace
}  // namespace mlrec
