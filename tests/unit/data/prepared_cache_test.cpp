// The prepared-data cache (data.cache_dir): written once, mapped after, the same data either way,
// and refused (then rebuilt) whenever it might not be the data asked for.
#include "mlrec/data/prepared_cache.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "mlrec/data/load.h"
#include "mlrec/data/synthetic.h"
#include "support/temp_dir.h"

namespace mlrec::data {
namespace {

namespace fs = std::filesystem;

struct CacheFixture {
  test_support::TempDir dir;
  std::string data_dir = dir.path() + "/ml", cache_dir = dir.path() + "/cache";
  CacheFixture() {
    SyntheticOptions options;
    options.users = 60;
    options.movies = 40;
    write_synthetic_movielens(data_dir, Release::kMovieLens1M, options);
  }
  config::Config::Data options(bool cached) const {
    config::Config::Data d;
    d.dir = data_dir;
    d.test_per_user = 1;
    d.sequence_length = 6;
    if (cached) d.cache_dir = cache_dir;
    return d;
  }
};

void expect_same_data(const LoadedData& a, const LoadedData& b) {
  EXPECT_EQ(data_fingerprint(a), data_fingerprint(b));
  for (const auto& [x, y] : {std::pair{&a.train, &b.train}, {&a.valid, &b.valid}, {&a.test, &b.test}}) {
    ASSERT_EQ(x->size(), y->size());
    const auto bx = x->slice(0, x->size()), by = y->slice(0, y->size());
    EXPECT_TRUE(torch::equal(bx.movies, by.movies));
    EXPECT_TRUE(torch::equal(bx.target, by.target));
    EXPECT_TRUE(torch::equal(bx.features, by.features));
    EXPECT_EQ(x->checksum(), y->checksum());
  }
  EXPECT_EQ(a.info.num_users, b.info.num_users);
  EXPECT_EQ(a.info.num_movies, b.info.num_movies);
  EXPECT_EQ(a.info.num_rating_levels, b.info.num_rating_levels);
  EXPECT_EQ(a.info.has_user_features, b.info.has_user_features);
  EXPECT_EQ(a.ids.users, b.ids.users);
  EXPECT_EQ(a.ids.items, b.ids.items);
  EXPECT_EQ(a.release, b.release);
  EXPECT_EQ(a.statistics, b.statistics);
  for (const auto& [x, y] :
       {std::pair{&a.seen_before_valid, &b.seen_before_valid}, {&a.seen_before_test, &b.seen_before_test}}) {
    EXPECT_TRUE(torch::equal(x->offsets, y->offsets));
    EXPECT_TRUE(torch::equal(x->items, y->items));
  }
}

bool mapped_by_this_process(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str().find(fs::weakly_canonical(path).string()) != std::string::npos;
}

TEST(PreparedCache, FirstLoadWritesItAndLaterLoadsMapItWithTheSameData) {
  CacheFixture f;
  const LoadedData text = load_data(f.options(false));
  EXPECT_TRUE(text.cache_file.empty());

  const LoadedData first = load_data(f.options(true));
  EXPECT_TRUE(first.cache_built);
  ASSERT_TRUE(fs::exists(first.cache_file));
  EXPECT_EQ(fs::path(first.cache_file).parent_path(), fs::path(f.cache_dir));
  expect_same_data(text, first);

  auto options = f.options(true);
  options.windows = "gathered";  // how samples are held is not part of the key
  const LoadedData second = load_data(options);
  EXPECT_FALSE(second.cache_built);
  EXPECT_EQ(second.cache_file, first.cache_file);
  EXPECT_EQ(second.train.storage(), WindowStorage::kGathered);
  EXPECT_TRUE(mapped_by_this_process(second.cache_file));  // mapped, not read into private memory
  expect_same_data(text, second);
}

TEST(PreparedCache, OtherDataOrOtherSettingsGetAFileOfTheirOwn) {
  CacheFixture f;
  const LoadedData first = load_data(f.options(true));
  ASSERT_TRUE(first.cache_built);

  auto other_split = f.options(true);
  other_split.valid_per_user = 2;
  const LoadedData split = load_data(other_split);
  EXPECT_TRUE(split.cache_built);
  EXPECT_NE(split.cache_file, first.cache_file);

  // The ratings edited (one rating changed, same size): a new key, so a new file, and the data
  // read is the edited data.
  const std::string ratings = f.data_dir + "/ratings.dat";
  std::string text;
  {
    std::ifstream in(ratings);
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  const size_t colon = text.find("::", text.find("::") + 2);  // user::movie::RATING
  text[colon + 2] = text[colon + 2] == '5' ? '4' : '5';
  const auto before = fs::last_write_time(ratings);
  std::ofstream(ratings, std::ios::trunc) << text;
  fs::last_write_time(ratings, before + std::chrono::seconds(1));  // a clock that did not tick
  const LoadedData edited = load_data(f.options(true));
  EXPECT_TRUE(edited.cache_built);
  EXPECT_NE(edited.cache_file, first.cache_file);
  EXPECT_NE(data_fingerprint(edited), data_fingerprint(first));
  expect_same_data(load_data(f.options(false)), edited);
}

TEST(PreparedCache, AFileHoldingAnotherKeyOrDamagedIsRefusedAndRebuilt) {
  CacheFixture f;
  const LoadedData first = load_data(f.options(true));
  auto other = f.options(true);
  other.valid_per_user = 2;
  const LoadedData second = load_data(other);
  ASSERT_NE(first.cache_file, second.cache_file);

  // Another key's file under this key's name (as a hash collision would put it): refused.
  fs::copy_file(second.cache_file, first.cache_file, fs::copy_options::overwrite_existing);
  std::string why;
  EXPECT_EQ(PreparedCacheFile::open(first.cache_file, prepared_cache_key(f.options(true)), why), nullptr);
  EXPECT_NE(why.find("key differs"), std::string::npos) << why;
  const LoadedData rebuilt = load_data(f.options(true));
  EXPECT_TRUE(rebuilt.cache_built);
  expect_same_data(load_data(f.options(false)), rebuilt);

  // Bytes inverted inside an array, the size and header intact: its checksum tells. The file's
  // last 4 KiB page starts inside its last array (every array starts on a page, the file ends
  // at the first page boundary after the last one's bytes).
  {
    std::fstream file(first.cache_file, std::ios::in | std::ios::out | std::ios::binary);
    const auto at = static_cast<std::streamoff>(fs::file_size(first.cache_file) - 4096);
    char bytes[4];
    file.seekg(at);
    file.read(bytes, sizeof bytes);
    for (char& b : bytes) b = static_cast<char>(~b);
    file.seekp(at);
    file.write(bytes, sizeof bytes);
    ASSERT_TRUE(file.good());
  }
  EXPECT_EQ(PreparedCacheFile::open(first.cache_file, prepared_cache_key(f.options(true)), why), nullptr);
  EXPECT_NE(why.find("checksum differs"), std::string::npos) << why;
  EXPECT_TRUE(load_data(f.options(true)).cache_built);

  // Truncated: refused, rebuilt.
  fs::resize_file(first.cache_file, fs::file_size(first.cache_file) / 2);
  EXPECT_EQ(PreparedCacheFile::open(first.cache_file, prepared_cache_key(f.options(true)), why), nullptr);
  EXPECT_NE(why.find("damaged"), std::string::npos) << why;
  EXPECT_TRUE(load_data(f.options(true)).cache_built);

  // Not a cache at all.
  std::ofstream(first.cache_file, std::ios::trunc) << "hello";
  EXPECT_EQ(PreparedCacheFile::open(first.cache_file, prepared_cache_key(f.options(true)), why), nullptr);
  EXPECT_NE(why.find("not an mlrec prepared-data cache"), std::string::npos) << why;
  EXPECT_TRUE(load_data(f.options(true)).cache_built);
}

TEST(PreparedCache, ACacheInTheDataFolderDoesNotChangeItsOwnKey) {
  CacheFixture f;
  auto options = f.options(true);
  options.cache_dir = f.data_dir;  // the cache beside the data
  EXPECT_TRUE(load_data(options).cache_built);
  const LoadedData again = load_data(options);
  EXPECT_FALSE(again.cache_built);
  EXPECT_EQ(std::distance(fs::directory_iterator(f.data_dir), fs::directory_iterator()), 3 + 2);  // + file, lock
}

TEST(PreparedCache, AFolderThatCannotBeWrittenLoadsFromTheText) {
  CacheFixture f;
  std::ofstream(f.dir.path() + "/a-file") << "x";
  auto options = f.options(true);
  options.cache_dir = f.dir.path() + "/a-file/cache";  // under a file: cannot be created
  const LoadedData loaded = load_data(options);
  EXPECT_TRUE(loaded.cache_file.empty());
  expect_same_data(load_data(f.options(false)), loaded);
}

TEST(PreparedCache, WriterLeavesNothingHalfWrittenWhenItFails) {
  test_support::TempDir dir;
  const std::vector<int32_t> values(1000, 7);
  const std::string path = dir.path() + "/missing-folder/x.mlrec-data";
  EXPECT_THROW(write_prepared_cache(path, "k", nlohmann::json::object(), {{"v", "int32", {1000}, values.data()}}),
               std::runtime_error);
  EXPECT_FALSE(fs::exists(dir.path() + "/missing-folder"));
  // Written where it can be: read back, array for array.
  const std::string good = dir.path() + "/x.mlrec-data";
  write_prepared_cache(good, "k", {{"n", 3}}, {{"v", "int32", {10, 100}, values.data()}});
  std::string why;
  const auto file = PreparedCacheFile::open(good, "k", why);
  ASSERT_NE(file, nullptr) << why;
  EXPECT_EQ(file->facts()["n"], 3);
  EXPECT_EQ(file->array("v").shape, (std::vector<int64_t>{10, 100}));
  EXPECT_EQ(static_cast<const int32_t*>(file->array("v").data)[999], 7);
  EXPECT_EQ(fs::file_size(good) % 4096, 0u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);  // no temporary left
}

}  // namespace
}  // namespace mlrec::data
