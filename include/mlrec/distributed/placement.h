// Where the ranks run, checked before a communicator is chosen (torch-free).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlrec::dist {

/// `device_of_rank[r]` names rank r's device uniquely across the job (host and GPU UUID). Returns
/// the first two ranks (lowest first) that name the same one, or nothing when every rank has a
/// device of its own. NCCL refuses such a job; the MPI communicator serves it.
std::optional<std::pair<int, int>> first_ranks_sharing_a_device(const std::vector<std::string>& device_of_rank);

}  // namespace mlrec::dist
