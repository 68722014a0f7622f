#include "mlrec/train/adamw.h"

#include <stdexcept>
#include <string>

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

ops::AdamWTensors FusedAdamW::with_gradients() const {
  ops::AdamWTensors t;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto& grad = parameters_[i].grad();
    if (!grad.defined()) continue;
    t.params.push_back(parameters_[i]);
    t.grads.push_back(grad);
    t.exp_avgs.push_back(exp_avg_[i]);
    t.exp_avg_sqs.push_back(exp_avg_sq_[i]);
    t.steps.push_back(steps_[i]);
  }
  return t;
}

void FusedAdamW::step(double lr, double beta1) {
  torch::NoGradGuard no_grad;
  auto t = with_gradients();
  if (t.params.empty()) return;
  // The kernel reads the step count (for the bias corrections) but does not advance it: as
  // torch.optim.AdamW(fused=True) does, count this step first.
  at::_foreach_add_(t.steps, 1);
  at::_fused_adamw_(t.params, t.grads, t.exp_avgs, t.exp_avg_sqs, /*max_exp_avg_sqs=*/{}, t.steps, lr, beta1, beta2_,
                    weight_decay_, eps_, /*amsgrad=*/false, /*maximize=*/false);
}

void FusedAdamW::step(DeviceSchedule& schedule) {
  auto t = with_gradients();
  ops::scheduled_adamw_(t, schedule.settings(), schedule.steps_taken_tensor(), beta2_, eps_, weight_decay_);
}

bool FusedAdamW::steps_on_device() const { return ops::scheduled_adamw_on_device(parameters_); }

DeviceSchedule::DeviceSchedule(const Schedule& schedule, int64_t total_steps, const torch::Device& device) {
  if (total_steps < 1 || total_steps > kMaxSteps) {
    throw std::invalid_argument("a device schedule holds 1 to " + std::to_string(kMaxSteps) + " steps, not " +
                                std::to_string(total_steps));
  }
  auto host = torch::empty({total_steps, 2}, torch::kFloat32);
  auto values = host.accessor<float, 2>();
  for (int64_t s = 0; s < total_steps; ++s) {
    const StepSettings at = schedule.at(s);
    values[s][0] = static_cast<float>(at.lr);
    values[s][1] = static_cast<float>(at.beta1);
  }
  settings_ = host.to(device);
  steps_taken_ = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
}

void DeviceSchedule::seek(int64_t step) {
  if (step < 0 || step > total_steps()) {
    throw std::out_of_range("step " + std::to_string(step) + " is outside the schedule's " +
                            std::to_string(total_steps()) + " steps");
  }
  steps_taken_.fill_(static_cast<double>(step));
}

int64_t DeviceSchedule::steps_taken() const { return static_cast<int64_t>(steps_taken_.item<float>()); }

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
