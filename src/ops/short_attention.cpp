#include "mlrec/ops/short_attention.h"

#include <torch/torch.h>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <cmath>

#include "mlrec/ops/cuda_kernels.h"
#include "ops/cpu/short_attention_kernels.h"
#include "ops/cuda/short_attention_kernels.h"
#include "ops/hash_mask.h"

namespace mlrec::ops {

namespace {

class ShortAttentionFunction : public torch::autograd::Function<ShortAttentionFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& qkv,
                               const torch::Tensor& pad_mask, int64_t heads, double dropout_p) {
    const double scale = 1.0 / std::sqrt(double(qkv.size(2) / 3 / heads));
    auto [out, probs, rng_used] =
        detail::short_attention_forward_cuda(qkv, pad_mask.contiguous(), heads, dropout_p, scale);
    ctx->save_for_backward({qkv, probs, rng_used});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["dropout_p"] = dropout_p;
    ctx->saved_data["scale"] = scale;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto grad_qkv = detail::short_attention_backward_cuda(
        grads[0], saved[0], saved[1], saved[2], ctx->saved_data["heads"].toInt(),
        ctx->saved_data["dropout_p"].toDouble(), ctx->saved_data["scale"].toDouble());
    return {grad_qkv, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// The first version of the CUDA kernels (ShortAttentionCuda::kV1), float32.
class ShortAttentionV1Function : public torch::autograd::Function<ShortAttentionV1Function> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& qkv,
                               const torch::Tensor& pad_mask, int64_t heads, double dropout_p) {
    const double scale = 1.0 / std::sqrt(double(qkv.size(2) / 3 / heads));
    auto [out, probs, dropped] =
        detail::short_attention_v1_forward_cuda(qkv, pad_mask.contiguous(), heads, dropout_p, scale);
    ctx->save_for_backward({qkv, probs, dropped});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["dropout_p"] = dropout_p;
    ctx->saved_data["scale"] = scale;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto grad_qkv = detail::short_attention_v1_backward_cuda(
        grads[0], saved[0], saved[1], saved[2], ctx->saved_data["heads"].toInt(),
        ctx->saved_data["dropout_p"].toDouble(), ctx->saved_data["scale"].toDouble());
    return {grad_qkv, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

namespace {

// The CPU path: at::parallel_for over samples, each running all heads (short_attention_cpu_kernels).
class ShortAttentionCpuFunction : public torch::autograd::Function<ShortAttentionCpuFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& qkv,
                               const torch::Tensor& pad_mask, int64_t heads, double dropout_p) {
    const int64_t batch = qkv.size(0), length = qkv.size(1), dim = qkv.size(2) / 3, head_dim = dim / heads;
    const auto scale = static_cast<float>(1.0 / std::sqrt(double(head_dim)));
    const auto dropout = hash_mask::draw(dropout_p);
    const auto padded = pad_mask.to(torch::kBool).contiguous();
    auto out = torch::empty({batch, length, dim}, qkv.options());
    // The weights before dropout, kept for backward: [B, heads, L, L] (key-major), 4.9 MB for
    // the BST's batch, less than recomputing them costs.
    auto weights = torch::empty({batch, heads, length, length}, qkv.options());
    const float* in = qkv.data_ptr<float>();
    const bool* pad = padded.data_ptr<bool>();
    float* o = out.data_ptr<float>();
    float* w = weights.data_ptr<float>();
    const ShortAttentionShape shape{length, heads, head_dim};
    at::parallel_for(0, batch, 16, [&](int64_t begin, int64_t end) {
      short_attention_cpu_forward(shape, begin, end, in, pad, scale, dropout, o, w);
    });
    ctx->save_for_backward({qkv, weights});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["scale"] = static_cast<double>(scale);
    hash_mask::save(ctx, dropout);
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& qkv = saved[0];
    const auto& weights = saved[1];
    const int64_t heads = ctx->saved_data["heads"].toInt();
    const int64_t batch = qkv.size(0), length = qkv.size(1), dim = qkv.size(2) / 3, head_dim = dim / heads;
    const auto scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    const auto dropout = hash_mask::load(ctx);
    const auto grad_out = grads[0].contiguous();
    auto grad_qkv = torch::empty_like(qkv);
    const float* in = qkv.data_ptr<float>();
    const float* w = weights.data_ptr<float>();
    const float* go = grad_out.data_ptr<float>();
    float* gi = grad_qkv.data_ptr<float>();
    const ShortAttentionShape shape{length, heads, head_dim};
    at::parallel_for(0, batch, 16, [&](int64_t begin, int64_t end) {
      short_attention_cpu_backward(shape, begin, end, in, w, go, scale, dropout, gi);
    });
    return {grad_qkv, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

bool cpu_supports(const at::Tensor& qkv, int64_t heads) {
  const bool type = qkv.scalar_type() == at::kFloat || qkv.scalar_type() == at::kBFloat16;
  if (!qkv.device().is_cpu() || !type || qkv.dim() != 3 || heads < 1 || qkv.size(2) % (3 * heads) != 0) {
    return false;
  }
  const int64_t length = qkv.size(1);
  // The dropout counter of every (sample, head, query, key) must fit 32 bits.
  return length >= 1 && length <= kShortAttentionCpuMaxLength &&
         qkv.size(0) * heads * length * length < (int64_t(1) << 32);
}

}  // namespace


bool short_attention_supports(const at::Tensor& qkv, int64_t heads) {
  if (cpu_supports(qkv, heads)) return true;
  if (!qkv.is_cuda() || !cuda_kernels_run_on(qkv.get_device()) || qkv.dim() != 3 || heads < 1 ||
      qkv.size(2) % (3 * heads) != 0) {
    return false;
  }
  const int64_t length = qkv.size(1), dim = qkv.size(2) / 3;
  return length >= 1 && length <= detail::kShortAttentionMaxLength &&
         detail::short_attention_shared_bytes(length, dim, heads) <= 48 * 1024;
}

at::Tensor short_attention(const at::Tensor& qkv, const at::Tensor& pad_mask, int64_t heads, double dropout_p,
                           ShortAttentionCuda cuda) {
  RECORD_FUNCTION("mlrec::short_attention", std::vector<c10::IValue>({qkv}));
  if (cpu_supports(qkv, heads)) {
    // bf16 (the input projection's output under bf16 autocast) computed in float32 and returned
    // in bf16: the output projection would cast it so anyway.
    return ShortAttentionCpuFunction::apply(qkv.to(torch::kFloat32).contiguous(), pad_mask, heads, dropout_p)
        .to(qkv.scalar_type());
  }
  TORCH_CHECK(short_attention_supports(qkv, heads), "short attention: unsupported input (",
              cuda_kernels_built() ? "needs CUDA, <= 32 tokens, a small model" : "built without CUDA kernels",
              ")");
  if (cuda == ShortAttentionCuda::kV1) {
    return ShortAttentionV1Function::apply(qkv.to(torch::kFloat32).contiguous(), pad_mask, heads, dropout_p);
  }
  // bf16 (the input projection's output under bf16 autocast) stays bf16: the kernels compute in
  // float32 and write the output and the gradient in bf16, where a conversion each way would.
  const auto type = qkv.scalar_type() == at::kBFloat16 ? at::kBFloat16 : at::kFloat;
  return ShortAttentionFunction::apply(qkv.to(type).contiguous(), pad_mask, heads, dropout_p);
}

}  // namespace mlrec::ops
