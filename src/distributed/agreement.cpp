#include "mlrec/distributed/agreement.h"

#include <torch/torch.h>

#include "mlrec/common/checksum.h"
#include "mlrec/common/error.h"
#include "mlrec/common/strings.h"

namespace mlrec::dist {
namespace {

// FNV-1a over name and value (each with its terminating zero, so that the boundary counts):
// equal items hash alike on every host and build.
int64_t item_hash(const AgreementItem& item) {
  Fnv1a64 hash;
  hash.add(item.name.c_str(), item.name.size() + 1);
  hash.add(item.value.c_str(), item.value.size() + 1);
  return static_cast<int64_t>(hash.value());
}

}  // namespace

void check_ranks_agree(Communicator& world, const std::vector<AgreementItem>& items) {
  Communicator& comm = world.host();
  if (comm.world_size() < 2) return;
  const int64_t mine = static_cast<int64_t>(items.size());
  auto count = torch::full({1}, mine, torch::kInt64);
  comm.broadcast(count, 0, "agreement: item count");
  const int64_t theirs = count.item<int64_t>();
  auto reference = torch::zeros({theirs}, torch::kInt64);
  if (comm.rank() == 0) {
    for (int64_t i = 0; i < mine; ++i) reference[i] = item_hash(items[i]);
  }
  comm.broadcast(reference, 0, "agreement: rank 0's items");
  // This rank's first differing item (1-based; 0 = none). A different number of items (another
  // build's configuration keys) differs at the first item past the shorter list.
  int64_t first = 0;
  const int64_t common = std::min(mine, theirs);
  const int64_t* ref = reference.data_ptr<int64_t>();
  for (int64_t i = 0; i < common && first == 0; ++i) {
    if (ref[i] != item_hash(items[i])) first = i + 1;
  }
  if (first == 0 && mine != theirs) first = common + 1;
  auto firsts = torch::zeros({comm.world_size()}, torch::kInt64);
  firsts[comm.rank()] = first;
  comm.all_reduce_sum(firsts, "agreement: differing items");
  std::vector<std::string> differences;
  for (int r = 0; r < comm.world_size(); ++r) {
    const int64_t index = firsts[r].item<int64_t>() - 1;
    if (index < 0) continue;
    const std::string name = index < mine ? items[index].name : "its configuration keys (another build)";
    std::string text = "rank " + std::to_string(r) + " has another " + name;
    // Every rank holds the same item names; the value shown is rank 0's (this message is the
    // one rank 0 prints).
    if (comm.rank() == 0 && index < mine) text += " (rank 0: " + quote_value(items[index].value) + ")";
    differences.push_back(text);
  }
  if (!differences.empty()) {
    throw ConfigError("ranks disagree with rank 0 before training: " + join(differences, "; ") +
                      ". Every rank must run the same program on the same configuration and data");
  }
}

}  // namespace mlrec::dist
