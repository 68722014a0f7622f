// Part of the build with mlrec's CUDA kernels (src/ops/cuda_stub/ is the build without them).
//
// The kernels are compiled for MLREC_CUDA_ARCHITECTURES only (90 by default: H100/H200). On a GPU
// of another architecture without PTX it can compile (an A100 is 8.0), every launch would fail
// with "no kernel image is available". Whether the driver finds code for a device is asked once,
// of an empty kernel compiled like all the others (as CUB finds its PTX version): a GPU they
// cannot run on gets torch's ops instead.
#include "mlrec/ops/cuda_kernels.h"
#include "ops/cuda/kernel_image.h"

#include <cuda_runtime.h>

namespace mlrec::ops {

bool cuda_kernels_built() { return true; }

namespace detail {
namespace {

__global__ void image_probe() {}

}  // namespace

bool kernel_image_for(int device, std::string* why) {
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess || cudaSetDevice(device) != cudaSuccess) {
    (void)cudaGetLastError();
    if (why) *why = "CUDA device " + std::to_string(device) + " cannot be selected";
    return false;
  }
  cudaFuncAttributes attributes{};
  const cudaError_t found = cudaFuncGetAttributes(&attributes, image_probe);
  cudaSetDevice(previous);
  if (found == cudaSuccess) return true;
  (void)cudaGetLastError();  // the failed query leaves its (non-sticky) error behind
  if (why) {
    int major = 0, minor = 0;
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
    *why = "mlrec's CUDA kernels were built for architectures " MLREC_CUDA_ARCHITECTURES_BUILT
           " (MLREC_CUDA_ARCHITECTURES) and have no code for GPU " + std::to_string(device) +
           " (compute capability " + std::to_string(major) + "." + std::to_string(minor) + ": " +
           cudaGetErrorString(found) + "); torch's ops run there instead. Rebuild with " +
           "-DMLREC_CUDA_ARCHITECTURES=" + std::to_string(major * 10 + minor) + " (or a list) for mlrec's kernels";
  }
  return false;
}

}  // namespace detail
}  // namespace mlrec::ops
