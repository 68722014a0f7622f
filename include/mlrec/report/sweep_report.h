// A finished sweep's report: its trials ranked by validation MAE.
#pragma once

#include <string>
#include <vector>

#include "mlrec/config/sweep.h"

namespace mlrec::report {

/// Reads every trial's result (trial-NNN/summary.json, or failed.txt) and writes, into
/// spec.output (created if need be), results.md and results.json (trials ranked by validation
/// MAE, failed ones last) and best.yaml (the best trial's resolved configuration). A trial
/// folder whose run is not the trial's configuration (base, the sweep's settings, then
/// `extra_overrides`, the command line's --set) is reported as such, not ranked. Returns the
/// Markdown table.
std::string write_sweep_report(const config::SweepSpec& spec, const std::vector<std::string>& extra_overrides);

}  // namespace mlrec::report
