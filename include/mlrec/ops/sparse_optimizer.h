// The row updates of the sparse embedding optimizers (train/sparse_embedding_optimizer.h) as
// operators: on the CPU (float32) one pass over the touched rows in place (ops/cpu/); elsewhere
// the same arithmetic as tensor ops (gather the rows, update, scatter them back).
#pragma once

#include <torch/types.h>

namespace mlrec::ops {

/// AdamW's update of `rows` (distinct) of `table` and its moments, from their gradients `grad`
/// ([rows, dim]); `step` is the table's step count including this one.
struct AdamRowStep {
  double lr, beta1, beta2, eps, weight_decay, step;
};
void lazy_adam_rows_(torch::Tensor& table, torch::Tensor& exp_avg, torch::Tensor& exp_avg_sq, const torch::Tensor& rows,
                     const torch::Tensor& grad, const AdamRowStep& step);

/// Row-wise AdaGrad on `rows` (distinct): row_sums[r] += mean(g^2), then the row moves by
/// lr * g / (sqrt(row_sums[r]) + eps), after a decoupled weight decay.
void rowwise_adagrad_rows_(torch::Tensor& table, torch::Tensor& row_sums, const torch::Tensor& rows,
                           const torch::Tensor& grad, double lr, double eps, double weight_decay);

}  // namespace mlrec::ops
