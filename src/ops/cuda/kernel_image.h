// Whether mlrec's CUDA kernels have code for a GPU (src/ops/cuda_kernels.cpp asks); internal.
#pragma once

#include <string>

namespace mlrec::ops::detail {

/// True when the kernels' fat binary holds code that CUDA device `device` runs (SASS of its
/// architecture, or PTX it can compile). Otherwise false, with the reason in `why`.
bool kernel_image_for(int device, std::string* why);

}  // namespace mlrec::ops::detail
