#include "mlrec/train/sparse_embedding_optimizer.h"

#include <stdexcept>

#include "mlrec/distributed/sparse_grad_exchange.h"
#include "mlrec/ops/sparse_optimizer.h"

namespace mlrec::train {

EmbeddingOptimizerKind embedding_optimizer_kind(const std::string& name) {
  if (name == "lazy_adam") return EmbeddingOptimizerKind::kLazyAdam;
  if (name == "rowwise_adagrad") return EmbeddingOptimizerKind::kRowwiseAdagrad;
  throw std::invalid_argument("no sparse embedding optimizer '" + name + "'");
}

SparseEmbeddingOptimizer::SparseEmbeddingOptimizer(std::vector<torch::Tensor> tables, EmbeddingOptimizerKind kind,
                                                   double beta2, double eps, double weight_decay)
    : tables_(std::move(tables)), kind_(kind), beta2_(beta2), eps_(eps), weight_decay_(weight_decay) {
  torch::NoGradGuard no_grad;
  for (const auto& table : tables_) {
    TORCH_CHECK(table.dim() == 2, "an embedding table is 2-d");
    if (kind_ == EmbeddingOptimizerKind::kLazyAdam) {
      exp_avg_.push_back(torch::zeros_like(table));
      exp_avg_sq_.push_back(torch::zeros_like(table));
    } else {
      exp_avg_.push_back(torch::Tensor());
      exp_avg_sq_.push_back(torch::zeros({table.size(0)}, table.options().dtype(torch::kFloat32)));
    }
    steps_.push_back(torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64)));
  }
}

void SparseEmbeddingOptimizer::step(double lr, double beta1) {
  torch::NoGradGuard no_grad;
  rows_updated_ = 0;
  for (size_t t = 0; t < tables_.size(); ++t) {
    const auto touched = dist::touched_rows(tables_[t]);
    if (touched.rows.numel() == 0) continue;
    rows_updated_ += touched.rows.numel();
    if (kind_ == EmbeddingOptimizerKind::kLazyAdam) lazy_adam(t, touched.rows, touched.values, lr, beta1);
    else rowwise_adagrad(t, touched.rows, touched.values, lr);
  }
}

void SparseEmbeddingOptimizer::lazy_adam(size_t t, const torch::Tensor& rows, const torch::Tensor& grad, double lr,
                                         double beta1) {
  const double step = steps_[t].item<double>() + 1;
  steps_[t].fill_(step);
  ops::lazy_adam_rows_(tables_[t], exp_avg_[t], exp_avg_sq_[t], rows, grad,
                       ops::AdamRowStep{lr, beta1, beta2_, eps_, weight_decay_, step});
}

void SparseEmbeddingOptimizer::rowwise_adagrad(size_t t, const torch::Tensor& rows, const torch::Tensor& grad,
                                               double lr) {
  steps_[t].add_(1);
  ops::rowwise_adagrad_rows_(tables_[t], exp_avg_sq_[t], rows, grad, lr, eps_, weight_decay_);
}

void SparseEmbeddingOptimizer::zero_grad() {
  for (auto& table : tables_) table.mutable_grad() = torch::Tensor();
}

std::vector<std::pair<std::string, torch::Tensor>> SparseEmbeddingOptimizer::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t t = 0; t < tables_.size(); ++t) {
    const std::string index = std::to_string(t);
    if (exp_avg_[t].defined()) out.emplace_back("table_exp_avg/" + index, exp_avg_[t]);
    out.emplace_back(kind_ == EmbeddingOptimizerKind::kLazyAdam ? "table_exp_avg_sq/" + index
                                                                  : "table_row_sum/" + index,
                     exp_avg_sq_[t]);
    out.emplace_back("table_step/" + index, steps_[t]);
  }
  return out;
}

void SparseEmbeddingOptimizer::load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  torch::NoGradGuard no_grad;
  auto mine = this->state();
  TORCH_CHECK(state.size() == mine.size(), "embedding optimizer state has ", state.size(), " tensors, expected ",
              mine.size());
  for (size_t i = 0; i < mine.size(); ++i) {
    TORCH_CHECK(state[i].first == mine[i].first && state[i].second.sizes() == mine[i].second.sizes(),
                "embedding optimizer state '", state[i].first, "' does not fit '", mine[i].first, "'");
    mine[i].second.copy_(state[i].second);
  }
}

}  // namespace mlrec::train
