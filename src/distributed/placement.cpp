#include "mlrec/distributed/placement.h"

#include <map>

namespace mlrec::dist {

std::optional<std::pair<int, int>> first_ranks_sharing_a_device(const std::vector<std::string>& device_of_rank) {
  std::map<std::string, int> first_rank;
  for (int r = 0; r < static_cast<int>(device_of_rank.size()); ++r) {
    const auto [it, fresh] = first_rank.emplace(device_of_rank[r], r);
    if (!fresh) return std::make_pair(it->second, r);
  }
  return std::nullopt;
}

}  // namespace mlrec::dist
