// Embedding lookups for the models. On CUDA, torch's embedding backward is slow for the small
// batches of a rating model: for up to 3,072 indices it runs one thread block per 32 columns that
// walks all indices in turn, whatever the table's size, and above that a radix sort plus ~15
// more kernels: a large share of the BST and MF steps on an H200 (BENCHMARKS.md, "Why each kernel exists"). The lookup here is the same
// forward (an index select); its backward adds each gradient row into a zeroed table with
// atomic additions: ATen's index_add_ (a fill, its kernel, and a second fill for a padding row),
// or with model.embedding_backward = mlrec one kernel of mlrec's after a memset. The order of
// those additions varies, so CUDA runs are not bit-reproducible (nor were they with torch's
// kernels inside a CUDA graph). On the CPU the module's own lookup is used.
#pragma once

#include <torch/nn/modules/embedding.h>

namespace mlrec::ops {

/// How a lookup's backward builds the table's gradient on CUDA (model.embedding_backward):
/// ATen's index_add_ into a zeroed table, or mlrec's kernel (src/ops/cuda/embedding_kernels.cu:
/// one launch after a memset; vector atomics, and small tables accumulated in shared memory
/// first), where the kernels are built for the GPU. The CPU always takes index_add_.
enum class EmbeddingBackward { kIndexAdd, kMlrec };

/// weight[indices] with a scatter-add backward; rows equal to padding_idx (if >= 0) get no
/// gradient, as nn.Embedding(padding_idx=...) does. Any device.
torch::Tensor scatter_add_embedding(const torch::Tensor& weight, const torch::Tensor& indices,
                                    int64_t padding_idx, EmbeddingBackward backward = EmbeddingBackward::kIndexAdd);

/// table(indices): scatter_add_embedding on CUDA, the module's forward elsewhere and for a table
/// with sparse gradients (options.sparse(), set by train.embedding_optimizer).
torch::Tensor lookup(torch::nn::Embedding& table, const torch::Tensor& indices,
                     EmbeddingBackward backward = EmbeddingBackward::kIndexAdd);

}  // namespace mlrec::ops
