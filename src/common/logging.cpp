#include "mlrec/common/logging.h"

#include <cstdio>
#include <mutex>

namespace mlrec {
namespace {
int g_rank = 0;
int g_world_size = 1;
std::mutex g_mutex;

std::string prefix() {
  if (g_world_size <= 1) return "[mlrec] ";
  return "[mlrec " + std::to_string(g_rank) + "/" + std::to_string(g_world_size) + "] ";
}
}  // namespace

void set_log_rank(int rank, int world_size) {
  g_rank = rank;
  g_world_size = world_size;
}

void log_info(const std::string& message) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stdout, "%s%s\n", prefix().c_str(), message.c_str());
  std::fflush(stdout);
}

void log_rank0(const std::string& message) {
  if (g_rank == 0) log_info(message);
}

void log_error(const std::string& message) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fflush(stdout);
  std::fprintf(stderr, "%serror: %s\n", prefix().c_str(), message.c_str());
  std::fflush(stderr);
}

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
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(seconds) / 60, int(seconds) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(seconds) / 3600, (int(seconds) % 3600) / 60);
  }
  return buf;
}

}  // namespace mlrec
