// Writes tensors in the safetensors format (https://github.com/huggingface/safetensors): an
// 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte
// range, then the raw little-endian data. The format is a page of specification and Debian has
// no C++ library for it, so it is written here with nlohmann-json; the test reads the files
// back with the `safetensors` Python package. Internal to src/serve.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mlrec::serve {

/// The file's bytes: tensors by element size, widest first, else in the given order (each made
/// contiguous, on the CPU; every one starts at a multiple of its element size), and
/// `metadata` as the header's "__metadata__" (string values only, as the format requires).
/// std::invalid_argument for a dtype safetensors has no name for.
std::string safetensors_bytes(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata);

}  // namespace mlrec::serve
