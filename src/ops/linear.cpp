#include "mlrec/ops/linear.h"

#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>

#include "mlrec/ops/cuda_kernels.h"
#include "ops/cuda/column_sums_kernels.h"
#include "ops/linear_cuda.h"

namespace mlrec::ops {

namespace detail {

std::optional<at::ScalarType> cuda_linear_type(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!x.is_cuda() || !cuda_kernels_run_on(x.get_device()) || x.dim() < 1 || !bias.defined() ||
      weight.scalar_type() != at::kFloat || bias.scalar_type() != at::kFloat) {
    return std::nullopt;
  }
  if (at::autocast::is_autocast_enabled(at::kCUDA)) {
    // (an earlier bf16 layer's output may arrive as x)
    const bool bf16 = at::autocast::get_autocast_dtype(at::kCUDA) == at::kBFloat16 &&
                      (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16);
    return bf16 ? std::optional<at::ScalarType>(at::kBFloat16) : std::nullopt;
  }
  return x.scalar_type() == at::kFloat ? std::optional<at::ScalarType>(at::kFloat) : std::nullopt;
}

at::Tensor linear_forward_cuda(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                               at::ScalarType type, LinearProduct& product) {
  product.input_sizes = x.sizes().vec();
  product.input_type = x.scalar_type();
  // The casts autocast would make (no-ops in float32); the product then runs in `type` whether
  // autocast is on or not.
  product.rows = x.reshape({-1, x.size(-1)}).to(type);
  product.weight = weight.to(type);
  return at::addmm(bias.to(type), product.rows, product.weight.t());
}

std::pair<at::Tensor, at::Tensor> linear_backward_cuda(const at::Tensor& grad_rows, const LinearProduct& product,
                                                       bool input_needed, bool weight_needed) {
  const auto type = product.weight.scalar_type();
  const auto grad = grad_rows.to(type).contiguous();
  // A bf16 product whose result is wanted in float32 (W's gradient always, x's where x was
  // float32) writes float32 from cuBLAS's float accumulators: not rounded to bf16 and then
  // converted by a kernel of its own (what that cost: BENCHMARKS.md, "Why each kernel exists").
  const auto product_in = [type](const at::Tensor& a, const at::Tensor& b, at::ScalarType wanted) {
    return wanted == type ? at::mm(a, b) : at::mm(a, b, wanted);
  };
  at::Tensor grad_x, grad_weight;
  if (input_needed) grad_x = product_in(grad, product.weight, product.input_type).view(product.input_sizes);
  if (weight_needed) grad_weight = product_in(grad.t(), product.rows, at::kFloat);
  return {grad_x, grad_weight};
}

void save_linear_product(torch::autograd::AutogradContext* ctx, const LinearProduct& product,
                         std::vector<at::Tensor> more) {
  more.insert(more.begin(), {product.rows, product.weight});
  ctx->save_for_backward(more);
  ctx->saved_data["input_sizes"] = product.input_sizes;
  ctx->saved_data["input_type"] = static_cast<int64_t>(product.input_type);
}

LinearProduct saved_linear_product(torch::autograd::AutogradContext* ctx, const std::vector<at::Tensor>& saved) {
  return {saved[0], saved[1], ctx->saved_data["input_sizes"].toIntVector(),
          static_cast<at::ScalarType>(ctx->saved_data["input_type"].toInt())};
}

std::vector<int64_t> output_sizes(const LinearProduct& product, int64_t out) {
  auto sizes = product.input_sizes;
  sizes.back() = out;
  return sizes;
}

}  // namespace detail

namespace {

class LinearCuda : public torch::autograd::Function<LinearCuda> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, int64_t type) {
    detail::LinearProduct product;
    auto y = detail::linear_forward_cuda(x, weight, bias, static_cast<at::ScalarType>(type), product);
    detail::save_linear_product(ctx, product);
    return y.view(detail::output_sizes(product, weight.size(0)));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto product = detail::saved_linear_product(ctx, ctx->get_saved_variables());
    const auto grad = grads[0].reshape({-1, product.weight.size(0)}).to(product.weight.scalar_type()).contiguous();
    auto [grad_x, grad_weight] =
        detail::linear_backward_cuda(grad, product, ctx->needs_input_grad(0), ctx->needs_input_grad(1));
    torch::Tensor grad_bias;
    if (ctx->needs_input_grad(2)) grad_bias = detail::column_sums_cuda(grad);  // float32, as the bias
    return {grad_x, grad_weight, grad_bias, torch::Tensor()};
  }
};

}  // namespace


torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                     bool use_kernels) {
  RECORD_FUNCTION("mlrec::linear", std::vector<c10::IValue>({x, weight}));
  if (use_kernels) {
    if (const auto type = detail::cuda_linear_type(x, weight, bias)) {
      return LinearCuda::apply(x, weight, bias, static_cast<int64_t>(*type));
    }
  }
  return at::linear(x, weight, bias);
}

}  // namespace mlrec::ops
