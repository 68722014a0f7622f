// Embedding lookups for the models. On CUDA, torch's embedding backward is slow for the small
// batches of a rating model: for up to 3,072 indices it runs one thread block per 32 columns that
// walks all indices in turn, whatever the table's size, and above that a radix sort plus ~15
// more kernels: a large share of the BST and MF steps on an H200 (BENCHMARKS.md, "Why each kernel exists"). The lookup here is the same
// forward (an index select); its backward adds each gradient row into a zeroed table with
// atomic additions (index_add_), one kernel. The order of those additions varies, so CUDA runs
// are not bit-reproducible (nor were they with torch's kernels inside a CUDA graph). On the CPU
// the module's own lookup is used.
#pragma once

#include <torch/nn/modules/embedding.h>

namespace mlrec::ops {

/// weight[indices] with a scatter-add backward; rows equal to padding_idx (if >= 0) get no
/// gradient, as nn.Embedding(padding_idx=...) does. Any device.
torch::Tensor scatter_add_embedding(const torch::Tensor& weight, const torch::Tensor& indices,
                                    int64_t padding_idx);

/// table(indices): scatter_add_embedding on CUDA, the module's forward elsewhere and for a table
/// with sparse gradients (options.sparse(), set by train.embedding_optimizer).
torch::Tensor lookup(torch::nn::Embedding& table, const torch::Tensor& indices);

}  // namespace mlrec::ops
