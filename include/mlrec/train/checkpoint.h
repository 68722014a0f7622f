// Model state: in-memory snapshots (for reloading the best epoch) and checkpoint files.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace mlrec::train {

/// Parameters and buffers by name, as a state_dict.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// A detached copy of the module's parameters and buffers (on their current device).
StateDict capture_state(const torch::nn::Module& module);
/// Copies `state` into the module's parameters and buffers; names and shapes must match.
void restore_state(torch::nn::Module& module, const StateDict& state);

/// Writes the module's state to `path` atomically (a temporary file, then a rename).
void save_checkpoint(const torch::nn::Module& module, const std::string& path);
/// Loads a checkpoint written by save_checkpoint, mapping its tensors onto `device` (the rank's
/// own device, never GPU 0 for all). Throws InputError naming the file on a missing file or
/// a mismatch with the model.
void load_checkpoint(torch::nn::Module& module, const std::string& path, const torch::Device& device);

}  // namespace mlrec::train
