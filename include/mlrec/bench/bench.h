// The benchmark harness: trains configurations as usual and measures what users compare.
#pragma once

#include <string>
#include <vector>

#include "mlrec/distributed/process_group.h"

namespace mlrec::bench {

struct BenchOptions {
  std::vector<std::string> configs;    // YAML files, run in order
  std::vector<std::string> overrides;  // --set key=value, applied to every config
  std::string out;                     // JSON file (rank 0); empty: print only
  int window = 20;                     // steps per timing window
};

/// For each configuration: data preparation time, steady-state training samples/s (median
/// over windows of `window` steps, the run's first window left out as warm-up), samples/s over
/// whole epochs, mean epoch and evaluation time, time to the target validation MAE (0.895 for
/// MF, 0.73 for the BST variants: training plus evaluation time until the first epoch that
/// reaches it), the validation metrics, and peak host and device memory. Writes a JSON array.
/// With several configurations each run goes to output.dir/<config file stem>.
void run_bench(const BenchOptions& options, dist::ProcessGroup& group);

}  // namespace mlrec::bench
