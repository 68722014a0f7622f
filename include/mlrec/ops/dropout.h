// Dropout for the models. On the CPU, torch's dropout spends most of its time drawing
// Bernoulli numbers (a third of the BST training step on these machines, profiled); this one
// derives each element's keep/drop decision from a counter-based hash of (a per-call seed drawn
// from torch's default generator, the element's index), in one vectorised pass on torch's
// OpenMP threads that also applies the mask; backward recomputes the mask instead of storing
// it. Reproducible under torch::manual_seed, independent of the thread count. The keep decision
// compares a 32-bit hash with p * 2^32, so the drop probability is p to within 2^-32. On the CPU
// for float32 and bfloat16 tensors (bf16 autocast's); elsewhere torch::dropout.
#pragma once

#include <torch/torch.h>

namespace mlrec::ops {

/// Inverted dropout: zeroes each element with probability p and scales the rest by 1 / (1 - p)
/// when `training`; the identity otherwise.
torch::Tensor dropout(const torch::Tensor& input, double p, bool training);

}  // namespace mlrec::ops
