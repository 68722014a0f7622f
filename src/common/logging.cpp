#include "mlrec/common/logging.h"

#include <fmt/format.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <mutex>

namespace mlrec {
namespace {
int g_rank = 0;
int g_world_size = 1;
std::atomic<bool> g_every_rank_as_root{false};  // LogEveryRankAsRoot
std::mutex g_mutex;
FILE* g_info_stream = stdout;
bool g_status_shown = false;  // a status line (log_status) is on the terminal, without its newline

// Clears a status line before anything else is written (called holding g_mutex).
void clear_status() {
  if (!g_status_shown) return;
  std::fputs("\r\033[K", g_info_stream);
  g_status_shown = false;
}

std::string prefix() {
  if (g_world_size <= 1) return "[mlrec] ";
  return fmt::format("[mlrec {}/{}] ", g_rank, g_world_size);
}
}  // namespace

void log_info_to_stderr() { g_info_stream = stderr; }

void set_log_rank(int rank, int world_size) {
  g_rank = rank;
  g_world_size = world_size;
}

void log(LogLevel level, const std::string& message) {
  std::lock_guard<std::mutex> lock(g_mutex);
  clear_status();
  if (level == LogLevel::kInfo) {
    std::fprintf(g_info_stream, "%s%s\n", prefix().c_str(), message.c_str());
    std::fflush(g_info_stream);
    return;
  }
  std::fflush(stdout);  // what came before on stdout stays before
  const char* label = level == LogLevel::kWarning ? "warning" : "error";
  std::fprintf(stderr, "%s%s: %s\n", prefix().c_str(), label, message.c_str());
  std::fflush(stderr);
}

bool status_line_on_terminal() {
  static const bool terminal = ::isatty(::fileno(stdout)) == 1 && std::getenv("TERM") != nullptr &&
                               std::string(std::getenv("TERM")) != "dumb";
  return terminal && g_info_stream == stdout;
}

void log_status(const std::string& message) {
  if (!status_line_on_terminal()) {
    log(LogLevel::kInfo, message);
    return;
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(g_info_stream, "\r\033[K%s%s", prefix().c_str(), message.c_str());
  std::fflush(g_info_stream);
  g_status_shown = true;
}

void log_rank0(const std::string& message) {
  if (g_rank == 0 || g_every_rank_as_root) log(LogLevel::kInfo, message);
}

LogEveryRankAsRoot::LogEveryRankAsRoot() : previous_(g_every_rank_as_root.exchange(true)) {}
LogEveryRankAsRoot::~LogEveryRankAsRoot() { g_every_rank_as_root = previous_; }

std::string with_commas(long long value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string format_duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  const int whole = static_cast<int>(seconds);
  if (seconds < 3600) return fmt::format("{}m{:02}s", whole / 60, whole % 60);
  return fmt::format("{}h{:02}m", whole / 3600, (whole % 3600) / 60);
}

}  // namespace mlrec
