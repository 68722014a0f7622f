#include "mlrec/report/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "mlrec/common/logging.h"
#include "mlrec/report/svg.h"

namespace mlrec::report {
namespace {

constexpr const char* kStyle = R"(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.lead { color: #555; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.92em; margin: 0.8em 0; }
th, td { padding: 0.35em 0.75em; border-bottom: 1px solid #e3e3e3; text-align: right; white-space: nowrap; }
th { background: #f3f4f6; border-bottom: 2px solid #ccc; white-space: normal; vertical-align: bottom; }
table.settings td, table.settings th { text-align: left; white-space: normal; }
td:first-child, th:first-child { text-align: left; }
tr:hover td { background: #fafbfc; }
td.best { font-weight: bold; color: #0b5394; }
span.spread { display: block; color: #777; font-weight: normal; font-size: 0.85em; }
div.scroll { overflow-x: auto; }
.warning { background: #fff4e5; border-left: 4px solid #f0a030; padding: 0.6em 1em; }
.plot svg { max-width: 100%; height: auto; }
footer { margin-top: 2.5em; color: #777; font-size: 0.85em; }
code { background: #f3f4f6; padding: 0 0.25em; }
)";

std::string number(double v, int decimals) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, decimals) : "-"; }

// One metric column: each row's value (over seeds, mean ± std), bold where it is the column's best.
struct Column {
  Column(std::string name, bool lower) : title(std::move(name)), lower_is_better(lower) {}
  std::string title;
  bool lower_is_better;
  std::vector<double> values, spreads;
  void add(double value, double spread = NAN) {
    values.push_back(value);
    spreads.push_back(spread);
  }
  std::string cell(size_t i) const {
    double best = lower_is_better ? INFINITY : -INFINITY, worst = -best;
    for (double v : values) {
      if (!std::isfinite(v)) continue;
      best = lower_is_better ? std::min(best, v) : std::max(best, v);
      worst = lower_is_better ? std::max(worst, v) : std::min(worst, v);
    }
    // Where every run scores the same, none is singled out.
    const bool is_best = best != worst && std::isfinite(values[i]) && values[i] == best;
    const std::string spread =
        std::isfinite(spreads[i]) ? " <span class=\"spread\">± " + number(spreads[i], 5) + "</span>" : "";
    return fmt::format("<td{}>{}{}</td>", is_best ? " class=\"best\"" : "", number(values[i], 5), spread);
  }
};

std::string metrics_table(const std::vector<RunRow>& rows, const std::vector<std::string>& labels) {
  const int k = ranking_k(rows);
  std::vector<Column> columns{{"MAE", true}, {"MSE", true}, {"RMSE", true}};
  if (k > 0) {
    columns.push_back({fmt::format("HR@{}", k), false});
    columns.push_back({fmt::format("NDCG@{}", k), false});
  }
  bool any_test = false;
  for (const auto& row : rows) any_test = any_test || row.summary.test.has_value();
  if (any_test) columns.push_back({"test MAE", true});
  for (const auto& row : rows) {
    const train::Metrics& m = row.summary.valid;
    columns[0].add(m.mae, row.valid_spread(&train::Metrics::mae));
    columns[1].add(m.mse, row.valid_spread(&train::Metrics::mse));
    columns[2].add(m.rmse, row.valid_spread(&train::Metrics::rmse));
    if (k > 0) {
      const bool same_k = m.ranking_k == k;
      columns[3].add(same_k ? m.hr : NAN, same_k ? row.valid_spread(&train::Metrics::hr) : NAN);
      columns[4].add(same_k ? m.ndcg : NAN, same_k ? row.valid_spread(&train::Metrics::ndcg) : NAN);
    }
    if (any_test) columns.back().add(row.summary.test ? row.summary.test->mae : NAN);
  }
  std::string html = "<div class=\"scroll\"><table>\n<tr><th>run</th>";
  for (const auto& c : columns) html += "<th>" + xml_escape(c.title) + "</th>";
  html += "<th>rows</th><th>epochs: best / run / max</th><th>train samples/s</th><th>train time</th></tr>\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const train::RunSummary& r = rows[i].summary;
    html += "<tr><td>" + xml_escape(labels[i]) + "</td>";
    for (const auto& c : columns) html += c.cell(i);
    html += "<td>" + with_commas(r.valid.count) + "</td>";
    if (r.epochs_run == 0) {
      html += "<td>-</td><td>-</td><td>-</td>";  // the baseline: nothing trained
    } else {
      html += fmt::format("<td>{} / {} / {}</td><td>{}</td><td>{:.1f} s</td>",
                          rows[i].epochs_text(&train::RunSummary::best_epoch),
                          rows[i].epochs_text(&train::RunSummary::epochs_run), r.max_epochs,
                          with_commas(std::llround(r.samples_per_second)), r.train_seconds);
    }
    html += "</tr>\n";
  }
  return html + "</table></div>\n";
}

// The seed of a run, or a --seeds directory's seeds: "1, 2, 3".
std::string seeds_text(const RunRow& row) {
  if (row.seed_runs.empty()) return std::to_string(row.summary.seed);
  std::string text;
  for (const auto& r : row.seed_runs) text += (text.empty() ? "" : ", ") + std::to_string(r.seed);
  return text;
}

std::string settings_table(const std::vector<RunRow>& rows, const std::vector<std::string>& labels) {
  std::string html =
      "<div class=\"scroll\"><table class=\"settings\">\n<tr><th>run</th><th>directory</th><th>data</th><th>protocol</th><th>device</th><th>ranks</th>"
      "<th>precision</th><th>batch</th><th>seed</th><th>parameters</th></tr>\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const train::RunSummary& r = rows[i].summary;
    const std::string data = r.release + (r.data.empty() ? "" : " <code>" + xml_escape(r.data.substr(0, 12)) + "</code>");
    html += fmt::format(
        "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td></tr>\n",
        xml_escape(labels[i]), xml_escape(rows[i].dir), data, xml_escape(r.protocol), xml_escape(r.device),
        r.world_size, xml_escape(r.precision.empty() ? "-" : r.precision), r.batch_size > 0 ? std::to_string(r.batch_size) : "-",
        seeds_text(rows[i]), r.parameters);
  }
  return html + "</table></div>\n";
}

}  // namespace

std::string comparison_html(const std::vector<RunRow>& rows, const std::vector<LearningCurve>& curves,
                            const std::string& footer) {
  std::set<std::string> fingerprints;
  for (const auto& row : rows) {
    if (!row.summary.data.empty()) fingerprints.insert(row.summary.data);
  }
  const std::vector<std::string> labels = run_labels(rows);
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += fmt::format("<title>mlrec: {} runs compared</title>\n<style>{}</style>\n</head>\n<body>\n", rows.size(), kStyle);
  html += fmt::format("<h1>{} runs compared</h1>\n", rows.size());
  html += "<p class=\"lead\">Validation metrics of each run's selected (best) epoch, over seeds their mean ± "
          "standard deviation; the best value of each column is in bold.</p>\n";
  if (fingerprints.size() > 1) {
    html += "<p class=\"warning\">These runs were trained on different data (their data fingerprints differ): "
            "their metrics are not comparable.</p>\n";
  }
  html += metrics_table(rows, labels);
  html += "<h2>Learning curves</h2>\n<div class=\"plot\">\n" + learning_curves_svg(curves, false) + "</div>\n";
  html += "<h2>Runs</h2>\n" + settings_table(rows, labels);
  html += "<footer>" + xml_escape(footer) + "</footer>\n</body>\n</html>\n";
  return html;
}

}  // namespace mlrec::report
