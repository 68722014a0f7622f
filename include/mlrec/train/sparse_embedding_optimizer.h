// Sparse updates of embedding tables (train.embedding_optimizer), what TorchRec's fused
// embedding optimizers and torch.optim.SparseAdam do: a step touches only the rows its batch
// looked up, so its cost follows the batch, not the table. With the study's dense AdamW every
// step reads and writes every row of every table and its two moments: at 600,000 users that
// is most of an MF step's time, and across ranks the whole table is all-reduced.
//
//   lazy_adam        Adam's moments and update for the touched rows only (SparseAdam, TF's
//                    LazyAdam); the decoupled weight decay too, so an untouched row keeps its
//                    values exactly. One step count per table for the bias corrections.
//   rowwise_adagrad  TorchRec's EXACT_ROWWISE_ADAGRAD: one accumulator per row, the mean of
//                    the row's squared gradient added each time it is touched; the row moves by
//                    lr * g / (sqrt(accumulator) + eps). A float per row of state instead of two
//                    per element: the smallest memory of the three.
//
// The learning rate (and, for lazy Adam, beta1) follow the schedule as for the dense tensors.
// A table whose gradient arrives dense (a table read as a slice, like the BST's positions)
// is updated as if every row were touched.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace mlrec::train {

enum class EmbeddingOptimizerKind { kLazyAdam, kRowwiseAdagrad };

/// "lazy_adam" | "rowwise_adagrad" (the configuration's spelling); throws std::invalid_argument
/// for anything else.
EmbeddingOptimizerKind embedding_optimizer_kind(const std::string& name);

class SparseEmbeddingOptimizer {
 public:
  SparseEmbeddingOptimizer(std::vector<torch::Tensor> tables, EmbeddingOptimizerKind kind, double beta2, double eps,
                           double weight_decay);

  /// Updates the rows of each table that its gradient (sparse COO, or dense) touches.
  void step(double lr, double beta1);
  void zero_grad();

  /// State for a checkpoint by name ("table_exp_avg/0", ...): the tensors themselves.
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  void load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state);

  /// How many rows the last step updated, over all tables (for tests and logs).
  int64_t rows_updated() const { return rows_updated_; }

 private:
  void lazy_adam(size_t table, const torch::Tensor& rows, const torch::Tensor& grad, double lr, double beta1);
  void rowwise_adagrad(size_t table, const torch::Tensor& rows, const torch::Tensor& grad, double lr);

  std::vector<torch::Tensor> tables_;
  EmbeddingOptimizerKind kind_;
  double beta2_, eps_, weight_decay_;
  // lazy_adam: first and second moments (like the table) and a step count per table;
  // rowwise_adagrad: one accumulator per row in `exp_avg_sq_` ([rows]).
  std::vector<torch::Tensor> exp_avg_, exp_avg_sq_, steps_;
  int64_t rows_updated_ = 0;
};

}  // namespace mlrec::train
