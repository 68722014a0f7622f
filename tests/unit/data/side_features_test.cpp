#include "mlrec/data/side_features.h"

#include <gtest/gtest.h>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "support/temp_dir.h"

namespace mlrec::data {
namespace {

const std::vector<std::string> kIds = {"", "u1", "u2", "u3"};  // dense ids 1..3

SideFeatures read(const std::string& path, const std::string& features = "") {
  return read_side_features({"data.interactions.user_table", path, "user", features}, kIds);
}

TEST(SideFeatures, CodesEachFeaturesValuesInSortedOrderWithZeroForUnknown) {
  test_support::TempDir tmp;
  const std::string path = tmp.file("users.csv");
  // Row order, an extra user, an empty field and a user without a row must not matter.
  write_file_atomic(path, "country,user,plan\nse,u3,pro\nde,u1,\nfr,u9,free\n");
  const SideFeatures s = read(path);
  ASSERT_EQ(s.names, (std::vector<std::string>{"country", "plan"}));
  EXPECT_EQ(s.values[0], (std::vector<std::string>{"", "de", "fr", "se"}));
  EXPECT_EQ(s.values[1], (std::vector<std::string>{"", "free", "pro"}));
  // [ids + 1, 2]: padding, u1 (de, -), u2 (no row), u3 (se, pro)
  EXPECT_EQ(s.codes, (std::vector<int32_t>{0, 0, 1, 0, 0, 0, 3, 2}));
  EXPECT_EQ(s.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(s.rows_without_id, 1);
  EXPECT_EQ(s.ids_without_row, 1);
  const SideFeatures only_plan = read(path, " plan ");
  EXPECT_EQ(only_plan.names, (std::vector<std::string>{"plan"}));
}

TEST(SideFeatures, BadTablesNameTheKeyOrTheLine) {
  test_support::TempDir tmp;
  const std::string path = tmp.file("users.tsv");
  write_file_atomic(path, "id\tage\nu1\t20\n");
  try {
    read(path);
    ADD_FAILURE() << "no user column";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("data.interactions.user_table_id"), std::string::npos) << e.what();
  }
  write_file_atomic(path, "user\tage\nu1\t20\n");
  try {
    read(path, "age,height");
    ADD_FAILURE() << "no height column";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("data.interactions.user_table_features"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'height'"), std::string::npos) << e.what();
  }
  write_file_atomic(path, "user\tage\nu1\t20\nu2\t30\nu1\t40\n");
  try {
    read(path);
    ADD_FAILURE() << "u1 twice";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":4: id 'u1' is listed twice (first on line 2)", 0), 0u) << e.what();
  }
  write_file_atomic(path, "user\tage\nu1\t20\t7\n");
  EXPECT_THROW(read(path), InputError);  // a field too many
}

// Each message the first line of the error, checked by its start.
void expect_refused(const std::string& path, const std::string& message_start) {
  try {
    read(path);
    ADD_FAILURE() << "accepted; expected " << message_start;
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(message_start, 0), 0u) << e.what();
  }
}

TEST(SideFeatures, AmbiguousColumnsRepeatedIdsAndNonUtf8ValuesAreRefused) {
  test_support::TempDir tmp;
  const std::string path = tmp.file("users.csv");
  // Which 'country' would be the feature? Reading the first copy silently was a guess.
  write_file_atomic(path, "user,country,country\nu1,fr,b\n");
  expect_refused(path, path + ":1: column 'country' appears twice in the header (columns 2 and 3)");
  // An id twice is an error also when the data does not have that id (u9).
  write_file_atomic(path, "user,country\nu9,fr\nu1,de\nu9,se\n");
  expect_refused(path, path + ":4: id 'u9' is listed twice (first on line 2)");
  // id_maps.json, JSON, holds the values: a Latin-1 'M\xfcnchen' must be converted first.
  write_file_atomic(path, "user,city\nu1,Berlin\nu2,M\xfcnchen\n");
  expect_refused(path, path + ":3: column 'city': 'M?nchen' is not valid UTF-8");
  write_file_atomic(path, "user,city\nu1,Berlin\nu2,M\xc3\xbcnchen\n");  // the same in UTF-8
  EXPECT_EQ(read(path).values[0].size(), 3u);
}

}  // namespace
}  // namespace mlrec::data
