#include "mlrec/train/adamw.h"

namespace mlrec::train {

FusedAdamW::FusedAdamW(std::vector<torch::Tensor> parameters, double beta2, double eps, double weight_decay)
    : beta2_(beta2), eps_(eps), weight_decay_(weight_decay) {
  torch::NoGradGuard no_grad;
  for (auto& p : parameters) {
    if (!p.requires_grad()) continue;
    parameters_.push_back(p);
    exp_avg_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    // Step counts live in float tensors beside the parameters, as the fused kernel reads them.
    steps_.push_back(torch::zeros({}, p.options().dtype(torch::kFloat32)));
  }
}

void FusedAdamW::step(double lr, double beta1) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params, grads, exp_avg, exp_avg_sq, steps;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto& grad = parameters_[i].grad();
    if (!grad.defined()) continue;
    params.push_back(parameters_[i]);
    grads.push_back(grad);
    exp_avg.push_back(exp_avg_[i]);
    exp_avg_sq.push_back(exp_avg_sq_[i]);
    steps.push_back(steps_[i]);
  }
  if (params.empty()) return;
  // The kernel reads the step count (for the bias corrections) but does not advance it: as
  // torch.optim.AdamW(fused=True) does, count this step first.
  at::_foreach_add_(steps, 1);
  at::_fused_adamw_(params, grads, exp_avg, exp_avg_sq, /*max_exp_avg_sqs=*/{}, steps, lr, beta1, beta2_,
                    weight_decay_, eps_, /*amsgrad=*/false, /*maximize=*/false);
}

void FusedAdamW::zero_grad() {
  for (auto& p : parameters_) p.mutable_grad() = torch::Tensor();
}

std::vector<std::pair<std::string, torch::Tensor>> FusedAdamW::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    out.emplace_back("exp_avg/" + std::to_string(i), exp_avg_[i]);
    out.emplace_back("exp_avg_sq/" + std::to_string(i), exp_avg_sq_[i]);
    out.emplace_back("step/" + std::to_string(i), steps_[i]);
  }
  return out;
}

void FusedAdamW::load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  torch::NoGradGuard no_grad;
  auto mine = this->state();
  TORCH_CHECK(state.size() == mine.size(), "optimizer state has ", state.size(), " tensors, expected ", mine.size());
  for (size_t i = 0; i < mine.size(); ++i) {
    TORCH_CHECK(state[i].first == mine[i].first && state[i].second.sizes() == mine[i].second.sizes(),
                "optimizer state '", state[i].first, "' does not fit '", mine[i].first, "'");
    mine[i].second.copy_(state[i].second);
  }
}

}  // namespace mlrec::train
