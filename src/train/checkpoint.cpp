#include "mlrec/train/checkpoint.h"

#include <filesystem>
#include <sstream>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"

namespace mlrec::train {

StateDict capture_state(const torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  StateDict state;
  for (const auto& p : module.named_parameters()) state.emplace_back(p.key(), p.value().detach().clone());
  for (const auto& b : module.named_buffers()) state.emplace_back(b.key(), b.value().detach().clone());
  return state;
}

void restore_state(torch::nn::Module& module, const StateDict& state) {
  torch::NoGradGuard no_grad;
  auto parameters = module.named_parameters();
  auto buffers = module.named_buffers();
  for (const auto& [name, value] : state) {
    torch::Tensor* target = parameters.find(name);
    if (!target) target = buffers.find(name);
    TORCH_CHECK(target != nullptr, "state has '", name, "', which the model lacks");
    target->copy_(value);
  }
}

void save_checkpoint(const torch::nn::Module& module, const std::string& path) {
  torch::serialize::OutputArchive archive;
  for (const auto& p : module.named_parameters()) archive.write(p.key(), p.value().detach().cpu());
  for (const auto& b : module.named_buffers()) archive.write(b.key(), b.value().detach().cpu(), /*is_buffer=*/true);
  // Serialised in memory, then written as every other file is: a full disk is an error naming
  // the file and the reason, never a half-written checkpoint.
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomic(path, bytes.str());
}

void load_checkpoint(torch::nn::Module& module, const std::string& path) {
  if (!std::filesystem::exists(path)) throw InputError::in(path, "no such checkpoint");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, torch::Device(torch::kCPU));
  } catch (const c10::Error& e) {
    throw InputError::in(path, "not a readable checkpoint");
  }
  torch::NoGradGuard no_grad;
  auto load = [&](const std::string& name, torch::Tensor& target, bool is_buffer) {
    torch::Tensor value;
    if (!archive.try_read(name, value, is_buffer)) throw InputError::in(path, "has no tensor '" + name + "'");
    if (value.sizes() != target.sizes()) throw InputError::in(path, "tensor '" + name + "' has another shape than the model's");
    target.copy_(value);
  };
  for (auto& p : module.named_parameters()) load(p.key(), p.value(), false);
  for (auto& b : module.named_buffers()) load(b.key(), b.value(), true);
}

void TrainingState::add(const std::string& name, const torch::Tensor& tensor) {
  tensors.emplace_back(name, tensor.detach().to(torch::kCPU, /*non_blocking=*/false, /*copy=*/true));
}

const torch::Tensor* TrainingState::find(const std::string& name) const {
  for (const auto& [key, value] : tensors) {
    if (key == name) return &value;
  }
  return nullptr;
}

const torch::Tensor& TrainingState::tensor(const std::string& name) const {
  if (const torch::Tensor* found = find(name)) return *found;
  throw InputError::in(source, "has no tensor '" + name + "'");
}

std::vector<std::pair<std::string, torch::Tensor>> TrainingState::tensors_under(const std::string& prefix) const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [key, value] : tensors) {
    if (key.rfind(prefix, 0) == 0) out.emplace_back(key.substr(prefix.size()), value);
  }
  return out;
}

std::string serialize_tensors(const TrainingState& state) {
  torch::serialize::OutputArchive archive;
  // The archive's keys are flat; the order is kept in a list of names.
  std::string names;
  for (size_t i = 0; i < state.tensors.size(); ++i) {
    archive.write("t" + std::to_string(i), state.tensors[i].second);
    names += state.tensors[i].first + "\n";
  }
  archive.write("names", torch::from_blob(names.data(), {int64_t(names.size())}, torch::kUInt8).clone());
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

void deserialize_tensors(const std::string& bytes, TrainingState& state) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(bytes.data(), bytes.size(), torch::kCPU);
    torch::Tensor names;
    archive.read("names", names);
    const std::string list(static_cast<const char*>(names.data_ptr()), names.numel());
    std::istringstream lines(list);
    std::string name;
    state.tensors.clear();
    for (size_t i = 0; std::getline(lines, name); ++i) {
      torch::Tensor value;
      archive.read("t" + std::to_string(i), value);
      state.tensors.emplace_back(name, value);
    }
  } catch (const c10::Error& e) {
    throw InputError::in(state.source, "its tensors cannot be read (" + std::string(e.what_without_backtrace()) + ")");
  }
}

}  // namespace mlrec::train
