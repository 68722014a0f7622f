// Runs mlrec_dist as a user would, from the e2e tests: its exit status and its output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace mlrec::test_support {

struct CliResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};

/// A shell command, stderr joined to stdout.
inline CliResult run_command(const std::string& command) {
  CliResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

/// `mlrec_dist ARGS`: the binary the tests were built with.
inline CliResult run_cli(const std::string& args) { return run_command(std::string(MLREC_DIST_BINARY) + " " + args); }

}  // namespace mlrec::test_support
