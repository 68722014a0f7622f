#include "mlrec/data/prepare.h"

#include <algorithm>
#include <string>

#include "mlrec/common/error.h"

namespace mlrec::data {

DenseCodes dense_codes(const std::vector<int32_t>& raw_ids) {
  DenseCodes out;
  const size_t n = raw_ids.size();
  out.code.resize(n);
  if (n == 0) return out;
  auto [lo_it, hi_it] = std::minmax_element(raw_ids.begin(), raw_ids.end());
  const int32_t lo = *lo_it;
  const int64_t range = static_cast<int64_t>(*hi_it) - lo + 1;
  // MovieLens ids are small and compact, so a table over the id range makes this O(n); sparse
  // ids (a range far above n) fall back to sorting.
  constexpr int64_t kMinTable = int64_t{1} << 20;
  if (range <= std::max<int64_t>(kMinTable, 4 * static_cast<int64_t>(n))) {
    std::vector<int32_t> slot(static_cast<size_t>(range), -1);
    for (int32_t id : raw_ids) slot[static_cast<size_t>(id - lo)] = 0;
    int32_t next = 0;
    for (int64_t k = 0; k < range; ++k) {
      if (slot[static_cast<size_t>(k)] == 0) {
        slot[static_cast<size_t>(k)] = next++;
        out.ids.push_back(static_cast<int32_t>(lo + k));
      }
    }
    for (size_t i = 0; i < n; ++i) out.code[i] = slot[static_cast<size_t>(raw_ids[i] - lo)];
  } else {
    out.ids = raw_ids;
    std::sort(out.ids.begin(), out.ids.end());
    out.ids.erase(std::unique(out.ids.begin(), out.ids.end()), out.ids.end());
    for (size_t i = 0; i < n; ++i) {
      out.code[i] = static_cast<int32_t>(
          std::lower_bound(out.ids.begin(), out.ids.end(), raw_ids[i]) - out.ids.begin());
    }
  }
  return out;
}

namespace {

int bit_width(uint64_t x) {
  int bits = 0;
  while (x != 0) {
    ++bits;
    x >>= 1;
  }
  return bits;
}

// Stable LSD radix sort of keys on bits [low_bit, high_bit), 11 bits per pass.
void radix_sort(std::vector<uint64_t>& keys, int low_bit, int high_bit) {
  constexpr int kDigitBits = 11;
  constexpr uint64_t kMask = (uint64_t{1} << kDigitBits) - 1;
  std::vector<uint64_t> tmp(keys.size());
  std::vector<size_t> count(kMask + 1);
  for (int shift = low_bit; shift < high_bit; shift += kDigitBits) {
    std::fill(count.begin(), count.end(), 0);
    for (uint64_t k : keys) ++count[(k >> shift) & kMask];
    // A digit that is the same for every key would leave the order unchanged.
    if (std::find(count.begin(), count.end(), keys.size()) != count.end()) continue;
    size_t sum = 0;
    for (size_t& c : count) {
      const size_t here = c;
      c = sum;
      sum += here;
    }
    for (uint64_t k : keys) tmp[count[(k >> shift) & kMask]++] = k;
    keys.swap(tmp);
  }
}

// Kept-row indices ordered by (dense user, timestamp), equal timestamps in kept order (which is
// file order); entry r & index_mask is the kept index of row r. When (user, timestamp - min,
// index) packs into 64 bits, as for every MovieLens release, this is one radix sort of packed
// integers: O(n) and exactly the stable sort. Otherwise a counting sort by user and a
// std::stable_sort per user. Temporaries are kept few: on small VMs first-touch page faults
// cost as much as the sort itself.
template <class UserOf, class TimeOf>
std::vector<uint64_t> time_order(size_t n, UserOf user_of, TimeOf time_of,
                                 const std::vector<int64_t>& user_start, int32_t num_users,
                                 uint64_t& index_mask) {
  std::vector<uint64_t> keys(n);
  index_mask = ~uint64_t{0};
  if (n == 0) return keys;
  int64_t lo = time_of(0), hi = lo;
  for (size_t k = 1; k < n; ++k) {
    const int64_t t = time_of(k);
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  const uint64_t ts_min = static_cast<uint64_t>(lo);
  const int index_bits = bit_width(n - 1);
  const int ts_bits = bit_width(static_cast<uint64_t>(hi) - ts_min);
  const int user_bits = bit_width(static_cast<uint64_t>(num_users));
  if (index_bits + ts_bits + user_bits <= 64) {
    for (size_t k = 0; k < n; ++k) {
      // Shifting by 64 is undefined, so a field of zero width is left out rather than shifted.
      uint64_t key = k;
      if (ts_bits > 0) key |= (static_cast<uint64_t>(time_of(k)) - ts_min) << index_bits;
      if (user_bits > 0) key |= static_cast<uint64_t>(user_of(k)) << (index_bits + ts_bits);
      keys[k] = key;
    }
    radix_sort(keys, index_bits, index_bits + ts_bits + user_bits);
    index_mask = index_bits == 64 ? ~uint64_t{0} : (uint64_t{1} << index_bits) - 1;
    return keys;
  }
  std::vector<int64_t> cursor(user_start.begin(), user_start.end() - 1);
  for (size_t k = 0; k < n; ++k) keys[static_cast<size_t>(cursor[static_cast<size_t>(user_of(k))]++)] = k;
  for (int32_t u = 1; u <= num_users; ++u) {
    std::stable_sort(keys.begin() + user_start[static_cast<size_t>(u)],
                     keys.begin() + user_start[static_cast<size_t>(u) + 1],
                     [&](uint64_t a, uint64_t b) { return time_of(a) < time_of(b); });
  }
  return keys;
}

}  // namespace

PreparedRatings prepare_ratings(const RawRatings& raw, const SplitOptions& options) {
  if (options.valid_per_user < 0) {
    throw ConfigError::for_key("data.valid_per_user",
                               "must be >= 0, got " + std::to_string(options.valid_per_user));
  }
  if (options.test_per_user < 0) {
    throw ConfigError::for_key("data.test_per_user",
                               "must be >= 0, got " + std::to_string(options.test_per_user));
  }
  if (options.min_ratings_per_user < 0) {
    throw ConfigError::for_key("data.min_ratings_per_user",
                               "must be >= 0, got " + std::to_string(options.min_ratings_per_user));
  }
  const size_t n_raw = raw.rating.size();
  MLREC_CHECK(raw.user_id.size() == n_raw && raw.movie_id.size() == n_raw &&
                  raw.timestamp.size() == n_raw,
              "RawRatings columns differ in length");

  PreparedRatings out;
  out.scale = raw.scale;
  out.has_user_features = raw.has_user_features;

  // Users: count ratings per raw user, drop the sparse ones, number the rest 1..n in raw id order
  // (the raw ids come sorted from dense_codes).
  DenseCodes users = dense_codes(raw.user_id);
  const size_t n_raw_users = users.ids.size();
  std::vector<int64_t> count(n_raw_users, 0);
  for (int32_t c : users.code) ++count[static_cast<size_t>(c)];
  std::vector<int32_t> dense_user(n_raw_users, 0);  // 0 = dropped
  int32_t num_users = 0;
  for (size_t c = 0; c < n_raw_users; ++c) {
    if (count[c] >= options.min_ratings_per_user) dense_user[c] = ++num_users;
  }
  if (num_users == 0) {
    throw ConfigError::for_key("data.min_ratings_per_user",
                               "is " + std::to_string(options.min_ratings_per_user) + ", which drops every user: the most "
                               "ratings a user has is " + std::to_string(count.empty() ? 0 : *std::max_element(count.begin(), count.end())));
  }
  out.num_users = num_users;

  // Rows kept, in file order; a copy only when some user was dropped.
  const bool dropped = num_users != static_cast<int32_t>(n_raw_users);
  std::vector<int64_t> kept_rows;
  if (dropped) {
    kept_rows.reserve(n_raw);
    for (size_t i = 0; i < n_raw; ++i) {
      if (dense_user[static_cast<size_t>(users.code[i])] != 0) kept_rows.push_back(static_cast<int64_t>(i));
    }
  }
  const size_t n = dropped ? kept_rows.size() : n_raw;
  auto file_row = [&](size_t k) -> size_t {
    return dropped ? static_cast<size_t>(kept_rows[k]) : k;
  };

  // Movies: numbered over the kept rows (training, validation and test alike), in raw id order.
  DenseCodes movies;
  if (dropped) {
    std::vector<int32_t> kept_movie_ids(n);
    for (size_t k = 0; k < n; ++k) kept_movie_ids[k] = raw.movie_id[file_row(k)];
    movies = dense_codes(kept_movie_ids);
  } else {
    movies = dense_codes(raw.movie_id);
  }
  out.num_movies = static_cast<int32_t>(movies.ids.size());

  // Each user's rows form one block, users in dense order.
  out.user_start.assign(static_cast<size_t>(num_users) + 2, 0);
  for (size_t c = 0; c < n_raw_users; ++c) {
    if (dense_user[c] != 0) out.user_start[static_cast<size_t>(dense_user[c]) + 1] = count[c];
  }
  for (size_t u = 1; u < out.user_start.size(); ++u) out.user_start[u] += out.user_start[u - 1];
  auto user_of = [&](size_t k) { return dense_user[static_cast<size_t>(users.code[file_row(k)])]; };
  auto time_of = [&](size_t k) { return raw.timestamp[file_row(k)]; };
  uint64_t index_mask = 0;
  const std::vector<uint64_t> order =  // row -> kept index (& index_mask)
      time_order(n, user_of, time_of, out.user_start, num_users, index_mask);

  out.user.resize(n);
  out.movie.resize(n);
  out.rating.resize(n);
  out.rating_level.resize(n);
  out.timestamp.resize(n);
  out.is_valid.assign(n, 0);
  out.is_test.assign(n, 0);
  // 64-bit so that two large per-user counts cannot overflow when added.
  const int64_t n_valid = options.valid_per_user, n_test = options.test_per_user;
  for (int32_t u = 1; u <= num_users; ++u) {
    const int64_t begin = out.user_start[static_cast<size_t>(u)];
    const int64_t end = out.user_start[static_cast<size_t>(u) + 1];
    for (int64_t r = begin; r < end; ++r) {
      const size_t k = static_cast<size_t>(order[static_cast<size_t>(r)] & index_mask);
      const size_t i = file_row(k);
      out.user[static_cast<size_t>(r)] = u;
      out.movie[static_cast<size_t>(r)] = movies.code[k] + 1;
      const float rating = raw.rating[i];
      MLREC_CHECK(raw.scale.contains(rating), "rating " + std::to_string(rating) + " off the scale");
      out.rating[static_cast<size_t>(r)] = rating;
      out.rating_level[static_cast<size_t>(r)] = raw.scale.level(rating);
      out.timestamp[static_cast<size_t>(r)] = raw.timestamp[i];
    }
    // A user needs at least one training rating besides the held-out ones (validation and test);
    // otherwise all of theirs stay in training. Test rows are the very last, validation before.
    if (end - begin > n_valid + n_test) {
      for (int64_t r = end - n_test - n_valid; r < end - n_test; ++r) out.is_valid[static_cast<size_t>(r)] = 1;
      for (int64_t r = end - n_test; r < end; ++r) out.is_test[static_cast<size_t>(r)] = 1;
    }
  }

  // Capacities are upper bounds (users with too few ratings hold nothing out).
  const size_t n_users = static_cast<size_t>(num_users);
  out.valid_rows.reserve(std::min(n, n_users * static_cast<size_t>(n_valid)));
  out.test_rows.reserve(std::min(n, n_users * static_cast<size_t>(n_test)));
  out.train_rows.reserve(n);
  for (size_t r = 0; r < n; ++r) {
    std::vector<int64_t>& rows =
        out.is_test[r] ? out.test_rows : (out.is_valid[r] ? out.valid_rows : out.train_rows);
    rows.push_back(static_cast<int64_t>(r));
  }

  out.raw_user.assign(static_cast<size_t>(num_users) + 1, 0);
  for (size_t c = 0; c < n_raw_users; ++c) {
    if (dense_user[c] != 0) out.raw_user[static_cast<size_t>(dense_user[c])] = users.ids[c];
  }
  out.raw_movie.assign(static_cast<size_t>(out.num_movies) + 1, 0);
  for (size_t m = 0; m < movies.ids.size(); ++m) out.raw_movie[m + 1] = movies.ids[m];

  out.sex.assign(static_cast<size_t>(num_users) + 1, 0);
  out.age_group.assign(static_cast<size_t>(num_users) + 1, 0);
  out.occupation.assign(static_cast<size_t>(num_users) + 1, 0);
  if (raw.has_user_features) {
    for (int32_t u = 1; u <= num_users; ++u) {
      auto it = raw.user_features.find(out.raw_user[static_cast<size_t>(u)]);
      MLREC_CHECK(it != raw.user_features.end(),
                  "no features for user " + std::to_string(out.raw_user[static_cast<size_t>(u)]));
      out.sex[static_cast<size_t>(u)] = it->second.sex;
      out.age_group[static_cast<size_t>(u)] = it->second.age_group;
      out.occupation[static_cast<size_t>(u)] = it->second.occupation;
    }
  }
  return out;
}

namespace {

// fill_windows for any padding-flag type and row stride (in elements).
template <typename Pad>
void fill_windows_strided(const PreparedRatings& data, const std::vector<int64_t>& rows, int length,
                          int32_t* movies, int32_t* levels, Pad* pad, int64_t stride) {
  MLREC_CHECK(length >= 1, "window length must be positive");
  const int64_t n = data.size();
  const size_t len = static_cast<size_t>(length);
  for (size_t w = 0; w < rows.size(); ++w) {
    const int64_t row = rows[w];
    MLREC_CHECK(row >= 0 && row < n, "row " + std::to_string(row) + " out of range");
    const int64_t start = data.user_start[static_cast<size_t>(data.user[static_cast<size_t>(row)])];
    const int64_t first = row - (length - 1);
    const auto offset = static_cast<int64_t>(w) * stride;
    int32_t* m = movies + offset;
    int32_t* l = levels + offset;
    Pad* p = pad + offset;
    // Positions before the user's first row are padding; the rest copy contiguous rows.
    const size_t padded = first < start ? static_cast<size_t>(start - first) : 0;
    std::fill(m, m + padded, 0);
    std::fill(l, l + padded, 0);
    std::fill(p, p + padded, Pad{1});
    const size_t src = static_cast<size_t>(first + static_cast<int64_t>(padded));
    std::copy(data.movie.begin() + static_cast<std::ptrdiff_t>(src),
              data.movie.begin() + static_cast<std::ptrdiff_t>(src + len - padded), m + padded);
    std::copy(data.rating_level.begin() + static_cast<std::ptrdiff_t>(src),
              data.rating_level.begin() + static_cast<std::ptrdiff_t>(src + len - padded), l + padded);
    std::fill(p + padded, p + len, Pad{0});
  }
}

}  // namespace

void fill_windows(const PreparedRatings& data, const std::vector<int64_t>& rows, int length,
                  int32_t* movies, int32_t* levels, uint8_t* pad) {
  fill_windows_strided(data, rows, length, movies, levels, pad, length);
}

void fill_windows(const PreparedRatings& data, const std::vector<int64_t>& rows, int length,
                  int32_t* movies, int32_t* levels, int32_t* pad, int64_t row_stride) {
  fill_windows_strided(data, rows, length, movies, levels, pad, row_stride);
}

}  // namespace mlrec::data
