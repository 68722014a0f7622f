#include "mlrec/ops/sparse_optimizer.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>

#include "ops/cpu/sparse_optimizer_kernels.h"

namespace mlrec::ops {
namespace {

bool cpu_loop_applies(const torch::Tensor& table, const torch::Tensor& grad) {
  return table.is_cpu() && table.scalar_type() == torch::kFloat32 && grad.scalar_type() == torch::kFloat32 &&
         table.is_contiguous();
}

}  // namespace

void lazy_adam_rows_(torch::Tensor& table, torch::Tensor& exp_avg, torch::Tensor& exp_avg_sq, const torch::Tensor& rows,
                     const torch::Tensor& grad, const AdamRowStep& s) {
  torch::NoGradGuard no_grad;
  const double bias1 = 1 - std::pow(s.beta1, s.step), bias2 = 1 - std::pow(s.beta2, s.step);
  if (cpu_loop_applies(table, grad)) {
    const auto row_index = rows.contiguous();
    const auto values = grad.contiguous();
    const cpu::LazyAdamConstants c{static_cast<float>(1 - s.lr * s.weight_decay), static_cast<float>(1 - s.beta1),
                                   static_cast<float>(s.beta2), static_cast<float>(1 - s.beta2),
                                   static_cast<float>(s.lr / bias1), static_cast<float>(std::sqrt(bias2)),
                                   static_cast<float>(s.eps)};
    const int64_t dim = table.size(1);
    at::parallel_for(0, row_index.numel(), 64, [&](int64_t begin, int64_t end) {
      cpu::lazy_adam_rows(table.data_ptr<float>(), exp_avg.data_ptr<float>(), exp_avg_sq.data_ptr<float>(),
                          row_index.data_ptr<int64_t>(), values.data_ptr<float>(), begin, end, dim, c);
    });
    return;
  }
  // The same arithmetic as torch.optim.AdamW, on the gathered rows.
  auto param = table.index_select(0, rows);
  auto m = exp_avg.index_select(0, rows).lerp_(grad, 1 - s.beta1);
  auto v = exp_avg_sq.index_select(0, rows).mul_(s.beta2).addcmul_(grad, grad, 1 - s.beta2);
  param.mul_(1 - s.lr * s.weight_decay);
  auto denom = (v.sqrt() / std::sqrt(bias2)).add_(s.eps);
  param.addcdiv_(m, denom, -s.lr / bias1);
  table.index_copy_(0, rows, param);
  exp_avg.index_copy_(0, rows, m);
  exp_avg_sq.index_copy_(0, rows, v);
}

void rowwise_adagrad_rows_(torch::Tensor& table, torch::Tensor& row_sums, const torch::Tensor& rows,
                           const torch::Tensor& grad, double lr, double eps, double weight_decay) {
  torch::NoGradGuard no_grad;
  if (cpu_loop_applies(table, grad)) {
    const auto row_index = rows.contiguous();
    const auto values = grad.contiguous();
    const int64_t dim = table.size(1);
    at::parallel_for(0, row_index.numel(), 64, [&](int64_t begin, int64_t end) {
      cpu::rowwise_adagrad_rows(table.data_ptr<float>(), row_sums.data_ptr<float>(), row_index.data_ptr<int64_t>(),
                                values.data_ptr<float>(), begin, end, dim, static_cast<float>(1 - lr * weight_decay),
                                static_cast<float>(lr), static_cast<float>(eps));
    });
    return;
  }
  auto sums = row_sums.index_select(0, rows).add_(grad.to(torch::kFloat32).square().mean(1));
  auto param = table.index_select(0, rows);
  param.mul_(1 - lr * weight_decay);
  param.addcdiv_(grad, (sums.sqrt().add_(eps)).unsqueeze(1).to(param.scalar_type()), -lr);
  table.index_copy_(0, rows, param);
  row_sums.index_copy_(0, rows, sums);
}

}  // namespace mlrec::ops
