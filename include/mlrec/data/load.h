// The data-loading step of a run: a MovieLens release read, split by time, and turned into the
// tensors of its training, validation and (optionally) test sets.
#pragma once

#include <memory>
#include <string>

#include "mlrec/config/config.h"
#include "mlrec/data/dataset.h"
#include "mlrec/data/id_maps.h"

namespace mlrec::data {

struct LoadedData {
  DatasetInfo info;
  RatingDataset train, valid, test;  // test is empty under the study's protocol
  // For ranking metrics: per user, the training items (excluded from a validation row's
  // candidates) and the training and validation items (from a test row's).
  SeenItems seen_before_valid, seen_before_test;
  IdMaps ids;                        // dense index <-> the data's ids (id_maps.json)
  // The prepared rows (every user's ratings in time order), when load_data was asked to keep
  // them: what `predict` and `recommend` take histories from. Not kept for training.
  std::shared_ptr<const PreparedRatings> prepared;
  std::string release;               // "ml-1m", ...
  double seconds = 0;                // from opening the files to the tensors being ready
};

/// Reads the release in options.dir, splits it (options.valid_per_user, test_per_user,
/// min_ratings_per_user) and builds the datasets with options.sequence_length; rank 0 logs
/// the release's statistics and the split. InputError naming the folder when the split leaves
/// no training, validation or (when asked for) test ratings.
LoadedData load_data(const config::Config::Data& options, bool keep_prepared = false);

/// The prepared data's fingerprint: CRC-32 of the training, validation and test samples with
/// their sizes, as "crc32 1a2b3c4d 1a2b3c4d 00000000, 994169 + 6040 + 0 samples".
std::string data_fingerprint(const LoadedData& data);

}  // namespace mlrec::data
