// A small seeded MovieLens-format dataset written to a temp dir, loaded and prepared: the data
// every torch-side test trains on (no ../shared, no network).
#pragma once

#include "mlrec/config/config.h"
#include "mlrec/data/dataset.h"
#include "mlrec/data/movielens.h"
#include "mlrec/data/prepare.h"
#include "mlrec/data/synthetic.h"
#include "support/temp_dir.h"

namespace mlrec::test_support {

struct SyntheticData {
  TempDir dir;
  data::PreparedRatings prepared;
  data::DatasetInfo info;
  data::RatingDataset train, valid;

  explicit SyntheticData(int users = 120, int movies = 80, uint64_t seed = 7, int length = 10,
                         data::Release format = data::Release::kMovieLens1M) {
    data::SyntheticOptions options;
    options.users = users;
    options.movies = movies;
    options.seed = seed;
    data::write_synthetic_movielens(dir.path(), format, options);
    prepared = data::prepare_ratings(data::load_movielens(dir.path()), data::SplitOptions{});
    info = data::make_dataset_info(prepared, length);
    train = data::RatingDataset(prepared, prepared.train_rows, length);
    valid = data::RatingDataset(prepared, prepared.valid_rows, length);
  }
};

/// A model configuration small enough to train in a test: every size cut down, embeddings
/// N(0, 0.1) (the study's N(0, 1) saturates MF).
inline config::Config::Model small_model(const std::string& name) {
  config::Config::Model m;
  m.name = name;
  m.factors = 8;
  m.embedding_dim = 16;
  m.heads = 4;
  m.ff_dim = 32;
  m.mlp_dims = {32, 16, 8};
  m.embedding_init_std = 0.1;
  return m;
}

}  // namespace mlrec::test_support
