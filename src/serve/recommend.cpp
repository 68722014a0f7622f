// mlrec_dist recommend: the top-k items of users by predicted rating, scored in batches of users
// against every item on the run's device.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <utility>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/timer.h"
#include "csv_field.h"
#include "trained_run.h"

namespace mlrec::serve {
namespace {

// The ids asked for by --user and --users, in order; empty for "every user". Read before the run
// and its data are loaded, so that a wrong file fails at once.
std::vector<std::string> ids_asked(const RecommendOptions& options) {
  std::vector<std::string> asked = options.users;
  if (!options.users_file.empty()) {
    const std::string text = read_file(options.users_file, "user list");
    const size_t listed_before = asked.size();
    size_t begin = 0;
    while (begin < text.size()) {
      size_t end = text.find('\n', begin);
      if (end == std::string::npos) end = text.size();
      std::string id = text.substr(begin, end - begin);
      if (!id.empty() && id.back() == '\r') id.pop_back();
      if (!id.empty()) asked.push_back(std::move(id));
      begin = end + 1;
    }
    if (asked.size() == listed_before) throw InputError::in(options.users_file, "lists no user ids (one per line)");
  }
  return asked;
}

// The users to recommend for, with their dense ids (0 where the run does not know the id).
std::vector<std::pair<std::string, int32_t>> users_of(const std::vector<std::string>& asked, const data::IdMaps& ids) {
  std::vector<std::pair<std::string, int32_t>> users;
  for (const auto& id : asked) users.emplace_back(id, ids.user_index(id));
  if (asked.empty()) {
    for (size_t u = 1; u < ids.users.size(); ++u) users.emplace_back(ids.users[u], static_cast<int32_t>(u));
  }
  return users;
}

// The k highest scores of each row with their columns, equal scores in column order. topk's
// order among equal scores is unspecified and changes with k (rank 1 could change with --k), and
// ties are common: the baseline ties every item, MF saturates at the range's top, item_knn and
// bayes_svdpp clamp to the scale. NaN scores (a diverged run) are never chosen.
std::pair<torch::Tensor, torch::Tensor> top_k_ties_by_column(torch::Tensor scores, int64_t k) {
  scores.masked_fill_(scores.isnan(), -std::numeric_limits<float>::infinity());
  const int64_t rows = scores.size(0);
  const auto kth = std::get<0>(scores.topk(k, 1)).select(1, k - 1).unsqueeze(1);  // each row's k-th largest
  const auto above = scores > kth;
  const auto tied = scores == kth;
  const auto room = k - above.sum(1, /*keepdim=*/true);  // how many of the tied fit, lowest columns first
  const auto chosen = above | (tied & (tied.cumsum(1) <= room));
  const auto columns = chosen.nonzero().select(1, 1).view({rows, k});  // k per row, ascending
  auto [values, order] = scores.gather(1, columns).sort(/*stable=*/true, /*dim=*/1, /*descending=*/true);
  return {values, columns.gather(1, order)};
}

}  // namespace

int64_t recommend(const RecommendOptions& options) {
  if (options.k < 1) throw ConfigError("--k must be at least 1");
  std::string format = options.format;
  if (format == "auto") {
    format = std::filesystem::path(options.out).extension() == ".jsonl" ? "jsonl" : "csv";
  }
  if (format != "csv" && format != "jsonl") throw ConfigError("--format must be csv, jsonl or auto, not '" + format + "'");
  if (options.out.empty()) {
    log_info_to_stderr();  // stdout carries the recommendations
  } else {
    check_writable(options.out);
  }

  const std::vector<std::string> ids = ids_asked(options);
  TrainedRun run(options);
  const auto users = users_of(ids, run.ids());
  if (!users.empty() && std::all_of(users.begin(), users.end(), [](const auto& user) { return user.second == 0; })) {
    throw InputError::in(options.users_file.empty() ? options.run : options.users_file,
                         "user '" + users.front().first + "'" + (users.size() > 1 ? " (and the others asked for)" : "") +
                             " is not a user of the run's data");
  }
  const auto& p = run.rows();
  const int64_t columns = run.info().num_movies + 1;
  const int64_t k = std::min<int64_t>(options.k, run.info().num_movies);
  // Every item a user rated, in training, validation or test: never recommended unless asked.
  const data::SeenItems seen = data::seen_items(p, data::SeenRows::kAll).to(run.device());

  Stopwatch watch;
  // Each user's lines, in the order asked for (known users are scored in batches, unknown ones
  // answered at once).
  std::vector<std::string> lines(users.size());
  int64_t unknown = 0;
  std::string unknown_named;  // the first few, quoted: a stray space or a header line shows
  // Users per batch: a score per item for each, ~64 MB of them at a time.
  const size_t batch_users = static_cast<size_t>(std::max<int64_t>(1, (int64_t{1} << 24) / columns));
  std::vector<int32_t> dense, placeholder;
  std::vector<int64_t> ends;
  std::vector<size_t> asked;  // the batch's users' positions in `users`
  const auto flush = [&] {
    if (dense.empty()) return;
    auto scores = run.score_all_items(run.batch(dense, placeholder, ends)).contiguous();
    const float excluded = -std::numeric_limits<float>::infinity();
    scores.select(1, 0).fill_(excluded);
    if (!options.include_seen) {
      seen.mask(scores, torch::from_blob(dense.data(), {static_cast<int64_t>(dense.size())}, torch::kInt32).to(run.device()),
                excluded);
    }
    auto [values, indices] = top_k_ties_by_column(scores, k);
    values = values.cpu().contiguous();
    indices = indices.cpu().contiguous();
    const float* v = values.data_ptr<float>();
    const int64_t* m = indices.data_ptr<int64_t>();
    for (size_t i = 0; i < dense.size(); ++i) {
      const std::string& name = users[asked[i]].first;
      std::string& out = lines[asked[i]];
      nlohmann::ordered_json items = nlohmann::ordered_json::array(), ratings = nlohmann::ordered_json::array();
      for (int64_t j = 0; j < k; ++j) {
        const float value = v[i * static_cast<size_t>(k) + static_cast<size_t>(j)];
        if (value == excluded) break;  // the user has rated nearly everything
        const std::string& item = run.ids().items[static_cast<size_t>(m[i * static_cast<size_t>(k) + static_cast<size_t>(j)])];
        if (format == "csv") {
          out += fmt::format("{},{},{},{}\n", csv_field(name), j + 1, csv_field(item), value);
        } else {
          items.push_back(item);
          ratings.push_back(value);
        }
      }
      if (format == "jsonl") {
        out += nlohmann::ordered_json{{"user", name}, {"items", items}, {"predictions", ratings}}.dump() + "\n";
      }
    }
    dense.clear();
    placeholder.clear();
    ends.clear();
    asked.clear();
  };
  for (size_t a = 0; a < users.size(); ++a) {
    const auto& [id, u] = users[a];
    if (u == 0) {
      if (++unknown <= 3) unknown_named += (unknown > 1 ? ", '" : "'") + id + "'";
      if (format == "jsonl") {
        lines[a] = nlohmann::ordered_json{{"user", id}, {"items", nlohmann::ordered_json::array()},
                                      {"predictions", nlohmann::ordered_json::array()}, {"unknown_user", true}}
                   .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +  // ids as given: any bytes
               "\n";
      }
      continue;
    }
    dense.push_back(u);
    placeholder.push_back(0);  // the window's last position: replaced by every item
    ends.push_back(p.user_start[static_cast<size_t>(u) + 1]);  // the history: all the user's ratings
    asked.push_back(a);
    if (dense.size() == batch_users) flush();
  }
  flush();
  std::string out = format == "csv" ? "user,rank,item,prediction\n" : "";
  for (std::string& user_lines : lines) {
    out += user_lines;
    std::string().swap(user_lines);
  }
  const double seconds = watch.seconds();
  if (options.out.empty()) {
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  } else {
    write_file_atomic(options.out, out);
  }
  const int64_t scored = static_cast<int64_t>(users.size()) - unknown;
  log_info(fmt::format("top {} of {} items for {} user{} in {:.2f} s on {}{}", k, with_commas(run.info().num_movies),
                       with_commas(scored), scored == 1 ? "" : "s", seconds, run.where(), options.out.empty() ? "" : " -> " + options.out));
  if (unknown > 0) {
    log_warning(fmt::format("{} user id(s) are not users of the run's data ({}{}): nothing recommended for them",
                            unknown, unknown_named, unknown > 3 ? ", ..." : ""));
  }
  return scored;
}

}  // namespace mlrec::serve
