// Rank-prefixed logging with levels. Every line a process prints says which rank printed it, so
// the interleaved output of an mpirun job can be read (Horovod's lesson):
//   [mlrec 1/4] epoch 3/10 ...              info, on stdout
//   [mlrec 1/4] warning: ...                warning, on stderr, from the rank where it happened
//   [mlrec 1/4] error: ...                  error, on stderr
#pragma once

#include <string>

namespace mlrec {

enum class LogLevel { kInfo, kWarning, kError };

/// Sets the rank and world size shown in the prefix of every log line ("[mlrec 1/4] ...").
void set_log_rank(int rank, int world_size);
/// Information lines go to stderr from now on (they go to stdout by default): for commands whose
/// result is written to stdout (`recommend` without --out).
void log_info_to_stderr();

/// One line at `level`, from this rank: info on stdout, warnings and errors on stderr.
void log(LogLevel level, const std::string& message);

/// Informational line on stdout, from any rank.
inline void log_info(const std::string& message) { log(LogLevel::kInfo, message); }
/// Informational line printed by rank 0 only (per-job rather than per-rank facts).
void log_rank0(const std::string& message);

/// While one lives, log_rank0 prints on this rank too (its prefix still names the rank). A
/// sweep's trials are one-rank runs, each its own job: their epochs, resumes and results are
/// every rank's to print, not only rank 0's trials'.
class LogEveryRankAsRoot {
 public:
  LogEveryRankAsRoot();
  ~LogEveryRankAsRoot();
  LogEveryRankAsRoot(const LogEveryRankAsRoot&) = delete;
  LogEveryRankAsRoot& operator=(const LogEveryRankAsRoot&) = delete;

 private:
  bool previous_;
};
/// A progress line. On an interactive terminal it replaces the previous one in place (a single
/// updating line, cleared before the next log line); in a log file, a pipe or under Slurm
/// (stdout not a terminal) it is an ordinary line, so logs stay line-based.
void log_status(const std::string& message);
/// Warning on stderr from this rank: logged where it happens, so it names its rank.
inline void log_warning(const std::string& message) { log(LogLevel::kWarning, message); }
/// Error line on stderr, from any rank.
inline void log_error(const std::string& message) { log(LogLevel::kError, message); }

/// Formats a count with thousands separators: 994169 -> "994,169".
std::string with_commas(long long value);
/// Formats seconds as "1h02m", "3m05s" or "12.3s".
std::string format_duration(double seconds);

}  // namespace mlrec
