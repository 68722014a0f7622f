#include "mlrec/distributed/communicator.h"

#include <ATen/core/Tensor.h>

#include <stdexcept>

namespace mlrec::dist {
namespace {

class DoneWork final : public Work {
 public:
  void wait() override {}
};

// World size 1: a sum over one rank and a broadcast from oneself leave the tensor as it is.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend() const override { return "local"; }
  void all_reduce_sum(at::Tensor&, const char*) override {}
  std::shared_ptr<Work> all_reduce_sum_async(const at::Tensor&, const char*) override {
    return std::make_shared<DoneWork>();
  }
  void all_gather(const at::Tensor& input, at::Tensor& output, const char*) override {
    check_gather_shapes(input, output, 1);
    output.view(input.sizes()).copy_(input);
  }
  void broadcast(at::Tensor&, int root, const char*) override {
    if (root != 0) throw std::invalid_argument("broadcast root " + std::to_string(root) + " >= world size 1");
  }
  void barrier(const char*) override {}
};

}  // namespace

void check_gather_shapes(const at::Tensor& input, const at::Tensor& output, int world_size) {
  if (output.numel() != input.numel() * world_size || output.scalar_type() != input.scalar_type() ||
      output.device() != input.device() || !output.is_contiguous()) {
    throw std::invalid_argument("all_gather: the output must be contiguous, of the input's dtype and device, with "
                                "world size x the input's elements");
  }
}

std::unique_ptr<Communicator> make_local_communicator() {
  return std::make_unique<LocalCommunicator>();
}

}  // namespace mlrec::dist
