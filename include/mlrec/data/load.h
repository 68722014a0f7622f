// The data-loading step of a run: a MovieLens release read, split by time, and turned into the
// tensors of its training, validation and (optionally) test sets.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "mlrec/config/config.h"
#include "mlrec/data/dataset.h"
#include "mlrec/data/id_maps.h"

namespace mlrec::data {

struct LoadedData {
  DatasetInfo info;
  // Every rating, column by column (a mapped cache file's arrays with data.cache_dir), which
  // gathered datasets take their windows from; train, valid and test share it.
  std::shared_ptr<const RatingColumns> columns;
  RatingDataset train, valid, test;  // test is empty under the study's protocol
  // For ranking metrics: per user, the training items (excluded from a validation row's
  // candidates) and the training and validation items (from a test row's).
  SeenItems seen_before_valid, seen_before_test;
  IdMaps ids;                        // dense index <-> the data's ids (id_maps.json)
  // The prepared rows (every user's ratings in time order), when load_data was asked to keep
  // them: what `predict` and `recommend` take histories from. Not kept for training.
  std::shared_ptr<const PreparedRatings> prepared;
  std::string release;               // "ml-1m", ...
  std::string statistics;            // the release's statistics, as logged
  double seconds = 0;                // from opening the files to the tensors being ready
  std::string cache_file;            // the prepared-data cache mapped ("" = none)
  bool cache_built = false;          // this process wrote cache_file (no cache was there)
  // The samples' CRCs (train, valid, test): recorded in the cache, or computed by load_data.
  std::optional<std::array<uint32_t, 3>> sample_checksums;

  /// Moves the datasets (and the columns they gather from, once) to `device`.
  void to(const c10::Device& device);
};

/// Reads the release in options.dir, splits it (options.valid_per_user, test_per_user,
/// min_ratings_per_user) and builds the datasets with options.sequence_length; rank 0 logs
/// the release's statistics and the split. InputError naming the folder when the split leaves
/// no training, validation or (when asked for) test ratings.
///
/// With options.cache_dir, the prepared data comes from its cache file (data/prepared_cache.h),
/// which the first process to need it writes while the others (ranks on this host, concurrent
/// runs) wait for it; a cache that cannot be written is a warning, and the run goes on from the
/// text. keep_prepared (predict, recommend) always reads the text.
LoadedData load_data(const config::Config::Data& options, bool keep_prepared = false);

/// The prepared data's fingerprint: CRC-32 of the training, validation and test samples with
/// their sizes, as "crc32 1a2b3c4d 1a2b3c4d 00000000, 994169 + 6040 + 0 samples".
std::string data_fingerprint(const LoadedData& data);

}  // namespace mlrec::data
