// Ranks that must agree before training. mpirun's MPMD form (or a node with another copy of the
// data, a stale config, another build) can give ranks different inputs; without a check they
// crash inside a collective, hang, or train to a different result without a word.
#pragma once

#include <string>
#include <vector>

#include "mlrec/distributed/communicator.h"

namespace mlrec::dist {

/// One thing every rank must hold alike: its name in the error ("train.seed", "the data") and
/// this rank's value.
struct AgreementItem {
  std::string name, value;
};

/// Compares every rank's items with rank 0's (hashes over the host communicator, a few bytes per
/// item). When any rank differs, every rank throws the same ConfigError naming, for each such
/// rank, the first differing item and rank 0's value: "ranks disagree with rank 0 before
/// training: rank 1 has another train.seed (rank 0: 42)". A no-op for one rank.
void check_ranks_agree(Communicator& comm, const std::vector<AgreementItem>& items);

}  // namespace mlrec::dist
