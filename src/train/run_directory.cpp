#include "mlrec/train/run_directory.h"

#include <filesystem>

#include "mlrec/common/file_io.h"

namespace mlrec::train {

std::string RunDirectory::file(const char* name) const { return (std::filesystem::path(path_) / name).string(); }

void RunDirectory::create(const std::string& resolved_config_yaml) const {
  if (!writer_) return;
  std::filesystem::create_directories(path_);
  write_file_atomic(config_path(), resolved_config_yaml);
}

void RunDirectory::write_empty_metrics() const {
  if (writer_) write_file_atomic(metrics_path(), "");
}

void RunDirectory::write_summary(const RunSummary& summary) const {
  if (writer_) write_file_atomic(summary_path(), to_json(summary));
}

}  // namespace mlrec::train
