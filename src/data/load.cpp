#include "mlrec/data/load.h"

#include <fmt/format.h>

#include <memory>

#include <torch/torch.h>

#include "mlrec/common/checksum.h"
#include "mlrec/common/error.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/timer.h"
#include "mlrec/data/id_maps.h"
#include "mlrec/data/interactions.h"
#include "mlrec/data/movielens.h"
#include "mlrec/data/prepare.h"
#include "mlrec/data/side_features.h"

namespace mlrec::data {

namespace {

// The user and item tables of your own data, read for the run's dense ids: their codes go to the
// model (DatasetInfo), their values to id_maps.json.
void add_side_features(const config::Config::Data::Interactions& options, LoadedData& loaded) {
  const auto read = [&](const char* key, const std::string& path, const std::string& id, const std::string& default_id,
                        const std::string& features, const std::vector<std::string>& ids, at::Tensor& codes,
                        std::vector<int64_t>& sizes, std::vector<std::pair<std::string, std::vector<std::string>>>& maps,
                        const char* what) {
    if (path.empty()) return;
    const SideFeatures side = read_side_features({key, path, id.empty() ? default_id : id, features}, ids);
    codes = torch::from_blob(const_cast<int32_t*>(side.codes.data()), {static_cast<int64_t>(ids.size()), side.num_features()},
                             torch::kInt32)
                .clone();
    sizes = side.sizes();
    for (int64_t f = 0; f < side.num_features(); ++f) maps.emplace_back(side.names[size_t(f)], side.values[size_t(f)]);
    std::string described;
    for (int64_t f = 0; f < side.num_features(); ++f) {
      described += fmt::format("{}{} ({} values)", f ? ", " : "", side.names[size_t(f)], sizes[size_t(f)] - 1);
    }
    log_rank0(fmt::format("{} table {}: {}; {} {}s without a row (unknown), {} rows for {}s not in the data (ignored)",
                          what, path, described, with_commas(side.ids_without_row), what,
                          with_commas(side.rows_without_id), what));
  };
  read("data.interactions.user_table", options.user_table, options.user_table_id, options.user,
       options.user_table_features, loaded.ids.users, loaded.info.user_side_codes, loaded.info.user_side_sizes,
       loaded.ids.user_features, "user");
  read("data.interactions.item_table", options.item_table, options.item_table_id, options.item,
       options.item_table_features, loaded.ids.items, loaded.info.item_side_codes, loaded.info.item_side_sizes,
       loaded.ids.item_features, "item");
}

}  // namespace

LoadedData load_data(const config::Config::Data& options, bool keep_prepared) {
  LoadedData loaded;
  Stopwatch watch;
  // data.format: the MovieLens release in data.dir, or the user's own interactions file.
  const RawRatings raw =
      options.format == "interactions" ? load_interactions(options.interactions) : load_movielens(options.dir);
  SplitOptions split;
  split.valid_per_user = options.valid_per_user;
  split.min_ratings_per_user = options.min_ratings_per_user;
  split.test_per_user = options.test_per_user;
  auto kept = std::make_shared<PreparedRatings>(prepare_ratings(raw, split));
  const PreparedRatings& prepared = *kept;
  loaded.train = RatingDataset(prepared, prepared.train_rows, options.sequence_length);
  loaded.valid = RatingDataset(prepared, prepared.valid_rows, options.sequence_length);
  if (!prepared.test_rows.empty()) {
    loaded.test = RatingDataset(prepared, prepared.test_rows, options.sequence_length);
  }
  loaded.info = make_dataset_info(prepared, options.sequence_length);
  loaded.seen_before_valid = seen_items(prepared, SeenRows::kTraining);
  if (!prepared.test_rows.empty()) loaded.seen_before_test = seen_items(prepared, SeenRows::kTrainingAndValidation);
  loaded.ids = make_id_maps(raw, prepared);
  if (options.format == "interactions") add_side_features(options.interactions, loaded);
  if (keep_prepared) loaded.prepared = std::move(kept);
  loaded.seconds = watch.seconds();
  loaded.release = release_name(raw.release);

  log_rank0(format_stats(raw, compute_stats(raw)));
  std::string held_out = with_commas(loaded.valid.size()) + " validation";
  if (options.test_per_user > 0) held_out += " and " + with_commas(loaded.test.size()) + " test";
  log_rank0(fmt::format("split: {} training, {} ratings (each user's last ratings by time); data ready in {} s",
                        with_commas(loaded.train.size()), held_out, std::to_string(loaded.seconds)));
  if (options.test_per_user > 0 && loaded.test.size() == 0) {
    throw InputError::in(raw.dir, "data.test_per_user leaves no test ratings");
  }
  if (loaded.train.size() == 0 || loaded.valid.size() == 0) {
    throw InputError::in(raw.dir, "the split leaves no training or no validation ratings");
  }
  return loaded;
}

std::string data_fingerprint(const LoadedData& data) {
  std::string fingerprint =
      fmt::format("crc32 {:08x} {:08x} {:08x}, {} + {} + {} samples", data.train.checksum(), data.valid.checksum(),
                  data.test.checksum(), data.train.size(), data.valid.size(), data.test.size());
  // The side tables, where there are any (the fingerprints of data without them are unchanged).
  for (const auto& [what, codes] : {std::pair{"user", &data.info.user_side_codes}, {"item", &data.info.item_side_codes}}) {
    if (!codes->defined()) continue;
    Crc32 crc;
    const auto table = codes->contiguous();
    crc.add(table.data_ptr(), table.numel() * table.element_size());
    fingerprint += fmt::format(", {} features crc32 {:08x}", what, crc.value());
  }
  return fingerprint;
}

}  // namespace mlrec::data
