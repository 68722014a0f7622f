// Which element type mlrec's CPU loops (src/ops/cpu, ops/cpu/bf16_elements.h) take for a
// float32 or bfloat16 tensor: float, or uint16_t, bf16's bits. Private to src/ops.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mlrec::ops::elements {

/// The tensor's elements as the loops' type T (float or uint16_t).
template <typename T>
T* of(const at::Tensor& tensor) {
  return static_cast<T*>(tensor.data_ptr());
}

/// Calls f(T*) with the loops' type for a float32 or bfloat16 tensor (the pointer is null: it
/// only carries the type).
template <typename F>
void with_type(const at::Tensor& tensor, F&& f) {
  if (tensor.scalar_type() == at::kBFloat16) {
    f(static_cast<uint16_t*>(nullptr));
  } else {
    f(static_cast<float*>(nullptr));
  }
}

}  // namespace mlrec::ops::elements
