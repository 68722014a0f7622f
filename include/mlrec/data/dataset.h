// Tensor-resident datasets: every sample of a split lives in a few tensors (on the CPU or the
// GPU) and a batch is gathered by index, with no per-sample objects and no worker processes.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
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
  // Side features of your own data (data/side_features.h), for seq_features: per dense user
  // (item), int32 [num_users + 1, F] codes (0 = unknown), undefined when there is no table, and
  // each feature's number of codes.
  at::Tensor user_side_codes, item_side_codes;
  std::vector<int64_t> user_side_sizes, item_side_sizes;
};

/// The samples of one split, held in one int32 tensor with a row per sample: user, the movie
/// window, its rating levels, its padding flags, the user's features and the target's float bits.
/// Gathering a batch is then a single row gather (on the GPU one kernel, where six separate
/// tensors took six kernels: a large share of the MF step, BENCHMARKS.md, "Why each kernel exists").
class RatingDataset {
 public:
  RatingDataset() = default;
  /// Builds the windows of `rows` (indices into `prepared`) with the given length.
  RatingDataset(const PreparedRatings& prepared, const std::vector<int64_t>& rows, int sequence_length);

  int64_t size() const { return samples_.defined() ? samples_.size(0) : 0; }
  /// The samples at `index` (int64, on this dataset's device), in that order.
  Batch gather(const at::Tensor& index) const;
  /// Samples [begin, end) in dataset order: no copy.
  Batch slice(int64_t begin, int64_t end) const;
  /// A copy of the dataset on `device`.
  RatingDataset to(const c10::Device& device) const;
  /// The targets, float [N], contiguous (a copy of the table's column, for closed-form fits).
  at::Tensor targets() const;
  c10::Device device() const;
  /// CRC-32 of every sample (the whole table): two datasets with the same value hold the same
  /// samples in the same order.
  uint32_t checksum() const;

 private:
  /// The batch viewed from rows of samples_.
  Batch unpack(const at::Tensor& rows) const;

  int64_t length_ = 0;   // the window length L
  at::Tensor samples_;   // int32 [N, width], columns as in dataset.cpp
};

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
