// The activation types of mlrec's CUDA kernels: float32, and bfloat16 under bf16 autocast.
// Kernels load either as float, compute in float and store back in the tensor's type. With the
// checks of their arguments' types. Private to src/models' .cu files.
#pragma once

#include <ATen/core/Tensor.h>
#include <cuda_bf16.h>

namespace mlrec::ops::detail {

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

/// Throws "<op>: <what> must be a contiguous float CUDA tensor" unless t is one (parameters,
/// statistics).
inline void check_float_cuda(const at::Tensor& t, const char* op, const char* what) {
  TORCH_CHECK(t.is_cuda() && t.scalar_type() == at::kFloat && t.is_contiguous(), op, ": ", what,
              " must be a contiguous float CUDA tensor");
}

/// The same for activations, which may also be bfloat16.
inline void check_activation_cuda(const at::Tensor& t, const char* op, const char* what) {
  TORCH_CHECK(t.is_cuda() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16) && t.is_contiguous(),
              op, ": ", what, " must be a contiguous float32 or bfloat16 CUDA tensor");
}

/// Throws "<op>: <what> is on D, not on E" unless t is on `device`: a kernel handed another
/// device's pointer faults, or reads across the link. Torch's own ops check this; ours must too.
inline void check_device(const at::Tensor& t, const at::Device& device, const char* op, const char* what) {
  TORCH_CHECK(t.device() == device, op, ": ", what, " is on ", t.device(), ", not on ", device);
}

/// check_float_cuda and check_device: a parameter or saved statistic beside the op's input.
inline void check_float_cuda_on(const at::Tensor& t, const at::Device& device, const char* op, const char* what) {
  check_float_cuda(t, op, what);
  check_device(t, device, op, what);
}

/// The dropout seed and offset a forward wrote (two int64 on the device), which its backward
/// reads to draw the same mask.
inline void check_rng_used(const at::Tensor& rng_used, const at::Device& device, const char* op) {
  TORCH_CHECK(rng_used.defined() && rng_used.scalar_type() == at::kLong && rng_used.numel() == 2, op,
              ": backward with dropout needs the forward's seed and offset");
  check_device(rng_used, device, op, "the seed and offset");
}

/// A float32 or bfloat16 tensor's elements, as the device type T (float or __nv_bfloat16).
template <typename T>
T* elements(const at::Tensor& x) {
  return reinterpret_cast<T*>(x.data_ptr());
}

}  // namespace mlrec::ops::detail
