#include "mlrec/data/load.h"

#include <fmt/format.h>

#include <filesystem>
#include <limits>
#include <memory>

#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include "mlrec/common/checksum.h"
#include "mlrec/common/host_memory.h"
#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/timer.h"
#include "mlrec/data/id_maps.h"
#include "mlrec/data/interactions.h"
#include "mlrec/data/movielens.h"
#include "mlrec/data/prepare.h"
#include "mlrec/data/prepared_cache.h"
#include "mlrec/data/side_features.h"

namespace mlrec::data {

namespace {

// The user and item tables of your own data, read for the run's dense ids: their codes go to the
// model (DatasetInfo), their values to id_maps.json.
void add_side_features(const config::Config::Data::Interactions& options, LoadedData& loaded) {
  const auto read = [&](const char* key, const std::string& path, const std::string& id, const std::string& default_id,
                        const std::string& features, const std::vector<std::string>& ids, at::Tensor& codes,
                        std::vector<int64_t>& sizes, std::vector<std::pair<std::string, std::vector<std::string>>>& maps,
                        const char* what) {
    if (path.empty()) return;
    const SideFeatures side = read_side_features({key, path, id.empty() ? default_id : id, features}, ids);
    codes = torch::from_blob(const_cast<int32_t*>(side.codes.data()), {static_cast<int64_t>(ids.size()), side.num_features()},
                             torch::kInt32)
                .clone();
    sizes = side.sizes();
    for (int64_t f = 0; f < side.num_features(); ++f) maps.emplace_back(side.names[size_t(f)], side.values[size_t(f)]);
    std::string described;
    for (int64_t f = 0; f < side.num_features(); ++f) {
      described += fmt::format("{}{} ({} values)", f ? ", " : "", side.names[size_t(f)], sizes[size_t(f)] - 1);
    }
    log_rank0(fmt::format("{} table {}: {}; {} {}s without a row (unknown), {} rows for {}s not in the data (ignored)",
                          what, path, described, with_commas(side.ids_without_row), what,
                          with_commas(side.rows_without_id), what));
    if (side.ids_without_row + 1 == static_cast<int64_t>(ids.size())) {
      // Legal, but the features then carry nothing: most likely the ids are written otherwise
      // in the table ("u1" for 1) or the id column is another one.
      log_warning(fmt::format("{}: none of its {} row(s) is for a {} of the data: every {}'s features are unknown "
                              "(check its ids and {}_id)",
                              path, with_commas(side.rows_without_id), what, what, key));
    }
  };
  read("data.interactions.user_table", options.user_table, options.user_table_id, options.user,
       options.user_table_features, loaded.ids.users, loaded.info.user_side_codes, loaded.info.user_side_sizes,
       loaded.ids.user_features, "user");
  read("data.interactions.item_table", options.item_table, options.item_table_id, options.item,
       options.item_table_features, loaded.ids.items, loaded.info.item_side_codes, loaded.info.item_side_sizes,
       loaded.ids.item_features, "item");
}

}  // namespace

namespace {

// The prepared data as a cache file holds it: flat arrays and a few facts. Built from the text,
// or viewing a mapped cache file.
struct PreparedTables {
  RatingColumns columns;
  at::Tensor train_rows, valid_rows, test_rows;  // int32 row indices
  SeenItems seen_before_valid, seen_before_test;
  nlohmann::json facts;  // release, statistics, ids, counts, scale (tables_from_text)
  std::shared_ptr<const PreparedRatings> prepared;
};

// Row indices as int32: half the memory of int64, and index_select takes either. Data of 2^31
// ratings or more (more than this design holds in one host's memory anyway) is refused.
at::Tensor rows_tensor(const std::vector<int64_t>& rows, int64_t total, const std::string& where) {
  if (total > std::numeric_limits<int32_t>::max()) {
    throw InputError::in(where, "holds " + with_commas(total) + " ratings; mlrec takes at most 2^31 - 1");
  }
  return torch::from_blob(const_cast<int64_t*>(rows.data()), {static_cast<int64_t>(rows.size())}, torch::kInt64)
      .to(torch::kInt32);
}

PreparedTables tables_from_text(const config::Config::Data& options, bool keep_prepared) {
  // data.format: the MovieLens release in data.dir, or the user's own interactions file.
  const RawRatings raw =
      options.format == "interactions" ? load_interactions(options.interactions) : load_movielens(options.dir);
  SplitOptions split;
  split.valid_per_user = options.valid_per_user;
  split.min_ratings_per_user = options.min_ratings_per_user;
  split.test_per_user = options.test_per_user;
  auto prepared = std::make_shared<PreparedRatings>(prepare_ratings(raw, split));
  PreparedTables t;
  t.columns = rating_columns(*prepared);
  t.train_rows = rows_tensor(prepared->train_rows, prepared->size(), raw.dir);
  t.valid_rows = rows_tensor(prepared->valid_rows, prepared->size(), raw.dir);
  t.test_rows = rows_tensor(prepared->test_rows, prepared->size(), raw.dir);
  t.seen_before_valid = seen_items(*prepared, SeenRows::kTraining);
  if (!prepared->test_rows.empty()) t.seen_before_test = seen_items(*prepared, SeenRows::kTrainingAndValidation);
  const RatingScale& scale = prepared->scale;
  t.facts = {{"release", release_name(raw.release)},
             {"stats", format_stats(raw, compute_stats(raw))},
             {"ids", to_json(make_id_maps(raw, *prepared))},
             {"num_users", prepared->num_users},
             {"num_movies", prepared->num_movies},
             {"has_user_features", prepared->has_user_features},
             {"scale", {scale.min_rating, scale.max_rating, scale.step}}};
  if (keep_prepared) t.prepared = std::move(prepared);
  return t;
}

// The arrays of a cache file, in the order written.
std::vector<CacheArray> cache_arrays(const PreparedTables& t) {
  std::vector<CacheArray> arrays;
  const auto add = [&](const char* name, const at::Tensor& tensor) {
    if (!tensor.defined()) return;
    const auto type = tensor.scalar_type();
    const char* dtype = type == torch::kInt32 ? "int32" : type == torch::kInt64 ? "int64" : "float32";
    MLREC_CHECK(tensor.is_contiguous() && (type == torch::kInt32 || type == torch::kInt64 || type == torch::kFloat32),
                name);
    arrays.push_back({name, dtype, tensor.sizes().vec(), tensor.data_ptr()});
  };
  add("user", t.columns.user);
  add("movie", t.columns.movie);
  add("level", t.columns.level);
  add("rating", t.columns.rating);
  add("user_start", t.columns.user_start);
  add("user_features", t.columns.user_features);
  add("train_rows", t.train_rows);
  add("valid_rows", t.valid_rows);
  add("test_rows", t.test_rows);
  add("seen_before_valid.offsets", t.seen_before_valid.offsets);
  add("seen_before_valid.items", t.seen_before_valid.items);
  add("seen_before_test.offsets", t.seen_before_test.offsets);
  add("seen_before_test.items", t.seen_before_test.items);
  return arrays;
}

// The tables viewing the arrays of a mapped cache file (which they keep mapped).
PreparedTables tables_from_cache(const std::shared_ptr<const PreparedCacheFile>& file) {
  const auto tensor = [&](const char* name) -> at::Tensor {
    if (!file->has(name)) return {};
    const CacheArray& a = file->array(name);
    const auto type = a.dtype == "int32" ? torch::kInt32 : a.dtype == "int64" ? torch::kInt64 : torch::kFloat32;
    return torch::from_blob(const_cast<void*>(a.data), a.shape, [file](void*) {}, torch::TensorOptions(type));
  };
  PreparedTables t;
  t.columns = {tensor("user"),       tensor("movie"),      tensor("level"),
               tensor("rating"),     tensor("user_start"), tensor("user_features")};
  t.train_rows = tensor("train_rows");
  t.valid_rows = tensor("valid_rows");
  t.test_rows = tensor("test_rows");
  t.seen_before_valid = {tensor("seen_before_valid.offsets"), tensor("seen_before_valid.items")};
  t.seen_before_test = {tensor("seen_before_test.offsets"), tensor("seen_before_test.items")};
  t.facts = file->facts();
  return t;
}

LoadedData loaded_from_tables(PreparedTables t, const config::Config::Data& options) {
  LoadedData loaded;
  loaded.columns = std::make_shared<const RatingColumns>(std::move(t.columns));
  const int length = options.sequence_length;
  const int64_t samples = t.train_rows.numel() + t.valid_rows.numel() + (t.test_rows.defined() ? t.test_rows.numel() : 0);
  const bool materialize = options.windows == "materialized" ||
                           (options.windows == "auto" && RatingDataset::materialized_bytes(samples, length) <=
                                                             (int64_t{options.materialize_limit_mb} << 20));
  const auto storage = materialize ? WindowStorage::kMaterialized : WindowStorage::kGathered;
  loaded.train = RatingDataset(loaded.columns, t.train_rows, length, storage);
  loaded.valid = RatingDataset(loaded.columns, t.valid_rows, length, storage);
  if (t.test_rows.defined() && t.test_rows.numel() > 0) loaded.test = RatingDataset(loaded.columns, t.test_rows, length, storage);
  if (materialize) loaded.columns.reset();  // the tables hold everything now
  loaded.seen_before_valid = std::move(t.seen_before_valid);
  loaded.seen_before_test = std::move(t.seen_before_test);
  const nlohmann::json& f = t.facts;
  DatasetInfo& info = loaded.info;
  info.num_users = f.at("num_users").get<int32_t>();
  info.num_movies = f.at("num_movies").get<int32_t>();
  info.has_user_features = f.at("has_user_features").get<bool>();
  const RatingScale scale{f.at("scale")[0].get<float>(), f.at("scale")[1].get<float>(), f.at("scale")[2].get<float>()};
  info.num_rating_levels = scale.num_levels();
  info.rating_min = scale.min_rating;
  info.rating_max = scale.max_rating;
  info.rating_step = scale.step;
  info.sequence_length = length;
  info.train_samples = t.train_rows.numel();
  loaded.release = f.at("release").get<std::string>();
  loaded.statistics = f.at("stats").get<std::string>();
  loaded.ids = id_maps_from_json(f.at("ids").get<std::string>(), "the prepared data");
  if (f.contains("sample_crc32")) loaded.sample_checksums = f.at("sample_crc32").get<std::array<uint32_t, 3>>();
  loaded.prepared = std::move(t.prepared);
  return loaded;
}

std::array<uint32_t, 3> compute_sample_checksums(const LoadedData& data) {
  return {data.train.checksum(), data.valid.checksum(), data.test.checksum()};
}

// The same checksums straight from the tables: gathered datasets over the columns, so that no
// sample table is materialized only to be checksummed.
std::array<uint32_t, 3> compute_sample_checksums(const PreparedTables& t, int length) {
  const auto columns = std::make_shared<const RatingColumns>(t.columns);
  const auto crc = [&](const at::Tensor& rows) {
    return rows.defined() ? RatingDataset(columns, rows, length, WindowStorage::kGathered).checksum() : Crc32().value();
  };
  return {crc(t.train_rows), crc(t.valid_rows), crc(t.test_rows)};
}

// The prepared data through the cache in options.cache_dir: mapped when there, else prepared
// from the text and written there first. Only this process's own trouble with the cache (a
// read-only or full disk) makes it prepare from the text without one, with a warning.
LoadedData load_through_cache(const config::Config::Data& options) {
  const std::string key = prepared_cache_key(options);
  const std::string path = prepared_cache_path(
      options.cache_dir, key, options.format == "interactions" ? options.interactions.path : options.dir);
  std::unique_ptr<CacheLock> lock;
  try {
    std::filesystem::create_directories(options.cache_dir);
    lock = std::make_unique<CacheLock>(path + ".lock");
  } catch (const std::exception& e) {
    // (the error names the path: the folder, or the lock file in it)
    log_warning(fmt::format("data.cache_dir: {}; preparing the data without a cache", error_text(e)));
    return loaded_from_tables(tables_from_text(options, false), options);
  }
  std::string why;
  auto file = PreparedCacheFile::open(path, key, why);
  bool built = false;
  if (!file) {
    if (!why.empty()) log_warning("prepared-data cache refused: " + why + "; preparing it again");
    PreparedTables tables = tables_from_text(options, false);
    tables.facts["sample_crc32"] = compute_sample_checksums(tables, options.sequence_length);
    try {
      write_prepared_cache(path, key, tables.facts, cache_arrays(tables));
    } catch (const std::runtime_error& e) {
      log_warning(std::string("prepared data not cached: ") + e.what());
      return loaded_from_tables(std::move(tables), options);
    }
    built = true;
    file = PreparedCacheFile::open(path, key, why);
    MLREC_CHECK(file != nullptr, "the cache just written cannot be read back: " + why);
    // This process's own copy goes: it maps the file, as every other rank on the host will.
  }
  LoadedData loaded = loaded_from_tables(tables_from_cache(file), options);
  loaded.cache_file = path;
  loaded.cache_built = built;
  return loaded;
}

}  // namespace

void LoadedData::to(const c10::Device& device) {
  std::shared_ptr<const RatingColumns> there;
  if (columns) {
    there = device == columns->rating.device() ? columns : std::make_shared<const RatingColumns>(columns->to(device));
  }
  train = train.to(device, there);
  valid = valid.to(device, there);
  if (test.size() > 0) test = test.to(device, there);
  columns = there;
}

LoadedData load_data(const config::Config::Data& options, bool keep_prepared) {
  Stopwatch watch;
  LoadedData loaded = !options.cache_dir.empty() && !keep_prepared
                          ? load_through_cache(options)
                          : loaded_from_tables(tables_from_text(options, keep_prepared), options);
  const std::string where = options.format == "interactions" ? options.interactions.path : options.dir;
  if (options.format == "interactions") add_side_features(options.interactions, loaded);
  // The samples' checksums (the data's fingerprint) are part of getting the data ready: at tens
  // of millions of samples they take seconds, which the cache saves too.
  if (!loaded.sample_checksums) loaded.sample_checksums = compute_sample_checksums(loaded);
  release_free_heap_memory();  // the text, the intermediate arrays and the checksums' tables are gone
  loaded.seconds = watch.seconds();

  const ResidentMemory memory = resident_memory();
  const int64_t ratings = loaded.train.size() + loaded.valid.size() + loaded.test.size();
  log_rank0(loaded.statistics);
  std::string held_out = with_commas(loaded.valid.size()) + " validation";
  if (options.test_per_user > 0) held_out += " and " + with_commas(loaded.test.size()) + " test";
  std::string source = "from the text";
  if (!loaded.cache_file.empty()) source = (loaded.cache_built ? "from the text, cached in " : "from the cache ") + loaded.cache_file;
  log_rank0(fmt::format("split: {} training, {} ratings (each user's last ratings by time); data ready in {:.2f} s {}; "
                        "windows {}; resident memory {} MB ({:.0f} bytes per rating), proportional {} MB",
                        with_commas(loaded.train.size()), held_out, loaded.seconds, source,
                        loaded.train.storage() == WindowStorage::kMaterialized ? "materialized" : "gathered per batch",
                        with_commas(memory.rss_bytes >> 20), ratings > 0 ? double(memory.rss_bytes) / double(ratings) : 0.0,
                        with_commas(memory.pss_bytes >> 20)));
  if (options.test_per_user > 0 && loaded.test.size() == 0) {
    throw InputError::in(where, "data.test_per_user leaves no test ratings");
  }
  if (loaded.train.size() == 0 || loaded.valid.size() == 0) {
    throw InputError::in(where, "the split leaves no training or no validation ratings");
  }
  return loaded;
}

std::string data_fingerprint(const LoadedData& data) {
  MLREC_CHECK(data.sample_checksums.has_value(), "data not loaded by load_data");
  const auto& crc = *data.sample_checksums;
  std::string fingerprint = fmt::format("crc32 {:08x} {:08x} {:08x}, {} + {} + {} samples", crc[0], crc[1], crc[2],
                                        data.train.size(), data.valid.size(), data.test.size());
  // The side tables, where there are any (the fingerprints of data without them are unchanged).
  for (const auto& [what, codes] : {std::pair{"user", &data.info.user_side_codes}, {"item", &data.info.item_side_codes}}) {
    if (!codes->defined()) continue;
    Crc32 crc;
    const auto table = codes->contiguous();
    crc.add(table.data_ptr(), table.numel() * table.element_size());
    fingerprint += fmt::format(", {} features crc32 {:08x}", what, crc.value());
  }
  return fingerprint;
}

}  // namespace mlrec::data
