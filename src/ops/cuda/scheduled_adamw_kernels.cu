// AdamW with its lr and beta1 read from device memory, so that a CUDA graph can hold the update.
//
// ATen's fused AdamW (torch.optim.AdamW(fused=True)) takes lr as a tensor but beta1 only as a
// host number, baked into a captured launch; the study's OneCycle schedule changes beta1 every
// step. This is ATen's kernel with that one difference: the same multi-tensor launcher and the
// same per-element arithmetic (ATen's adam_math, from the torch headers mlrec builds against), and
// a functor, written after ATen's FusedAdamMathFunctor, that reads the step's (lr, beta1) from a
// table of the whole schedule at the row the device-side step counter names. Only float32
// parameters are handled: mlrec keeps its parameters in float32 under every precision.
#include "ops/cuda/scheduled_adamw_kernels.h"

#include <ATen/ATen.h>
#include <ATen/native/cuda/fused_adam_utils.cuh>
#include <c10/cuda/CUDAGuard.h>

#include <vector>

#include "ops/cuda/cuda_types.cuh"

namespace mlrec::ops::detail {
namespace {

using at::native::ADAM_MODE;
using at::native::FusedOptimizerTensorListMetadata;
using at::native::kILP;

constexpr int kDepth = 4;  // param, grad, exp_avg, exp_avg_sq (the order adam_math expects)
constexpr int kGradList = 1;

struct ScheduledAdamWFunctor {
  __device__ __forceinline__ void operator()(int64_t chunk_size, FusedOptimizerTensorListMetadata<kDepth>& tl,
                                             const float* settings, const float* steps_taken,
                                             int64_t schedule_steps, double beta2, double weight_decay,
                                             double eps) {
    const auto tensor_loc = tl.block_to_tensor[blockIdx.x];
    const auto chunk_idx = tl.block_to_chunk[blockIdx.x];
    // steps_taken already counts this step. The host never replays past the schedule's end;
    // the clamp only keeps a bug from reading outside the table.
    int64_t row = static_cast<int64_t>(*steps_taken) - 1;
    row = row < 0 ? 0 : (row < schedule_steps ? row : schedule_steps - 1);
    const float lr = settings[2 * row];
    const float beta1 = settings[2 * row + 1];
    const float beta2_f = static_cast<float>(beta2);
    const float step_count = *reinterpret_cast<const float*>(tl.state_steps_addresses[tensor_loc]);
    const float bias_correction1 = 1 - at::native::pow_(beta1, step_count);
    const float bias_correction2_sqrt = std::sqrt(1 - at::native::pow_(beta2_f, step_count));

    float* args[kDepth];
    float r_args[kDepth][kILP];
    const auto n = tl.numel_for_tensor[tensor_loc] - chunk_idx * chunk_size;
    const bool all_aligned = at::native::init_args<kDepth>(args, tl, chunk_idx, chunk_size, tensor_loc);
    auto update = [&] {
      at::native::adam_math<float, float, kDepth, ADAM_MODE::ADAMW, /*amsgrad=*/false>(
          r_args, lr, beta1, beta2_f, static_cast<float>(weight_decay), static_cast<float>(eps),
          /*maximize=*/false, /*grad_scale_ptr=*/nullptr, /*found_inf_ptr=*/nullptr, bias_correction1,
          bias_correction2_sqrt);
    };
    if (n % kILP == 0 && chunk_size % kILP == 0 && all_aligned) {
      for (int64_t i_start = threadIdx.x; i_start * kILP < n && i_start * kILP < chunk_size;
           i_start += blockDim.x) {
#pragma unroll
        for (int i = 0; i < kDepth; i++) at::native::load_store(r_args[i], args[i], 0, i_start);
        update();
#pragma unroll
        for (int i = 0; i < kDepth; i++) {
          if (i != kGradList) at::native::load_store(args[i], r_args[i], i_start, 0);
        }
      }
    } else {
      for (int64_t i_start = 0; i_start < n && i_start < chunk_size; i_start += blockDim.x * kILP) {
        at::native::load_args<kDepth>(r_args, args, i_start, chunk_size, n);
        update();
#pragma unroll
        for (int i = 0; i < kDepth; i++) {
          if (i != kGradList) at::native::store_args(args[i], r_args[i], i_start, chunk_size, n);
        }
      }
    }
  }
};

void check_list(at::TensorList list, size_t size, const char* what) {
  TORCH_CHECK(list.size() == size, "scheduled_adamw: ", size, " parameters but ", list.size(), " ", what);
  for (const auto& t : list) {
    TORCH_CHECK(t.is_cuda() && t.scalar_type() == at::kFloat && t.is_contiguous(), "scheduled_adamw: ", what,
                " must be contiguous float32 CUDA tensors");
  }
}

}  // namespace

void scheduled_adamw_cuda_(at::TensorList params, at::TensorList grads, at::TensorList exp_avgs,
                           at::TensorList exp_avg_sqs, at::TensorList steps, const at::Tensor& settings,
                           const at::Tensor& steps_taken, double beta2, double eps, double weight_decay) {
  if (params.empty()) return;
  check_list(params, params.size(), "parameters");
  check_list(grads, params.size(), "gradients");
  check_list(exp_avgs, params.size(), "first moments");
  check_list(exp_avg_sqs, params.size(), "second moments");
  check_list(steps, params.size(), "step counts");
  TORCH_CHECK(settings.is_cuda() && settings.scalar_type() == at::kFloat && settings.is_contiguous() &&
                  settings.dim() == 2 && settings.size(1) == 2 && settings.size(0) > 0,
              "scheduled_adamw: settings must be a contiguous float32 CUDA tensor [steps, 2]");
  TORCH_CHECK(steps_taken.is_cuda() && steps_taken.scalar_type() == at::kFloat && steps_taken.numel() == 1,
              "scheduled_adamw: steps_taken must be a float32 CUDA scalar");
  // multi_tensor_apply takes each tensor's element count from params: the other lists must match
  // it (state loaded for another model would be read and written out of bounds).
  const at::Device device = params[0].device();
  for (size_t i = 0; i < params.size(); ++i) {
    check_device(params[i], device, "scheduled_adamw", "a parameter");
    for (const auto* list : {&grads, &exp_avgs, &exp_avg_sqs}) {
      TORCH_CHECK((*list)[i].sizes() == params[i].sizes(), "scheduled_adamw: parameter ", i, " is ", params[i].sizes(),
                  " but its gradient or moment is ", (*list)[i].sizes());
      check_device((*list)[i], device, "scheduled_adamw", "a gradient or moment");
    }
    TORCH_CHECK(steps[i].numel() == 1, "scheduled_adamw: one step count per parameter");
    check_device(steps[i], device, "scheduled_adamw", "a step count");
  }
  check_device(settings, device, "scheduled_adamw", "settings");
  check_device(steps_taken, device, "scheduled_adamw", "steps_taken");
  const c10::cuda::CUDAGuard guard(device);
  std::vector<std::vector<at::Tensor>> lists{params.vec(), grads.vec(), exp_avgs.vec(), exp_avg_sqs.vec()};
  at::native::multi_tensor_apply_for_fused_optimizer<kDepth>(
      lists, steps, ScheduledAdamWFunctor(), settings.const_data_ptr<float>(), steps_taken.const_data_ptr<float>(),
      settings.size(0), beta2, weight_decay, eps);
}

}  // namespace mlrec::ops::detail
