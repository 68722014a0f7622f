// Torch-free loops of the sparse embedding optimizers (ops/sparse_optimizer.h): one pass over the
// touched rows, updating each in place. Rows must be distinct (a coalesced gradient's), so that
// callers may split [begin, end) across threads.
#pragma once

#include <cstdint>

namespace mlrec::ops::cpu {

/// AdamW's update with the step's constants folded: p = p * decay - step_size * m / (sqrt(v) /
/// bias2_sqrt + eps), after m += (1 - beta1)(g - m) and v = beta2 v + (1 - beta2) g^2.
struct LazyAdamConstants {
  float decay, one_minus_beta1, beta2, one_minus_beta2, step_size, bias2_sqrt, eps;
};

void lazy_adam_rows(float* param, float* exp_avg, float* exp_avg_sq, const int64_t* rows, const float* grad,
                    int64_t begin, int64_t end, int64_t dim, const LazyAdamConstants& c);

/// Row-wise AdaGrad: sum[r] += mean(g^2); p = p * decay - lr * g / (sqrt(sum[r]) + eps).
void rowwise_adagrad_rows(float* param, float* row_sums, const int64_t* rows, const float* grad, int64_t begin,
                          int64_t end, int64_t dim, float decay, float lr, float eps);

}  // namespace mlrec::ops::cpu
