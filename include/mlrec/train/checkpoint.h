// Model state: in-memory snapshots (for reloading the best epoch) and checkpoint files.
#pragma once

#include <nlohmann/json.hpp>
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

/// Everything a run needs to continue as if never stopped (train/checkpointing.h): scalar state
/// as JSON by owner ("trainer", "early_stopping", ...), tensors by name with the owner as prefix
/// ("model/...", "optimizer/exp_avg/0", "best/...").
struct TrainingState {
  nlohmann::ordered_json values = nlohmann::ordered_json::object();
  std::vector<std::pair<std::string, torch::Tensor>> tensors;

  /// Adds a CPU copy of `tensor` (taken now: training may go on changing the original).
  void add(const std::string& name, const torch::Tensor& tensor);
  /// The tensor called `name`; InputError (naming the checkpoint) when there is none.
  const torch::Tensor& tensor(const std::string& name) const;
  /// The tensor called `name`, or nullptr.
  const torch::Tensor* find(const std::string& name) const;
  /// The tensors whose names start with `prefix`, prefix removed, in order.
  std::vector<std::pair<std::string, torch::Tensor>> tensors_under(const std::string& prefix) const;
  std::string source = "the checkpoint";  // named in errors
};

/// The tensors of `state` as one torch archive, in memory.
std::string serialize_tensors(const TrainingState& state);
/// Reads an archive written by serialize_tensors into state.tensors (on the CPU).
void deserialize_tensors(const std::string& bytes, TrainingState& state);

/// Writes the module's state to `path` atomically (a temporary file, then a rename).
void save_checkpoint(const torch::nn::Module& module, const std::string& path);
/// Loads a checkpoint written by save_checkpoint into the module's tensors, wherever they are:
/// read into host memory (never onto GPU 0 for all ranks, and never staging the tables of a
/// model kept on the CPU on a GPU), then copied into place. Throws InputError naming the file on
/// a missing file or a mismatch with the model.
void load_checkpoint(torch::nn::Module& module, const std::string& path);

}  // namespace mlrec::train
