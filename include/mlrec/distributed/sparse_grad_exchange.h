// Data-parallel averaging of embedding tables' sparse gradients (train.embedding_optimizer other
// than dense): only the rows some rank touched travel, not the whole table. The dense tensors
// keep GradientSynchronizer's bucketed all-reduce.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "mlrec/distributed/communicator.h"

namespace mlrec::dist {

/// A table's gradient as the rows it touches (sorted, distinct) and their summed gradients: a
/// sparse gradient coalesced, a dense one (a table read as a slice) as every row, none as no
/// rows. What the exchange sends and the sparse optimizers update.
struct TouchedRows {
  torch::Tensor rows;    // int64 [n]
  torch::Tensor values;  // [n, dim]
};
TouchedRows touched_rows(const torch::Tensor& table);

/// After backward, replaces each table's .grad (this rank's, sparse COO or dense) by the average
/// over ranks: the same sums as the dense all-reduce of the full tables (up to the order of
/// the additions; with two ranks, or sums exact in floating point, identical).
///
/// Per step: one small all-reduce of every rank's touched-row counts (all tables at once); then
/// per table, whichever moves fewer bytes: an all-gather of the touched rows (indices and
/// values, each rank's in a slot as large as the busiest rank's; all such tables in one
/// all-gather of indices and one of values), or the dense all-reduce of the table with a
/// touched-row count per row (a batch touching much of a small table). The result is sparse
/// over the rows some rank touched, either way.
class SparseGradientExchange {
 public:
  SparseGradientExchange(std::vector<torch::Tensor> tables, Communicator& comm);

  /// Exchanges and averages; returns the seconds spent in collectives.
  double exchange();

  /// The size of the buffers of the last exchange()'s collectives on this rank (an all-reduce's
  /// tensor, an all-gather's result); the dense all-reduce of the same tables: dense_bytes().
  int64_t bytes_last_exchange() const { return bytes_; }
  int64_t dense_bytes() const;

 private:
  std::vector<torch::Tensor> tables_;
  Communicator& comm_;
  int64_t bytes_ = 0;
};

}  // namespace mlrec::dist
