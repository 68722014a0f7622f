// The data-loading step of a run: a MovieLens release read, split by time, and turned into the
// tensors of its training, validation and (optionally) test sets.
#pragma once

#include <string>

#include "mlrec/config/config.h"
#include "mlrec/data/dataset.h"

namespace mlrec::data {

struct LoadedData {
  DatasetInfo info;
  RatingDataset train, valid, test;  // test is empty under the study's protocol
  std::string release;               // "ml-1m", ...
  double seconds = 0;                // from opening the files to the tensors being ready
};

/// Reads the release in options.dir, splits it (options.valid_per_user, test_per_user,
/// min_ratings_per_user) and builds the datasets with options.sequence_length; rank 0 logs
/// the release's statistics and the split. InputError naming the folder when the split leaves
/// no training, validation or (when asked for) test ratings.
LoadedData load_data(const config::Config::Data& options);

/// The prepared data's fingerprint: CRC-32 of the training, validation and test samples with
/// their sizes, as "crc32 1a2b3c4d 1a2b3c4d 00000000, 994169 + 6040 + 0 samples".
std::string data_fingerprint(const LoadedData& data);

}  // namespace mlrec::data
