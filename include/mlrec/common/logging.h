// Rank-prefixed logging. Every line a process prints says which rank printed it, so the
// interleaved output of an mpirun job can be read (Horovod's lesson).
#pragma once

#include <string>

namespace mlrec {

/// Sets the rank and world size shown in the prefix of every log line ("[mlrec 1/4] ...").
void set_log_rank(int rank, int world_size);

/// Informational line on stdout, from any rank.
void log_info(const std::string& message);
/// Informational line printed by rank 0 only (use for per-job rather than per-rank facts).
void log_rank0(const std::string& message);
/// Error line on stderr, from any rank.
void log_error(const std::string& message);

/// Formats a count with thousands separators: 994169 -> "994,169".
std::string with_commas(long long value);
/// Formats seconds as "1h02m", "3m05s" or "12.3s".
std::string format_duration(double seconds);

}  // namespace mlrec
