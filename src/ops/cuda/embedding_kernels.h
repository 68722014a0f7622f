// The CUDA kernel behind ops::lookup's backward with model.embedding_backward = mlrec
// (src/ops/embedding.cpp); internal.
#pragma once

#include <ATen/core/Tensor.h>

namespace mlrec::ops::detail {

/// The gradient of weight[indices] for a float32 table of `rows` rows: the rows of grad
/// ([..., dim] with indices' shape in front; float32) added into a zeroed [rows, dim] float32
/// table at indices (int32 or int64), rows equal to padding_idx (when >= 0) left zero.
at::Tensor embedding_backward_cuda(const at::Tensor& grad, const at::Tensor& indices, int64_t rows,
                                   int64_t padding_idx);

}  // namespace mlrec::ops::detail
