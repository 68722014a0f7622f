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

void load_checkpoint(torch::nn::Module& module, const std::string& path, const torch::Device& device) {
  if (!std::filesystem::exists(path)) throw InputError::in(path, "no such checkpoint");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, device);
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

}  // namespace mlrec::train
