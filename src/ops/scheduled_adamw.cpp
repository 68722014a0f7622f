#include "mlrec/ops/scheduled_adamw.h"

#include <torch/torch.h>

#include <algorithm>

#include "mlrec/ops/cuda_kernels.h"
#include "ops/cuda/scheduled_adamw_kernels.h"

namespace mlrec::ops {

bool scheduled_adamw_on_device(const std::vector<torch::Tensor>& params) {
  if (params.empty()) return false;
  for (const auto& p : params) {
    if (!p.is_cuda() || !cuda_kernels_run_on(p.get_device()) || p.scalar_type() != torch::kFloat32 ||
        !p.is_contiguous()) {
      return false;
    }
  }
  return true;
}

void scheduled_adamw_(AdamWTensors& t, const torch::Tensor& settings, torch::Tensor& steps_taken, double beta2,
                      double eps, double weight_decay) {
  torch::NoGradGuard no_grad;
  TORCH_CHECK(steps_taken.scalar_type() == torch::kFloat32 && steps_taken.numel() == 1,
              "scheduled_adamw_: steps_taken must be a float32 scalar");
  // One launch for all the counters: the step count of each tensor (read by the bias
  // corrections) and the schedule's position.
  auto counters = t.steps;
  counters.push_back(steps_taken);
  at::_foreach_add_(counters, 1);
  if (t.params.empty()) return;
  if (scheduled_adamw_on_device(t.params)) {
    detail::scheduled_adamw_cuda_(t.params, t.grads, t.exp_avgs, t.exp_avg_sqs, t.steps, settings, steps_taken, beta2,
                                  eps, weight_decay);
    return;
  }
  const int64_t row = std::clamp<int64_t>(static_cast<int64_t>(steps_taken.item<float>()) - 1, 0, settings.size(0) - 1);
  const auto values = settings[row].to(torch::kCPU);
  at::_fused_adamw_(t.params, t.grads, t.exp_avgs, t.exp_avg_sqs, /*max_exp_avg_sqs=*/{}, t.steps,
                    values[0].item<float>(), values[1].item<float>(), beta2, weight_decay, eps, /*amsgrad=*/false,
                    /*maximize=*/false);
}

}  // namespace mlrec::ops
