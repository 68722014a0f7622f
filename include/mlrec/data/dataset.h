// Tensor-resident datasets: every sample of a split lives in a few tensors (on the CPU or the
// GPU) and a batch is gathered by index, with no per-sample objects and no worker processes.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "mlrec/data/prepare.h"

namespace mlrec::data {

/// One batch of rating-prediction samples (all tensors on the same device, first dim = batch).
/// The fields are views of one gathered int32 table (see RatingDataset), so they need not be
/// contiguous.
struct Batch {
  at::Tensor user;        // int32 [B]      dense user id
  at::Tensor movies;      // int32 [B, L]   window of movie ids ending at the target, 0 = padding
  at::Tensor levels;      // int32 [B, L]   rating level of each window position, 0 = padding
  at::Tensor pad_mask;    // bool  [B, L]   true where padded
  at::Tensor features;    // int32 [B, 3]   sex, age group, occupation codes (zeros if absent)
  at::Tensor target;      // float [B]      the rating to predict
  int64_t size() const { return target.size(0); }
};

/// What a model needs to know about the data to size itself.
struct DatasetInfo {
  int32_t num_users = 0;          // dense ids 1..num_users (0 = padding / unknown)
  int32_t num_movies = 0;
  int num_rating_levels = 5;      // levels 1..K; 0 = padding
  bool has_user_features = false;
  float rating_min = 1, rating_max = 5, rating_step = 1;
  int sequence_length = 10;
  int64_t train_samples = 0;      // training samples (what closed-form models keep per rating)
  // Side features of your own data (data/side_features.h), for seq_features: per dense user
  // (item), int32 [num_users + 1, F] codes (0 = unknown), undefined when there is no table, and
  // each feature's number of codes.
  at::Tensor user_side_codes, item_side_codes;
  std::vector<int64_t> user_side_sizes, item_side_sizes;
};

/// Every prepared rating, column by column, in PreparedRatings' row order (grouped by user, each
/// user's in time order): what datasets take their samples' windows from. ~16 bytes per rating.
/// The tensors may view a cache file mapped into memory (data/prepared_cache.h), which every rank
/// on the host then shares; nothing writes to them.
struct RatingColumns {
  at::Tensor user, movie, level;  // int32 [N]: dense user, dense movie, rating level (1..K)
  at::Tensor rating;              // float [N]
  at::Tensor user_start;          // int64 [num_users + 2], as PreparedRatings::user_start
  at::Tensor user_features;       // int32 [num_users + 1, 3]: sex, age group, occupation (zeros if absent)

  int64_t size() const { return rating.defined() ? rating.size(0) : 0; }
  RatingColumns to(const c10::Device& device) const;
};
RatingColumns rating_columns(const PreparedRatings& prepared);

/// How a dataset holds its samples' windows (data.windows).
enum class WindowStorage {
  kMaterialized,  // one int32 row per sample, built once: a batch is one row gather (fastest)
  kGathered,      // only the sample's row index: windows are gathered from the columns per batch
};

/// The samples of one split: for each, its row among the columns. A batch is one int32 table with
/// a row per sample (user, the movie window, its rating levels, its padding flags, the user's
/// features and the target's float bits), built by tensor ops on the dataset's device, so that
/// gathering is the same code on the CPU and the GPU. Materialized, that table is built once for
/// the whole split and a batch is a single row gather (on the GPU one kernel, where six separate
/// tensors took six kernels: BENCHMARKS.md, "Why each kernel exists"); it costs ~144 bytes per
/// sample at the study's window of 10. Gathered, a dataset costs 8 bytes per sample besides the
/// shared columns, and each batch does the table's work for its own rows (what lets 32M ratings
/// fit: issue 19). Both give the same batches, bit for bit.
class RatingDataset {
 public:
  RatingDataset() = default;
  /// The samples at `rows` (int32 or int64 indices into the columns), windows of length
  /// sequence_length.
  RatingDataset(std::shared_ptr<const RatingColumns> columns, at::Tensor rows, int sequence_length,
                WindowStorage storage);
  /// The same from prepared rows, materialized (for tests and small tools).
  RatingDataset(const PreparedRatings& prepared, const std::vector<int64_t>& rows, int sequence_length);

  int64_t size() const { return rows_.defined() ? rows_.size(0) : 0; }
  /// The samples at `index` (int64, on this dataset's device), in that order.
  Batch gather(const at::Tensor& index) const;
  /// Samples [begin, end) in dataset order (materialized: no copy).
  Batch slice(int64_t begin, int64_t end) const;
  /// A copy of the dataset on `device`. A gathered dataset needs the columns there too: pass
  /// them when several datasets share one copy (LoadedData::to), else they are copied for it.
  RatingDataset to(const c10::Device& device, std::shared_ptr<const RatingColumns> columns_there = nullptr) const;
  /// The targets, float [N], contiguous (for closed-form fits).
  at::Tensor targets() const;
  c10::Device device() const;
  WindowStorage storage() const { return table_.defined() ? WindowStorage::kMaterialized : WindowStorage::kGathered; }
  /// CRC-32 of every sample's row of the table (whether materialized or not): two datasets with
  /// the same value hold the same samples in the same order.
  uint32_t checksum() const;
  /// Bytes of the materialized table for `samples` samples of window length `length`.
  static int64_t materialized_bytes(int64_t samples, int length);

 private:
  /// The table's rows for the samples at `rows` (row indices).
  at::Tensor sample_table(const at::Tensor& rows) const;
  /// The batch viewed from rows of a sample table.
  Batch unpack(const at::Tensor& rows) const;

  int64_t length_ = 0;                           // the window length L
  std::shared_ptr<const RatingColumns> columns_;  // gathered: where windows come from
  at::Tensor rows_;                              // int32 or int64 [N]: each sample's row among the columns
  at::Tensor table_;                             // materialized: int32 [N, width], columns as in dataset.cpp
};

/// The sample table of `rows` built by tensor ops, as a gathered dataset on the GPU builds it (on
/// the CPU a loop does): for the tests that compare the two.
at::Tensor sample_table_by_tensor_ops(const RatingColumns& columns, const at::Tensor& rows, int length);

DatasetInfo make_dataset_info(const PreparedRatings& prepared, int sequence_length);

/// The items each user rated before their held-out rows, as CSR over dense user ids: what
/// full-ranking metrics exclude from a held-out row's candidates, and `recommend` from a user's.
struct SeenItems {
  at::Tensor offsets;  // int64 [num_users + 2]: user u's items are items[offsets[u], offsets[u + 1])
  at::Tensor items;    // int32 dense item ids, each user's in row order

  bool defined() const { return offsets.defined(); }
  SeenItems to(const c10::Device& device) const;
  /// Sets scores[b, m] = value for every item m user[b] has seen: scores is [B, items + 1] and
  /// users [B] (dense ids), both on this CSR's device; no host loop (one small read of the count).
  void mask(at::Tensor& scores, const at::Tensor& users, float value) const;
};

/// Which rows count as seen: the training rows, optionally with the validation and test rows.
enum class SeenRows { kTraining, kTrainingAndValidation, kAll };
SeenItems seen_items(const PreparedRatings& prepared, SeenRows rows);

}  // namespace mlrec::data
