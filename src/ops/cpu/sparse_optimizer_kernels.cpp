#include "ops/cpu/sparse_optimizer_kernels.h"

#include <cmath>

namespace mlrec::ops::cpu {

// (The inner loops vectorise: restrict pointers, and this file is compiled without errno for
// sqrt, see CMakeLists.txt.)
void lazy_adam_rows(float* param, float* exp_avg, float* exp_avg_sq, const int64_t* rows, const float* grad,
                    int64_t begin, int64_t end, int64_t dim, const LazyAdamConstants& c) {
  for (int64_t i = begin; i < end; ++i) {
    const int64_t offset = rows[i] * dim;
    float* __restrict p = param + offset;
    float* __restrict m = exp_avg + offset;
    float* __restrict v = exp_avg_sq + offset;
    const float* __restrict g = grad + i * dim;
    for (int64_t j = 0; j < dim; ++j) {
      m[j] += c.one_minus_beta1 * (g[j] - m[j]);
      v[j] = v[j] * c.beta2 + c.one_minus_beta2 * g[j] * g[j];
      p[j] = p[j] * c.decay - c.step_size * m[j] / (std::sqrt(v[j]) / c.bias2_sqrt + c.eps);
    }
  }
}

void rowwise_adagrad_rows(float* param, float* row_sums, const int64_t* rows, const float* grad, int64_t begin,
                          int64_t end, int64_t dim, float decay, float lr, float eps) {
  for (int64_t i = begin; i < end; ++i) {
    const int64_t r = rows[i];
    float* __restrict p = param + r * dim;
    const float* __restrict g = grad + i * dim;
    float square = 0;
    for (int64_t j = 0; j < dim; ++j) square += g[j] * g[j];
    row_sums[r] += square / static_cast<float>(dim);
    const float scale = lr / (std::sqrt(row_sums[r]) + eps);
    for (int64_t j = 0; j < dim; ++j) p[j] = p[j] * decay - scale * g[j];
  }
}

}  // namespace mlrec::ops::cpu
