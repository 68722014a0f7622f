#include "mlrec/common/stop_signal.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mlrec {
namespace {

volatile std::sig_atomic_t g_received = 0;

extern "C" void on_stop_signal(int signal) {
  if (g_received != 0 && (signal == SIGINT || signal == SIGTERM)) {
    // The second interrupt: the user does not want to wait. Only async-signal-safe calls here.
    static const char kMessage[] = "mlrec: second stop signal, exiting without a checkpoint\n";
    [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    ::_exit(stopped_exit_code(signal));
  }
  if (g_received == 0) g_received = signal;
}

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // Interrupted system calls resume: MPI's and the file writes' calls see no EINTR.
  action.sa_flags = SA_RESTART;
  for (int signal : {SIGTERM, SIGINT, SIGUSR1}) sigaction(signal, &action, nullptr);
}

int stop_signal_received() { return g_received; }

void reset_stop_signal() { g_received = 0; }

namespace {

struct TestSignal {
  int signal = 0;  // 0: not asked for
  std::string phase;
  int epoch = 0, rank = -1;
  int64_t step = 0;
};

TestSignal parse_test_signal() {
  TestSignal t;
  const char* text = std::getenv("MLREC_TEST_SIGNAL");
  if (!text || !*text) return t;
  char name[16] = {0}, phase[16] = {0};
  long long a = 0, b = 0, c = -1;
  const int n = std::sscanf(text, "%15[A-Z0-9]@%15[a-z]:%lld:%lld:%lld", name, phase, &a, &b, &c);
  if (n < 3) return t;
  const std::string signal(name);
  t.signal = signal == "TERM" ? SIGTERM : signal == "INT" ? SIGINT : signal == "USR1" ? SIGUSR1 : 0;
  t.phase = phase;
  t.epoch = static_cast<int>(a);
  if (t.phase == "train") {
    t.step = b;
    t.rank = n >= 5 ? static_cast<int>(c) : -1;
  } else {
    t.rank = n >= 4 ? static_cast<int>(b) : -1;
  }
  return t;
}

}  // namespace

void raise_test_signal_at(const char* phase, int epoch, int64_t step, int rank) {
  static const TestSignal wanted = parse_test_signal();
  if (wanted.signal == 0 || wanted.phase != phase || wanted.epoch != epoch) return;
  if ((wanted.phase == "train" && wanted.step != step) || (wanted.rank >= 0 && wanted.rank != rank)) return;
  std::raise(wanted.signal);
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGHUP: return "SIGHUP";
    default: return "signal " + std::to_string(signal);
  }
}

}  // namespace mlrec
