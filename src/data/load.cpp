#include "mlrec/data/load.h"

#include <fmt/format.h>

#include <memory>

#include "mlrec/common/error.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/timer.h"
#include "mlrec/data/id_maps.h"
#include "mlrec/data/interactions.h"
#include "mlrec/data/movielens.h"
#include "mlrec/data/prepare.h"

namespace mlrec::data {

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
  return fmt::format("crc32 {:08x} {:08x} {:08x}, {} + {} + {} samples", data.train.checksum(), data.valid.checksum(),
                     data.test.checksum(), data.train.size(), data.valid.size(), data.test.size());
}

}  // namespace mlrec::data
