#include "mlrec/data/dataset.h"

#include "mlrec/common/checksum.h"

#include <torch/torch.h>

#include <cstring>

namespace mlrec::data {

namespace {

// Columns of a sample row, for window length L. Rows are padded to a multiple of 4 columns
// (16 bytes), the unit torch's vectorised row gather moves.
struct Columns {
  int64_t length;
  int64_t user() const { return 0; }
  int64_t movies() const { return 1; }
  int64_t levels() const { return 1 + length; }
  int64_t pad() const { return 1 + 2 * length; }
  int64_t features() const { return 1 + 3 * length; }
  int64_t target() const { return 4 + 3 * length; }
  int64_t width() const { return (target() + 1 + 3) / 4 * 4; }
};

}  // namespace

RatingDataset::RatingDataset(const PreparedRatings& prepared, const std::vector<int64_t>& rows,
                             int sequence_length)
    : length_(sequence_length) {
  const int64_t n = static_cast<int64_t>(rows.size());
  const Columns c{length_};
  samples_ = torch::zeros({n, c.width()}, torch::kInt32);
  auto* table = samples_.data_ptr<int32_t>();
  const int64_t width = c.width();
  fill_windows(prepared, rows, sequence_length, table + c.movies(), table + c.levels(), table + c.pad(), width);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = rows[static_cast<size_t>(i)];
    const int32_t user = prepared.user[static_cast<size_t>(row)];
    int32_t* sample = table + i * width;
    sample[c.user()] = user;
    if (prepared.has_user_features) {
      sample[c.features() + 0] = prepared.sex[static_cast<size_t>(user)];
      sample[c.features() + 1] = prepared.age_group[static_cast<size_t>(user)];
      sample[c.features() + 2] = prepared.occupation[static_cast<size_t>(user)];
    }
    // The target's bits as an int32 column, so that one gather brings it along.
    std::memcpy(&sample[c.target()], &prepared.rating[static_cast<size_t>(row)], sizeof(float));
  }
}

Batch RatingDataset::unpack(const at::Tensor& rows) const {
  const Columns c{length_};
  Batch batch;
  batch.user = rows.select(1, c.user());
  batch.movies = rows.narrow(1, c.movies(), length_);
  batch.levels = rows.narrow(1, c.levels(), length_);
  batch.pad_mask = rows.narrow(1, c.pad(), length_).ne(0);
  batch.features = rows.narrow(1, c.features(), 3);
  batch.target = rows.select(1, c.target()).view(torch::kFloat32);
  return batch;
}

Batch RatingDataset::gather(const at::Tensor& index) const { return unpack(samples_.index_select(0, index)); }

Batch RatingDataset::slice(int64_t begin, int64_t end) const { return unpack(samples_.slice(0, begin, end)); }

at::Tensor RatingDataset::targets() const {
  return samples_.select(1, Columns{length_}.target()).view(torch::kFloat32).contiguous();
}

RatingDataset RatingDataset::to(const c10::Device& device) const {
  RatingDataset out;
  out.length_ = length_;
  out.samples_ = samples_.to(device);
  return out;
}

c10::Device RatingDataset::device() const {
  return samples_.defined() ? samples_.device() : c10::Device(c10::kCPU);
}

DatasetInfo make_dataset_info(const PreparedRatings& prepared, int sequence_length) {
  DatasetInfo info;
  info.num_users = prepared.num_users;
  info.num_movies = prepared.num_movies;
  info.num_rating_levels = prepared.scale.num_levels();
  info.has_user_features = prepared.has_user_features;
  info.rating_min = prepared.scale.min_rating;
  info.rating_max = prepared.scale.max_rating;
  info.rating_step = prepared.scale.step;
  info.sequence_length = sequence_length;
  return info;
}

SeenItems SeenItems::to(const c10::Device& device) const {
  return {offsets.to(device), items.to(device)};
}

void SeenItems::mask(at::Tensor& scores, const at::Tensor& users, float value) const {
  auto user = users.to(torch::kInt64);
  auto first = offsets.index_select(0, user);
  auto counts = offsets.index_select(0, user + 1) - first;
  const int64_t total = counts.sum().item<int64_t>();
  if (total == 0) return;
  // (row, item) pairs of every row's seen items: row b repeated counts[b] times, and each of its
  // items' positions in the CSR.
  auto row = torch::repeat_interleave(counts);
  auto row_start = counts.cumsum(0) - counts;
  auto position = torch::arange(total, counts.options()) - row_start.index_select(0, row) + first.index_select(0, row);
  scores.index_put_({row, items.index_select(0, position).to(torch::kInt64)}, torch::full({}, value, scores.options()));
}

SeenItems seen_items(const PreparedRatings& prepared, SeenRows which) {
  const auto seen = [&](size_t row) {
    if (prepared.is_test[row]) return which == SeenRows::kAll;
    if (prepared.is_valid[row]) return which != SeenRows::kTraining;
    return true;
  };
  const int64_t users = prepared.num_users;
  SeenItems out;
  out.offsets = torch::zeros({users + 2}, torch::kInt64);
  auto* offsets = out.offsets.data_ptr<int64_t>();
  std::vector<int32_t> items;
  items.reserve(prepared.movie.size());
  // Rows are grouped by user in dense order (prepare.h), so one pass fills the CSR.
  for (int64_t u = 1; u <= users; ++u) {
    offsets[u] = static_cast<int64_t>(items.size());
    for (int64_t r = prepared.user_start[u]; r < prepared.user_start[u + 1]; ++r) {
      if (seen(static_cast<size_t>(r))) items.push_back(prepared.movie[static_cast<size_t>(r)]);
    }
  }
  offsets[users + 1] = static_cast<int64_t>(items.size());
  out.items = torch::from_blob(items.data(), {static_cast<int64_t>(items.size())}, torch::kInt32).clone();
  return out;
}

uint32_t RatingDataset::checksum() const {
  Crc32 crc;
  if (size() > 0) {
    const auto table = samples_.to(torch::kCPU).contiguous();
    crc.add(table.data_ptr(), table.numel() * table.element_size());
  }
  return crc.value();
}

}  // namespace mlrec::data
