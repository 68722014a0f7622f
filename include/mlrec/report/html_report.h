// `compare --html`: the comparison as one self-contained HTML page (inline CSS and SVG; no
// scripts, nothing fetched), to open in any browser, attach to a ticket or archive with the runs.
#pragma once

#include <string>
#include <vector>

#include "mlrec/report/compare.h"
#include "mlrec/report/learning_curves.h"

namespace mlrec::report {

/// The page: the table of `compare` (the best value of each metric in bold), a warning when the
/// runs were trained on different data, the learning curves of `curves`, and each run's
/// setting (data, protocol, device, ranks, precision, batch, seed, parameters). `footer` names
/// what wrote it.
std::string comparison_html(const std::vector<RunRow>& rows, const std::vector<LearningCurve>& curves,
                            const std::string& footer);

}  // namespace mlrec::report
