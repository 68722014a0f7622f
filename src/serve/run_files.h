// The files of a finished run directory that predict, recommend and export read. Internal to src/serve.
#pragma once

#include <filesystem>
#include <string>

#include "mlrec/common/error.h"

namespace mlrec::serve {

/// RUN/name; InputError naming it, and why it is needed, when it is missing.
inline std::string required_run_file(const std::string& run, const char* name, const char* what) {
  const std::string path = (std::filesystem::path(run) / name).string();
  if (!std::filesystem::exists(path)) throw InputError::in(path, std::string("missing: ") + what);
  return path;
}

}  // namespace mlrec::serve
