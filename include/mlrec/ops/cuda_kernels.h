// Whether this build has mlrec's own CUDA kernels (src/ops/cuda/*.cu: short attention, GELU +
// dropout, LayerNorm, BatchNorm + Mish, column sums, AdamW on a device schedule). CMake builds them, all or none, where it
// finds a CUDA compiler (MLREC_CUDA_KERNELS); without them every part runs on torch's ops on CUDA.
#pragma once

namespace mlrec::ops {

bool cuda_kernels_built();

/// Whether they run on CUDA device `device`: built, and built for its architecture
/// (MLREC_CUDA_ARCHITECTURES). Where they have no code for a GPU its ops run torch's, and a
/// warning says so once, naming the setting to rebuild with.
bool cuda_kernels_run_on(int device);

}  // namespace mlrec::ops
