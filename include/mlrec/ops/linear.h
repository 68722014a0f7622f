// x W^T + b for the sequence models' linear layers (model.linear). On CUDA, for float32 inputs
// without autocast and under bf16 autocast (float32 parameters), mlrec's version: the same
// GEMMs as ATen's linear (forward addmm, whose cuBLASLt epilogue adds the bias; backward two
// mm), with the bias gradient summed by mlrec's column-sum kernel
// (src/ops/cuda/column_sums_kernels.cu) instead of torch's reduction, several times slower than
// these sums need (BENCHMARKS.md, "Why each kernel exists"). Elsewhere ATen's linear, which
// flattens leading dimensions into one addmm as Python's nn.Linear does.
#pragma once

#include <torch/torch.h>

namespace mlrec::ops {

/// A layer's weight and bias as bf16 copies that Bf16Copies cast for this forward; undefined
/// where there are none, and the product casts its parameters itself.
struct Bf16Copy {
  torch::Tensor weight, bias;
};

/// bf16 copies of a model's linear layers' parameters for bf16 autocast on CUDA with mlrec's
/// linear kernels, cast together at the start of each forward by one multi-tensor launch
/// (at::_foreach_copy_), where each product would cast its weight and its bias by a kernel of its
/// own: 16 launches of the BST's bf16 step (BENCHMARKS.md). The products read the same bf16
/// values either way. A copy may be wider than its weight (the MLP's first layer, zero-padded to
/// aligned rows): its leading columns hold the weight, the rest stay zero.
class Bf16Copies {
 public:
  /// Registers a layer's float32 weight [out, in] and bias [out]; `columns` > in widens the
  /// weight's copy. Returns the layer's index.
  size_t add(const torch::Tensor& weight, const torch::Tensor& bias, int64_t columns = 0);
  /// Casts every layer's parameters into their copies where `active` (bf16_copies_apply), else
  /// leaves the copies stale.
  void refresh(bool active);
  /// Layer `index`'s copies where refresh cast them for this forward, else undefined ones.
  Bf16Copy operator[](size_t index) const;

 private:
  struct Layer {
    torch::Tensor weight, bias, weight_copy, bias_copy;
    int64_t columns;
  };
  std::vector<Layer> layers_;
  bool fresh_ = false;
};

/// Whether a forward on `x` runs its linear layers in bf16 through mlrec's kernels
/// (`use_kernels`), so that Bf16Copies serve them: bf16 autocast on, x on a CUDA device the
/// kernels have code for.
bool bf16_copies_apply(const torch::Tensor& x, bool use_kernels);

/// x [..., in] W^T [in, out] + b [out]; through mlrec's backward where `use_kernels` and x,
/// weight and bias are float32 CUDA tensors, with autocast off or in bf16 (x may then be bf16:
/// the product runs in bf16 and the output is bf16, as autocast runs at::linear). Under bf16
/// the product takes `copy`'s tensors where defined instead of casting weight and bias; a copy
/// wider than weight (Bf16Copies::add's `columns`) takes x as wide as the copy, and the weight's
/// gradient is the leading columns of the wide product's.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                     bool use_kernels, const Bf16Copy& copy = {});

}  // namespace mlrec::ops
