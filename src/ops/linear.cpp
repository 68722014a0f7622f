#include "mlrec/ops/linear.h"

#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <vector>

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
                               at::ScalarType type, LinearProduct& product, const at::Tensor& weight_copy,
                               const at::Tensor& bias_copy) {
  product.input_sizes = x.sizes().vec();
  product.input_type = x.scalar_type();
  product.weight_columns = weight.size(1);
  // The casts autocast would make (no-ops in float32), or the copies made for this forward; the
  // product then runs in `type` whether autocast is on or not.
  const bool copies = type == at::kBFloat16 && weight_copy.defined() && bias_copy.defined();
  TORCH_CHECK(copies || x.size(-1) == weight.size(1), "linear: x has ", x.size(-1), " features, the weight ",
              weight.size(1));
  product.rows = x.reshape({-1, x.size(-1)}).to(type);
  product.weight = copies ? weight_copy : weight.to(type);
  product.weight_is_copy = copies;
  return at::addmm(copies ? bias_copy : bias.to(type), product.rows, product.weight.t());
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
  if (weight_needed) {
    grad_weight = product_in(grad.t(), product.rows, at::kFloat);
    if (grad_weight.size(1) != product.weight_columns) grad_weight = grad_weight.narrow(1, 0, product.weight_columns);
  }
  return {grad_x, grad_weight};
}

void save_linear_product(torch::autograd::AutogradContext* ctx, const LinearProduct& product,
                         std::vector<at::Tensor> more) {
  // A bf16 copy is refreshed in place by every forward, which bumps its version: saved as a
  // variable, a second forward before this one's backward (gradient checkpointing, two forwards
  // then one loss) would fail autograd's in-place check, though the copy then holds the same
  // values (no optimizer step between a forward and its backward). It is kept aside instead.
  more.insert(more.begin(), {product.rows, product.weight_is_copy ? at::Tensor() : product.weight});
  if (product.weight_is_copy) ctx->saved_data["weight_copy"] = product.weight;
  ctx->save_for_backward(more);
  ctx->saved_data["input_sizes"] = product.input_sizes;
  ctx->saved_data["input_type"] = static_cast<int64_t>(product.input_type);
  ctx->saved_data["weight_columns"] = product.weight_columns;
}

LinearProduct saved_linear_product(torch::autograd::AutogradContext* ctx, const std::vector<at::Tensor>& saved) {
  const bool copy = !saved[1].defined();
  return {saved[0],
          copy ? ctx->saved_data["weight_copy"].toTensor() : saved[1],
          ctx->saved_data["input_sizes"].toIntVector(),
          static_cast<at::ScalarType>(ctx->saved_data["input_type"].toInt()),
          ctx->saved_data["weight_columns"].toInt(),
          copy};
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
                               const torch::Tensor& weight, const torch::Tensor& bias, int64_t type,
                               const torch::Tensor& weight_copy, const torch::Tensor& bias_copy) {
    detail::LinearProduct product;
    auto y = detail::linear_forward_cuda(x, weight, bias, static_cast<at::ScalarType>(type), product, weight_copy,
                                         bias_copy);
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
    return {grad_x, grad_weight, grad_bias, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace


size_t Bf16Copies::add(const torch::Tensor& weight, const torch::Tensor& bias, int64_t columns) {
  TORCH_CHECK(weight.dim() == 2 && bias.dim() == 1 && bias.size(0) == weight.size(0),
              "Bf16Copies: a weight [out, in] and a bias [out]");
  layers_.push_back({weight, bias, {}, {}, std::max(columns, weight.size(1))});
  return layers_.size() - 1;
}

void Bf16Copies::refresh(bool active) {
  fresh_ = active;
  if (!active || layers_.empty()) return;
  torch::NoGradGuard no_grad;  // the copies are not part of the graph: products read them as constants
  std::vector<at::Tensor> sources, copies;
  for (auto& layer : layers_) {
    if (!layer.weight_copy.defined() || layer.weight_copy.device() != layer.weight.device()) {
      const auto options = layer.weight.options().dtype(at::kBFloat16);
      layer.weight_copy = at::zeros({layer.weight.size(0), layer.columns}, options);  // widened columns stay 0
      layer.bias_copy = at::empty(layer.bias.sizes(), options);
    }
    if (layer.columns == layer.weight.size(1)) {
      sources.push_back(layer.weight);
      copies.push_back(layer.weight_copy);
    } else {
      // (a strided target: at::_foreach_copy_ would take its slow path for every pair)
      layer.weight_copy.narrow(1, 0, layer.weight.size(1)).copy_(layer.weight);
    }
    sources.push_back(layer.bias);
    copies.push_back(layer.bias_copy);
  }
  at::_foreach_copy_(copies, sources);
}

Bf16Copy Bf16Copies::operator[](size_t index) const {
  if (!fresh_) return {};
  return {layers_.at(index).weight_copy, layers_.at(index).bias_copy};
}

bool bf16_copies_apply(const torch::Tensor& x, bool use_kernels) {
  return use_kernels && x.is_cuda() && at::autocast::is_autocast_enabled(at::kCUDA) &&
         at::autocast::get_autocast_dtype(at::kCUDA) == at::kBFloat16 && cuda_kernels_run_on(x.get_device());
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                     bool use_kernels, const Bf16Copy& copy) {
  RECORD_FUNCTION("mlrec::linear", std::vector<c10::IValue>({x, weight}));
  if (use_kernels) {
    if (const auto type = detail::cuda_linear_type(x, weight, bias)) {
      return LinearCuda::apply(x, weight, bias, static_cast<int64_t>(*type), copy.weight, copy.bias);
    }
  }
  TORCH_CHECK(!copy.weight.defined() || x.size(-1) == weight.size(1), "linear: x has ", x.size(-1),
              " features, the weight ", weight.size(1), " (a widened bf16 copy needs mlrec's CUDA kernels)");
  return at::linear(x, weight, bias);
}

}  // namespace mlrec::ops
