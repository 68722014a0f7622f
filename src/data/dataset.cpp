#include "mlrec/data/dataset.h"

#include <torch/torch.h>

namespace mlrec::data {

RatingDataset::RatingDataset(const PreparedRatings& prepared, const std::vector<int64_t>& rows,
                             int sequence_length) {
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t length = sequence_length;
  auto i32 = torch::TensorOptions().dtype(torch::kInt32);
  movies_ = torch::empty({n, length}, i32);
  levels_ = torch::empty({n, length}, i32);
  auto pad = torch::empty({n, length}, torch::TensorOptions().dtype(torch::kUInt8));
  fill_windows(prepared, rows, sequence_length, movies_.data_ptr<int32_t>(),
               levels_.data_ptr<int32_t>(), pad.data_ptr<uint8_t>());
  pad_mask_ = pad.to(torch::kBool);

  user_ = torch::empty({n}, torch::kInt64);
  target_ = torch::empty({n}, torch::kFloat32);
  auto* user = user_.data_ptr<int64_t>();
  auto* target = target_.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    user[i] = prepared.user[rows[i]];
    target[i] = prepared.rating[rows[i]];
  }

  const int64_t users = prepared.num_users + 1;
  user_features_ = torch::zeros({users, 3}, torch::kInt64);
  auto* features = user_features_.data_ptr<int64_t>();
  if (prepared.has_user_features) {
    for (int64_t u = 0; u < users; ++u) {
      features[3 * u + 0] = prepared.sex[u];
      features[3 * u + 1] = prepared.age_group[u];
      features[3 * u + 2] = prepared.occupation[u];
    }
  }
}

Batch RatingDataset::gather(const at::Tensor& index) const {
  Batch batch;
  batch.user = user_.index_select(0, index);
  batch.movies = movies_.index_select(0, index);
  batch.levels = levels_.index_select(0, index);
  batch.pad_mask = pad_mask_.index_select(0, index);
  batch.features = user_features_.index_select(0, batch.user);
  batch.target = target_.index_select(0, index);
  return batch;
}

Batch RatingDataset::slice(int64_t begin, int64_t end) const {
  Batch batch;
  batch.user = user_.slice(0, begin, end);
  batch.movies = movies_.slice(0, begin, end);
  batch.levels = levels_.slice(0, begin, end);
  batch.pad_mask = pad_mask_.slice(0, begin, end);
  batch.features = user_features_.index_select(0, batch.user);
  batch.target = target_.slice(0, begin, end);
  return batch;
}

RatingDataset RatingDataset::to(const c10::Device& device) const {
  RatingDataset out;
  out.user_ = user_.to(device);
  out.movies_ = movies_.to(device);
  out.levels_ = levels_.to(device);
  out.pad_mask_ = pad_mask_.to(device);
  out.target_ = target_.to(device);
  out.user_features_ = user_features_.to(device);
  return out;
}

c10::Device RatingDataset::device() const {
  return target_.defined() ? target_.device() : c10::Device(c10::kCPU);
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

}  // namespace mlrec::data
