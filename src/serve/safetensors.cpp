#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

namespace mlrec::serve {
namespace {

const char* dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return "F32";
    case torch::kFloat64: return "F64";
    case torch::kFloat16: return "F16";
    case torch::kBFloat16: return "BF16";
    case torch::kInt64: return "I64";
    case torch::kInt32: return "I32";
    case torch::kInt16: return "I16";
    case torch::kInt8: return "I8";
    case torch::kUInt8: return "U8";
    case torch::kBool: return "BOOL";
    default: throw std::invalid_argument(std::string("safetensors has no dtype for ") + c10::toString(type));
  }
}

}  // namespace

std::string safetensors_bytes(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  // The data of wider elements first (stable): with the data's start 8-byte aligned, every tensor
  // then starts at a multiple of its element size, so a reader may map it in place (the reference
  // writer orders them so too).
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return tensors[a].second.element_size() > tensors[b].second.element_size();
  });
  std::vector<torch::Tensor> data;
  size_t offset = 0;
  for (const size_t i : order) {
    const auto& [name, tensor] = tensors[i];
    auto t = tensor.detach().cpu().contiguous();
    const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", dtype_name(t.scalar_type())}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  std::string json = header.dump();
  // The data starts 8-byte aligned: the header is padded with spaces, as the reference writer does.
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8 + json.size() + offset, '\0');
  const uint64_t length = json.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 8, json.data(), json.size());
  size_t at = 8 + json.size();
  for (const auto& t : data) {
    const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    if (bytes > 0) std::memcpy(out.data() + at, t.data_ptr(), bytes);  // x86 and ARM: little-endian already
    at += bytes;
  }
  return out;
}

}  // namespace mlrec::serve
