// The first half of the transformer's feed-forward block, dropout(gelu(x W^T + b)), as one
// function so that it can run fused (on the CPU and on CUDA).
//
// On the CPU (float32 parameters and input; without autocast, or under bf16 autocast, where the
// product and the pass's output and gradient are bfloat16, computed in float32) the product runs
// as a plain GEMM and the bias add, the exact (erf) GELU and mlrec's hash dropout run as one
// vectorised pass over its [rows, ff_dim] output; backward is one more pass that also sums the bias gradient. Composed of torch's ops,
// the same work is five passes over that output forward and backward (addmm's bias copy, GELU,
// dropout, their backwards) plus the bias-gradient sum: with the BST's ff_dim of 2,048 those
// outputs are 84 MB per step each. Masks are the ones ops::dropout draws (same seed, same
// element order), so the fused and the composed forms train alike.
// On CUDA (float32, or bfloat16 under bf16 autocast, in a build with mlrec's CUDA kernels) the
// bias stays in the GEMM (cuBLASLt's epilogue adds it) and GELU with dropout is one kernel
// forward and one backward, with Philox masks from torch's CUDA generator's seed that backward
// draws again instead of storing them; with mlrec's product (`linear_kernels`) backward's
// kernel also sums the bias gradient. Elsewhere, or with `fused` false, it is at::linear,
// torch::gelu and ops::dropout.
#pragma once

#include <torch/torch.h>

#include "mlrec/ops/linear.h"

namespace mlrec::ops {

/// dropout(gelu(x W^T + b), p) for x [..., in], weight [out, in], bias [out]; dropout only when
/// `training`. GELU is the exact (erf) form, as nn.TransformerEncoderLayer's "gelu". `fused`
/// false runs torch's ops on every device (model.feed_forward = torch). The product goes
/// through ops::linear with `linear_kernels` (model.linear) wherever it is not the CPU's
/// plain GEMM, and with `copy` (ops::Bf16Copies) under bf16.
torch::Tensor linear_gelu_dropout(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                  double p, bool training, bool fused = true, bool linear_kernels = false,
                                  const Bf16Copy& copy = {});

}  // namespace mlrec::ops
