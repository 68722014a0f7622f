// The statistics of a release, as the study prints them (declared in mlrec/data/movielens.h).
#include <algorithm>
#include <sstream>
#include <vector>

#include "mlrec/common/logging.h"
#include "mlrec/data/movielens.h"
#include "mlrec/data/prepare.h"
#include "text_reader.h"

namespace mlrec::data {

DataStats compute_stats(const RawRatings& raw) {
  DataStats s;
  s.ratings = raw.size();
  if (s.ratings == 0) return s;
  DenseCodes users = dense_codes(raw.user_id);
  s.users = static_cast<int64_t>(users.ids.size());
  s.movies = static_cast<int64_t>(dense_codes(raw.movie_id).ids.size());
  auto [lo, hi] = std::minmax_element(raw.rating.begin(), raw.rating.end());
  s.min_rating = *lo;
  s.max_rating = *hi;
  std::vector<int64_t> per_user(users.ids.size(), 0);
  for (int32_t c : users.code) ++per_user[static_cast<size_t>(c)];
  auto [cmin, cmax] = std::minmax_element(per_user.begin(), per_user.end());
  s.per_user_min = *cmin;
  s.per_user_max = *cmax;
  // Median as numpy computes it (mean of the two middle values), truncated to an integer.
  const size_t mid = per_user.size() / 2;
  std::nth_element(per_user.begin(), per_user.begin() + mid, per_user.end());
  int64_t upper = per_user[mid];
  if (per_user.size() % 2 == 0) {
    int64_t lower = *std::max_element(per_user.begin(), per_user.begin() + mid);
    s.per_user_median = (lower + upper) / 2;
  } else {
    s.per_user_median = upper;
  }
  return s;
}


std::string format_stats(const RawRatings& raw, const DataStats& s) {
  std::ostringstream os;
  const bool interactions = raw.release == Release::kInteractions;
  if (interactions) {
    os << "interactions file " << raw.dir << "\n";
    os << "  " << with_commas(s.ratings) << " ratings from " << with_commas(s.users) << " users on "
       << with_commas(s.movies) << " items (ids: users as "
       << (raw.user_names.empty() ? "integers" : "text") << ", items as "
       << (raw.movie_names.empty() ? "integers" : "text") << ")\n";
  } else {
    os << release_name(raw.release) << " release in " << raw.dir << "\n";
    os << "  " << with_commas(s.ratings) << " ratings from " << with_commas(s.users) << " users on "
       << with_commas(s.movies) << " movies (" << with_commas(raw.catalog_movies) << " in the catalog)\n";
  }
  os << "  ratings " << text::format_number(s.min_rating) << ".." << text::format_number(s.max_rating)
     << " (scale " << describe(raw.scale) << ")\n";
  if (raw.scale_inferred) {
    os << "  rating scale inferred from the data: " << describe(raw.scale)
       << " (declare it with data.interactions.rating_min, rating_max and rating_step)\n";
  }
  os << "  ratings per user: min " << with_commas(s.per_user_min) << ", median "
     << with_commas(s.per_user_median) << ", max " << with_commas(s.per_user_max) << "\n";
  os << "  user features: " << (raw.has_user_features ? "sex, age group, occupation" : "none")
     << "\n";
  if (raw.duplicates_dropped > 0) {
    os << "  note: " << with_commas(raw.duplicates_dropped)
       << " rating(s) of a (user, movie) pair rated again were dropped: each pair keeps its latest "
          "rating (by timestamp), so no pair is in both training and held-out data\n";
  }
  if (!raw.other_releases.empty()) {
    std::string names;
    for (const auto& name : raw.other_releases) names += (names.empty() ? "" : ", ") + name;
    os << "  note: the folder also holds " << names << " (another release): read as "
       << release_name(raw.release) << " only\n";
  }
  return os.str();
}

}  // namespace mlrec::data
