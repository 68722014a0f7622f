// A finished sweep's report: its trials ranked by validation MAE.
#pragma once

#include <string>

#include "mlrec/config/sweep.h"

namespace mlrec::report {

/// Reads every trial's result (trial-NNN/summary.json, or failed.txt) and writes, into
/// spec.output, results.md and results.json (trials ranked by validation MAE, failed ones last)
/// and best.yaml (the best trial's resolved configuration). Returns the Markdown table.
std::string write_sweep_report(const config::SweepSpec& spec);

}  // namespace mlrec::report
