// mlrec_dist predict: one predicted rating per (user, item[, timestamp]) row of a CSV or TSV.
#include <filesystem>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/timer.h"
#include "mlrec/data/text_table.h"
#include "csv_field.h"
#include "trained_run.h"

namespace mlrec::serve {
namespace {

// The column given by --NAME-column, else the first of `names` the header has (the run's own
// column name for interactions data first, then the usual spellings). -1 when optional and absent.
int find_column(const data::TextTable& table, const std::string& given, const std::vector<std::string>& names,
                const char* option, bool required) {
  std::string header;
  for (const auto& h : table.header) header += (header.empty() ? "" : ", ") + h;
  if (!given.empty()) {
    const int c = table.column(given);
    if (c < 0) throw ConfigError(fmt::format("{} {}: {} has no such column (columns: {})", option, given, table.path, header));
    return c;
  }
  for (const auto& name : names) {
    if (const int c = table.column(name); c >= 0) return c;
  }
  if (!required) return -1;
  std::vector<std::string> distinct;  // the run's own name is often one of the usual spellings
  std::string tried;
  for (const auto& name : names) {
    if (std::find(distinct.begin(), distinct.end(), name) != distinct.end()) continue;
    distinct.push_back(name);
    tried += (tried.empty() ? "" : ", ") + name;
  }
  throw ConfigError(fmt::format("{}: the header of {} has none of the columns {} (columns: {}); name it with {}",
                                option, table.path, tried, header, option));
}


// Where the history of (user, item, timestamp) ends in the user's rows [start, end), sorted by
// time: before the pair's own rating when the data holds it (so that training, evaluation and
// predict agree), else after every rating strictly before the timestamp, else after all of them.
int64_t history_end(const data::PreparedRatings& p, int32_t user, int32_t item, const int64_t* timestamp) {
  const int64_t start = p.user_start[static_cast<size_t>(user)];
  const int64_t end = p.user_start[static_cast<size_t>(user) + 1];
  for (int64_t r = start; r < end; ++r) {
    if (p.movie[static_cast<size_t>(r)] == item) return r;
  }
  if (timestamp == nullptr) return end;
  return std::lower_bound(p.timestamp.begin() + start, p.timestamp.begin() + end, *timestamp) - p.timestamp.begin();
}

}  // namespace

int64_t predict(const PredictOptions& options) {
  if (options.input.empty()) throw ConfigError("predict needs --input FILE (a CSV or TSV of user, item[, timestamp])");
  if (options.out.empty()) throw ConfigError("predict needs --out FILE");
  check_writable(options.out);
  if (std::filesystem::exists(options.out) && std::filesystem::equivalent(options.input, options.out)) {
    throw ConfigError("--out " + options.out + " is the --input file: the predictions would replace it");
  }
  const data::TextTable table = data::read_text_table(options.input);
  TrainedRun run(options);
  const auto& ours = run.config().data.interactions;
  const int user_col = find_column(table, options.user_column, {ours.user, "user", "user_id", "userId"},
                                   "--user-column", true);
  const int item_col = find_column(table, options.item_column, {ours.item, "item", "item_id", "movie", "movie_id", "movieId"},
                                   "--item-column", true);
  std::vector<std::string> time_names = {"timestamp"};
  if (!ours.timestamp.empty()) time_names.insert(time_names.begin(), ours.timestamp);
  const int time_col = find_column(table, options.timestamp_column, time_names, "--timestamp-column", false);

  Stopwatch watch;
  const size_t n = table.rows.size();
  std::vector<float> prediction(n, static_cast<float>(run.training_mean()));
  std::vector<uint8_t> known(n, 0);
  std::vector<int32_t> users, items;
  std::vector<int64_t> ends;
  std::vector<size_t> which;  // the input row of each scored sample
  const auto score = [&] {
    if (users.empty()) return;
    const torch::Tensor rated = run.predict(run.batch(users, items, ends)).contiguous();
    const float* r = rated.data_ptr<float>();
    for (size_t i = 0; i < which.size(); ++i) prediction[which[i]] = r[i];
    users.clear();
    items.clear();
    ends.clear();
    which.clear();
  };
  constexpr size_t kBatch = 8192;
  int64_t unknown = 0;
  std::string first_unknown;
  for (size_t i = 0; i < n; ++i) {
    const auto& row = table.rows[i];
    const int32_t user = run.ids().user_index(row[static_cast<size_t>(user_col)]);
    const int32_t item = run.ids().item_index(row[static_cast<size_t>(item_col)]);
    int64_t timestamp = 0;
    const bool timed = time_col >= 0 && !row[static_cast<size_t>(time_col)].empty();
    if (timed) {
      const std::string& text = row[static_cast<size_t>(time_col)];
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), timestamp);
      if (ec != std::errc() || ptr != text.data() + text.size()) {
        throw InputError::at(table.path, table.lines[i],
                             "column '" + table.header[static_cast<size_t>(time_col)] + "': '" + text +
                                 "' is not an integer timestamp");
      }
    }
    if (user == 0 || item == 0) {
      if (++unknown == 1) {  // named in the warning: a typo or a stray space shows there
        first_unknown = fmt::format("{}:{}, {} '{}'", table.path, table.lines[i], user == 0 ? "user" : "item",
                                    row[static_cast<size_t>(user == 0 ? user_col : item_col)]);
      }
      continue;
    }
    known[i] = 1;
    users.push_back(user);
    items.push_back(item);
    ends.push_back(history_end(run.rows(), user, item, timed ? &timestamp : nullptr));
    which.push_back(i);
    if (users.size() == kBatch) score();
  }
  score();

  std::string out = csv_field(table.header[static_cast<size_t>(user_col)]) + "," +
                    csv_field(table.header[static_cast<size_t>(item_col)]);
  if (time_col >= 0) out += "," + csv_field(table.header[static_cast<size_t>(time_col)]);
  out += ",prediction,known\n";
  for (size_t i = 0; i < n; ++i) {
    const auto& row = table.rows[i];
    out += csv_field(row[static_cast<size_t>(user_col)]) + "," + csv_field(row[static_cast<size_t>(item_col)]);
    if (time_col >= 0) out += "," + csv_field(row[static_cast<size_t>(time_col)]);
    out += fmt::format(",{},{}\n", prediction[i], int(known[i]));
  }
  write_file_atomic(options.out, out);
  log_info(fmt::format("predicted {} ratings in {:.2f} s on {} -> {}", with_commas(static_cast<long long>(n)),
                       watch.seconds(), run.where(), options.out));
  if (unknown > 0) {
    log_warning(fmt::format("{} of {} rows name a user or item the run has not seen (the first: {}): predicted the "
                            "training mean {:.4f} there (known = 0)",
                            with_commas(unknown), with_commas(static_cast<long long>(n)), first_unknown,
                            run.training_mean()));
  }
  return static_cast<int64_t>(n);
}

}  // namespace mlrec::serve
