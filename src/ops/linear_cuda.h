// The matrix products of mlrec's CUDA linear layers (ops::linear and the fused feed-forward),
// shared by their autograd functions; internal. Only in builds with mlrec's CUDA kernels.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

namespace torch::autograd {
struct AutogradContext;
}

namespace mlrec::ops::detail {

/// The type mlrec's CUDA linear layers compute x W^T + b in: bfloat16 under bf16 autocast (as
/// autocast runs at::linear), float32 for float32 x without autocast; nothing where they do not
/// apply (another autocast type, another input type), and the caller runs torch's ops.
std::optional<at::ScalarType> cuda_linear_type(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

/// What backward needs of a product: the operands as the product used them.
struct LinearProduct {
  at::Tensor rows;    // x as [rows, in], in the product's type
  at::Tensor weight;  // [out, in], in the product's type
  std::vector<int64_t> input_sizes;
  at::ScalarType input_type;
  int64_t weight_columns;  // the parameter's: fewer than `weight`'s where that is a widened bf16 copy
  bool weight_is_copy = false;  // `weight` is an ops::Bf16Copies buffer, refreshed in place each forward
};

/// Saves `product` for backward: its tensors become saved variables 0 and 1, `more` follow.
void save_linear_product(torch::autograd::AutogradContext* ctx, const LinearProduct& product,
                         std::vector<at::Tensor> more = {});

/// The product save_linear_product saved, from ctx and its saved variables.
LinearProduct saved_linear_product(torch::autograd::AutogradContext* ctx, const std::vector<at::Tensor>& saved);

/// The shape of the layer's output: the input's, with `out` features.
std::vector<int64_t> output_sizes(const LinearProduct& product, int64_t out);

/// x W^T + b as [rows, out] in `type` (bias added by cuBLASLt's epilogue), and what backward
/// needs in `product`. In bf16, weight_copy and bias_copy (ops::Bf16Copies), where defined,
/// stand in for the casts of weight and bias.
at::Tensor linear_forward_cuda(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                               at::ScalarType type, LinearProduct& product, const at::Tensor& weight_copy = {},
                               const at::Tensor& bias_copy = {});

/// The gradients of x (in x's shape and type) and of W (float32, as the weights
/// cuda_linear_type accepts) from the gradient of the output as [rows, out]; an undefined
/// tensor where not `needed`. A bf16 product returns its float32 gradients as cuBLAS
/// accumulated them, not rounded to bf16 on the way; W's is its parameter's columns of the
/// product's (a widened copy's extra columns dropped).
std::pair<at::Tensor, at::Tensor> linear_backward_cuda(const at::Tensor& grad_rows, const LinearProduct& product,
                                                       bool input_needed, bool weight_needed);

}  // namespace mlrec::ops::detail
