// The interactions reader (data.format=interactions), on files written into temp directories:
// ids, delimiters, quoting, line ends, rating scales, timestamps, the error contract, and the
// exact equivalence with the ML-1M reader on the same ratings.
#include "mlrec/data/interactions.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <utility>
#include <string>
#include <vector>

#include "mlrec/common/error.h"
#include "mlrec/common/timer.h"
#include "mlrec/data/movielens.h"
#include "mlrec/data/prepare.h"
#include "mlrec/data/synthetic.h"
#include "support/temp_dir.h"

namespace mlrec::data {
namespace {

using test_support::TempDir;
using test_support::write_file;
using Options = config::Config::Data::Interactions;

Options options_for(const std::string& path) {
  Options o;
  o.path = path;
  return o;
}

// Writes contents to dir/name and reads it with the default column names.
RawRatings read(const TempDir& dir, const std::string& name, const std::string& contents, Options o = {}) {
  write_file(dir.file(name), contents);
  o.path = dir.file(name);
  return load_interactions(o);
}

// Runs fn and checks that it throws an E whose message holds every needle.
template <class E>
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one containing '" << needles.front() << "'";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "message: " << msg << "\nexpected: " << n;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

void expect_input_error(const TempDir& dir, const std::string& name, const std::string& contents,
                        const std::vector<std::string>& needles, Options o = {}) {
  expect_error<InputError>([&] { read(dir, name, contents, o); }, needles);
}

// ---- ids ------------------------------------------------------------------------------------

TEST(InteractionsTest, ReadsIntegerIdsAsTheyAre) {
  TempDir dir;
  const RawRatings raw = read(dir, "log.csv",
                              "user_id,item_id,rating,timestamp\n"
                              "17,5,4,1000\n"
                              "-3,0,1,999\n"
                              "17,2147483647,5,-20\n");
  EXPECT_EQ(raw.release, Release::kInteractions);
  EXPECT_STREQ(release_name(raw.release), "interactions");
  EXPECT_EQ(raw.dir, dir.file("log.csv"));
  EXPECT_EQ(raw.user_id, (std::vector<int32_t>{17, -3, 17}));
  EXPECT_EQ(raw.movie_id, (std::vector<int32_t>{5, 0, 2147483647}));
  EXPECT_EQ(raw.rating, (std::vector<float>{4, 1, 5}));
  EXPECT_EQ(raw.timestamp, (std::vector<int64_t>{1000, 999, -20}));
  EXPECT_TRUE(raw.user_names.empty());
  EXPECT_TRUE(raw.movie_names.empty());
  EXPECT_FALSE(raw.has_user_features);
  EXPECT_EQ(user_name(raw, -3), "-3");
  EXPECT_EQ(movie_name(raw, 2147483647), "2147483647");
}

TEST(InteractionsTest, ColumnsAreFoundByNameAndOthersIgnored) {
  TempDir dir;
  Options o;
  o.user = "customer";
  o.item = "sku";
  o.rating = "stars";
  o.timestamp = "when";
  const RawRatings raw = read(dir, "log.csv",
                              "when,note,stars,sku,customer,extra\n"
                              "100,\"x, y\",3,9,1,\n"
                              "200,,5,8,2,z\n",
                              o);
  EXPECT_EQ(raw.user_id, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(raw.movie_id, (std::vector<int32_t>{9, 8}));
  EXPECT_EQ(raw.rating, (std::vector<float>{3, 5}));
  EXPECT_EQ(raw.timestamp, (std::vector<int64_t>{100, 200}));
}

TEST(InteractionsTest, TextIdsAreNumberedInSortedOrder) {
  TempDir dir;
  const std::string a = "6f1c2b9e-0d3a-4b7e-9a51-2c8d4e6f7a10";
  const std::string b = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";
  const std::string c = "c3d4e5f6-a7b8-4c9d-8e0f-a1b2c3d4e5f6";
  const RawRatings raw = read(dir, "log.csv",
                              "user_id,item_id,rating,timestamp\n" +
                                  a + ",i_10,4,1\n" +  //
                                  c + ",i_9,3,2\n" +   //
                                  b + ",i_10,5,3\n" +  //
                                  a + ",i_2,2,4\n");
  EXPECT_EQ(raw.user_names, (std::vector<std::string>{b, a, c}));
  EXPECT_EQ(raw.movie_names, (std::vector<std::string>{"i_10", "i_2", "i_9"}));
  EXPECT_EQ(raw.user_id, (std::vector<int32_t>{1, 2, 0, 1}));
  EXPECT_EQ(raw.movie_id, (std::vector<int32_t>{0, 2, 0, 1}));
  for (size_t i = 0; i < raw.user_id.size(); ++i) {
    EXPECT_EQ(user_name(raw, raw.user_id[i]), raw.user_names[static_cast<size_t>(raw.user_id[i])]);
  }
  EXPECT_EQ(user_name(raw, 0), b);
  EXPECT_EQ(movie_name(raw, 2), "i_9");

  // The numbering is that of the sorted names, whatever the file order: dense ids follow it.
  const PreparedRatings prepared = prepare_ratings(raw, SplitOptions{});
  ASSERT_EQ(prepared.num_users, 3);
  EXPECT_EQ(user_name(raw, prepared.raw_user[1]), b);
  EXPECT_EQ(user_name(raw, prepared.raw_user[3]), c);
  EXPECT_EQ(movie_name(raw, prepared.raw_movie[1]), "i_10");
}

TEST(InteractionsTest, OnlyCanonicalIntegersAreIntegerIds) {
  TempDir dir;
  // "007" (a leading zero) and "+5" are text, so are their whole columns; "10" becomes the name "10".
  const RawRatings users = read(dir, "a.csv", "user_id,item_id,rating,timestamp\n10,1,4,1\n007,2,4,2\n");
  EXPECT_EQ(users.user_names, (std::vector<std::string>{"007", "10"}));
  EXPECT_EQ(users.user_id, (std::vector<int32_t>{1, 0}));
  EXPECT_TRUE(users.movie_names.empty());
  const RawRatings items = read(dir, "b.csv", "user_id,item_id,rating,timestamp\n1,+5,4,1\n1,5,4,2\n1,-0,3,3\n");
  EXPECT_EQ(items.movie_names, (std::vector<std::string>{"+5", "-0", "5"}));
  EXPECT_EQ(items.movie_id, (std::vector<int32_t>{0, 2, 1}));
  // Beyond int32: text.
  const RawRatings big = read(dir, "c.csv", "user_id,item_id,rating,timestamp\n2147483648,1,4,1\n");
  EXPECT_EQ(big.user_names, (std::vector<std::string>{"2147483648"}));
}

TEST(InteractionsTest, AnyThreadCountGivesTheSameResult) {
  TempDir dir;
  // Integer items until row 1500, text after; integer users throughout; repeated pairs.
  std::string text = "user_id,item_id,rating,timestamp\n";
  for (int i = 0; i < 3000; ++i) {
    const int user = i % 30;
    const std::string item = i < 1500 ? std::to_string(i % 40) : "x" + std::to_string(i % 20);
    text += std::to_string(user) + "," + item + "," + std::to_string(1 + i % 5) + "," + std::to_string(i % 50) + "\n";
  }
  write_file(dir.file("log.csv"), text);
  const RawRatings one = load_interactions(options_for(dir.file("log.csv")), 1);
  EXPECT_TRUE(one.user_names.empty());
  EXPECT_FALSE(one.movie_names.empty());
  EXPECT_GT(one.duplicates_dropped, 0);
  for (int threads : {2, 3, 5, 8}) {
    const RawRatings many = load_interactions(options_for(dir.file("log.csv")), threads);
    EXPECT_EQ(many.user_id, one.user_id) << threads;
    EXPECT_EQ(many.movie_id, one.movie_id) << threads;
    EXPECT_EQ(many.rating, one.rating) << threads;
    EXPECT_EQ(many.timestamp, one.timestamp) << threads;
    EXPECT_EQ(many.movie_names, one.movie_names) << threads;
    EXPECT_EQ(many.duplicates_dropped, one.duplicates_dropped) << threads;
  }
}

// ---- delimiters, quoting, line ends ----------------------------------------------------------

TEST(InteractionsTest, DelimiterFromTheExtensionOrAsDeclared) {
  TempDir dir;
  const std::string tsv = "user_id\titem_id\trating\ttimestamp\n1\t2\t3\t4\n";
  EXPECT_EQ(read(dir, "log.tsv", tsv).movie_id, (std::vector<int32_t>{2}));
  EXPECT_EQ(read(dir, "LOG.TAB", tsv).movie_id, (std::vector<int32_t>{2}));
  for (const char* tab : {"tab", "\t", "\\t"}) {  // the last as --set 'data.interactions.delimiter=\t' gives it
    Options o;
    o.delimiter = tab;
    EXPECT_EQ(read(dir, "log.txt", tsv, o).rating, (std::vector<float>{3}));
  }
  Options semicolon;
  semicolon.delimiter = ";";
  EXPECT_EQ(read(dir, "log.txt", "user_id;item_id;rating;timestamp\n1;2;3;4\n", semicolon).timestamp,
            (std::vector<int64_t>{4}));
  Options pipe;
  pipe.delimiter = "|";
  EXPECT_EQ(read(dir, "log.csv", "user_id|item_id|rating|timestamp\n1|2|3|4\n", pipe).user_id,
            (std::vector<int32_t>{1}));
  // No extension to go by.
  expect_error<ConfigError>([&] { read(dir, "log.txt", tsv); },
                            {"'data.interactions.delimiter'", "is auto", "log.txt"});
  // The wrong delimiter: the header is one column; the message says so and suggests the right one.
  expect_error<ConfigError>([&] { read(dir, "log.csv", tsv); },
                            {"'data.interactions.user'", "no column 'user_id'", "is the delimiter tabs?"});
}

TEST(InteractionsTest, QuotedFieldsWithCommasAndDoubledQuotes) {
  TempDir dir;
  const RawRatings raw = read(dir, "log.csv",
                              "user_id,item_id,rating,timestamp\n"
                              "\"Smith, J\",\"The \"\"Movie\"\"\",\"4\",\"10\"\n"
                              "\"Smith, J\",plain,2,11\n"
                              "plain,\"The \"\"Movie\"\"\",1,12\n");
  EXPECT_EQ(raw.user_names, (std::vector<std::string>{"Smith, J", "plain"}));
  EXPECT_EQ(raw.movie_names, (std::vector<std::string>{"The \"Movie\"", "plain"}));
  EXPECT_EQ(raw.user_id, (std::vector<int32_t>{0, 0, 1}));
  EXPECT_EQ(raw.movie_id, (std::vector<int32_t>{0, 1, 0}));
  EXPECT_EQ(raw.rating, (std::vector<float>{4, 2, 1}));
  EXPECT_EQ(raw.timestamp, (std::vector<int64_t>{10, 11, 12}));
  // Quoted header names too, and a quoted integer id stays an integer.
  const RawRatings quoted_header = read(dir, "h.csv", "\"user_id\",\"item_id\",rating,timestamp\n\"5\",6,3,1\n");
  EXPECT_EQ(quoted_header.user_id, (std::vector<int32_t>{5}));
  EXPECT_TRUE(quoted_header.user_names.empty());
}

TEST(InteractionsTest, AcceptsCrlfBomMissingFinalNewlineAndTrailingBlankLines) {
  TempDir dir;
  const RawRatings raw = read(dir, "log.csv",
                              "\xEF\xBB\xBFuser_id,item_id,rating,timestamp\r\n"
                              "1,2,3,4\r\n"
                              "u,\"q\",5,6");
  EXPECT_EQ(raw.user_names, (std::vector<std::string>{"1", "u"}));
  EXPECT_EQ(raw.movie_names, (std::vector<std::string>{"2", "q"}));
  EXPECT_EQ(raw.rating, (std::vector<float>{3, 5}));
  EXPECT_EQ(raw.timestamp, (std::vector<int64_t>{4, 6}));
  const RawRatings blank = read(dir, "b.csv", "user_id,item_id,rating,timestamp\n1,2,3,4\n\r\n\n");
  EXPECT_EQ(blank.size(), 1);
}

// ---- the error contract ----------------------------------------------------------------------

TEST(InteractionsErrorsTest, MissingOrRepeatedColumnsAreConfigErrorsNamingTheKey) {
  TempDir dir;
  Options o;
  o.rating = "stars";
  expect_error<ConfigError>([&] { read(dir, "log.csv", "user_id,item_id,rating,timestamp\n1,2,3,4\n", o); },
                            {"config key 'data.interactions.rating'", "no column 'stars'", "log.csv's header",
                             "'user_id', 'item_id', 'rating', 'timestamp'"});
  expect_error<ConfigError>([&] { read(dir, "log.csv", "user_id,item_id,rating\n1,2,3\n"); },
                            {"'data.interactions.timestamp'", "no column 'timestamp'"});
  expect_error<ConfigError>([&] { read(dir, "log.csv", "user_id,item_id,rating,item_id,timestamp\n1,2,3,2,4\n"); },
                            {"'data.interactions.item'", "'item_id' appears twice", "columns 2 and 4"});
  // A repeated column nobody reads is ignored, as any extra column.
  EXPECT_EQ(read(dir, "log.csv", "user_id,x,item_id,rating,x,timestamp\n1,a,2,3,b,4\n").size(), 1);
  Options same;
  same.item = "user_id";
  expect_error<ConfigError>([&] { read(dir, "log.csv", "user_id,item_id,rating,timestamp\n1,2,3,4\n", same); },
                            {"'data.interactions.item'", "same column as data.interactions.user"});
}

TEST(InteractionsErrorsTest, BadFieldsNameFileLineAndColumn) {
  TempDir dir;
  const std::string header = "user_id,item_id,stars,ts\n";
  Options o;
  o.rating = "stars";
  o.timestamp = "ts";
  const std::string path = dir.file("log.csv");
  struct Case {
    std::string line;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {"1,2,abc,5", {"column 'stars'", "non-numeric rating 'abc'"}},
      {"1,2,,5", {"column 'stars'", "empty rating"}},
      {"1,2,nan,5", {"column 'stars'", "non-numeric rating 'nan'"}},
      {"1,2,3,yesterday", {"column 'ts'", "bad timestamp 'yesterday'"}},
      {"1,2,3,12.5", {"column 'ts'", "bad timestamp '12.5'"}},
      {"1,2,3,2020-02-30", {"column 'ts'", "bad timestamp '2020-02-30'"}},
      {"1,2,3,2019-02-29", {"column 'ts'", "bad timestamp"}},
      {"1,2,3,2020-01-02T25:00:00", {"column 'ts'", "bad timestamp"}},
      {"1,2,3,", {"column 'ts'", "empty timestamp"}},
      {",2,3,4", {"column 'user_id'", "empty user id"}},
      {"1,\"\",3,4", {"column 'item_id'", "empty item id"}},
      {"1, ,3,4", {"column 'item_id'", "blank item id"}},
      {"1,2,M\xc3\xbcller,4", {"column 'stars'", "non-numeric rating 'M\xc3\xbcller'"}},  // UTF-8 shown as it is
      {"caf\xe9,2,3,4", {"column 'user_id'", "'caf?' is not valid UTF-8", "iconv"}},
      {"1,\xed\xa0\x80,3,4", {"column 'item_id'", "is not valid UTF-8"}},  // a surrogate's encoding
      {"1,2,3", {"expected 4 fields separated by ','", "got 3"}},
      {"1,2,3,4,5", {"expected 4 fields", "got 5"}},
      {"1,\"2,3,4", {"column 'item_id'", "unterminated quoted field"}},
      {"1,\"2\"x,3,4", {"column 'item_id'", "text after a closing quote"}},
      {"1,2,3\"\",4", {"column 'stars'", "quote inside an unquoted field"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    std::vector<std::string> needles = c.needles;
    needles.push_back(path + ":3: ");
    expect_input_error(dir, "log.csv", header + "7,8,4,1\n" + c.line + "\n9,9,4,2\n", needles, o);
  }
}

TEST(InteractionsErrorsTest, ErrorsInALaterRangeOfLinesNameTheirLine) {
  TempDir dir;
  std::string text = "user_id,item_id,rating,timestamp\n";
  for (int i = 0; i < 1000; ++i) text += "1," + std::to_string(i) + ",4,1\n";
  text += "1,2,x,1\n";  // line 1002
  for (int i = 0; i < 1000; ++i) text += "1," + std::to_string(i) + ",4,1,9\n";  // wrong counts after it
  write_file(dir.file("log.csv"), text);
  for (int threads : {1, 2, 4}) {
    expect_error<InputError>([&] { load_interactions(options_for(dir.file("log.csv")), threads); },
                             {dir.file("log.csv") + ":1002: column 'rating': non-numeric rating 'x'"});
  }
}

TEST(InteractionsErrorsTest, EmptyFilesAndBlankLines) {
  TempDir dir;
  expect_input_error(dir, "log.csv", "", {"log.csv: empty file"});
  expect_input_error(dir, "log.csv", "\xEF\xBB\xBF", {"log.csv: empty file"});
  expect_input_error(dir, "log.csv", "user_id,item_id,rating,timestamp\n", {"log.csv: empty file (no data lines)"});
  expect_input_error(dir, "log.csv", "user_id,item_id,rating,timestamp\r\n\r\n", {"no data lines"});
  expect_input_error(dir, "log.csv", "user_id,item_id,rating,timestamp\n1,2,3,4\n\n1,2,3,4\n",
                     {"log.csv:3: blank line before the end of the file"});
  expect_error<InputError>([&] { load_interactions(options_for(dir.file("missing.csv"))); },
                           {"missing.csv: cannot open"});
  // fopen opens a folder, whose size reads as LONG_MAX: it ended in std::bad_alloc.
  std::filesystem::create_directory(dir.file("folder.csv"));
  expect_error<InputError>([&] { load_interactions(options_for(dir.file("folder.csv"))); },
                           {"folder.csv: is a folder, not a file"});
  // Lines ending in '\r' alone read as one line, and the error quoted every field of the file.
  expect_input_error(dir, "log.csv", "user_id,item_id,rating,timestamp\r1,2,3,4\r5,6,7,8\r",
                     {"log.csv:1: a carriage return (\\r) inside the first line", "tr '\\r' '\\n'"});
}

TEST(InteractionsErrorsTest, AMissingColumnsMessageListsAtMostTwentyOfTheHeader) {
  TempDir dir;
  std::string header = "user_id,item_id";
  for (int i = 0; i < 30; ++i) header += ",extra" + std::to_string(i);
  expect_error<ConfigError>([&] { read(dir, "log.csv", header + "\n"); },
                            {"no column 'rating'", "'extra17' and 12 more"});
}

// ---- rating scales ---------------------------------------------------------------------------

RatingScale inferred(const TempDir& dir, const std::vector<std::string>& ratings) {
  std::string text = "user_id,item_id,rating,timestamp\n";
  for (size_t i = 0; i < ratings.size(); ++i) text += "1," + std::to_string(i) + "," + ratings[i] + ",1\n";
  const RawRatings raw = read(dir, "log.csv", text);
  EXPECT_TRUE(raw.scale_inferred);
  return raw.scale;
}

void expect_scale(const RatingScale& s, float lo, float hi, float step) {
  EXPECT_FLOAT_EQ(s.min_rating, lo);
  EXPECT_FLOAT_EQ(s.max_rating, hi);
  EXPECT_FLOAT_EQ(s.step, step);
}

TEST(InteractionsScaleTest, InfersTheScaleFromTheValues) {
  TempDir dir;
  expect_scale(inferred(dir, {"3", "1", "5", "2", "4", "5"}), 1, 5, 1);
  expect_scale(inferred(dir, {"0.5", "5", "3.5", "1.0", "4.5"}), 0.5f, 5, 0.5f);
  expect_scale(inferred(dir, {"0", "10", "7", "3"}), 0, 10, 1);
  expect_scale(inferred(dir, {"1", "3", "5"}), 1, 5, 2);
  expect_scale(inferred(dir, {"0.1", "0.3", "1.0", "0.7"}), 0.1f, 1, 0.1f);
  expect_scale(inferred(dir, {"-2", "2", "0"}), -2, 2, 2);
  expect_scale(inferred(dir, {"4"}), 4, 4, 1);
  const RatingScale s = inferred(dir, {"0.5", "5"});
  EXPECT_EQ(describe(s), "0.5..5 in steps of 4.5");

  const RawRatings raw = read(dir, "log.csv", "user_id,item_id,rating,timestamp\n1,1,2,1\n1,2,4,1\n");
  const std::string text = format_stats(raw, compute_stats(raw));
  EXPECT_NE(text.find("rating scale inferred from the data: 2..4 in steps of 2"), std::string::npos) << text;
  EXPECT_NE(text.find("interactions file " + dir.file("log.csv")), std::string::npos) << text;
}

TEST(InteractionsScaleTest, ContinuousValuesAskForADeclaredScale) {
  TempDir dir;
  expect_input_error(dir, "log.csv", "user_id,item_id,rating,timestamp\n1,1,3.14159,1\n1,2,2.71828,1\n1,3,1.41421,1\n",
                     {"log.csv: column 'rating'", "no grid of at most 1,000 levels",
                      "declare the scale with data.interactions.rating_min, rating_max and rating_step"});
  std::string many = "user_id,item_id,rating,timestamp\n";
  for (int i = 0; i <= 1000; ++i) many += "1," + std::to_string(i) + "," + std::to_string(i) + ",1\n";
  expect_input_error(dir, "log.csv", many, {"more than 1,000 distinct ratings", "declare the scale"});
  std::vector<float> values;
  for (int i = 0; i < 1000; ++i) values.push_back(static_cast<float>(i));
  RatingScale scale;
  EXPECT_TRUE(infer_rating_scale(values, scale));  // exactly 1,000 levels
  expect_scale(scale, 0, 999, 1);
  EXPECT_FALSE(infer_rating_scale({0.0f, 1000.0f, 0.5f}, scale));  // 2,001 levels
}

TEST(InteractionsScaleTest, ADeclaredScaleIsCheckedOnEveryLine) {
  TempDir dir;
  Options o;
  o.rating_min = 0;
  o.rating_max = 10;
  o.rating_step = 0.5;
  const RawRatings raw = read(dir, "log.csv", "user_id,item_id,rating,timestamp\n1,1,0,1\n1,2,9.5,1\n", o);
  EXPECT_FALSE(raw.scale_inferred);
  expect_scale(raw.scale, 0, 10, 0.5f);
  EXPECT_EQ(raw.scale.num_levels(), 21);
  expect_input_error(dir, "log.csv", "user_id,item_id,rating,timestamp\n1,1,0,1\n1,2,9.25,1\n",
                     {"log.csv:3: column 'rating'", "rating '9.25' is not on the declared scale 0..10 in steps of 0.5"}, o);
  expect_input_error(dir, "log.csv", "user_id,item_id,rating,timestamp\n1,1,10.5,1\n", {"log.csv:2:", "'10.5'"}, o);
  Options half;
  half.rating_step = 1;  // without min < max
  expect_error<ConfigError>([&] { read(dir, "log.csv", "user_id,item_id,rating,timestamp\n1,1,1,1\n", half); },
                            {"'data.interactions.rating_step'"});
}

// ---- timestamps, order and repeated pairs ----------------------------------------------------

TEST(InteractionsTimeTest, IsoDatesAndTimesAreUnixSeconds) {
  TempDir dir;
  const RawRatings raw = read(dir, "log.csv",
                              "user_id,item_id,rating,timestamp\n"
                              "1,1,1,2020-01-02\n"
                              "1,2,1,2020-01-02T03:04:05\n"
                              "1,3,1,2020-01-02T03:04:05Z\n"
                              "1,4,1,2020-01-02 03:04:05.750Z\n"
                              "1,5,1,2020-01-02T03:04:05+02:00\n"
                              "1,6,1,1969-12-31T23:59:59Z\n"
                              "1,7,1,2000-02-29T12:00-05:30\n"
                              "1,8,1,1577934245\n");
  EXPECT_EQ(raw.timestamp, (std::vector<int64_t>{1577923200, 1577934245, 1577934245, 1577934245, 1577927045, -1,
                                                  951845400, 1577934245}));
}

TEST(InteractionsTimeTest, WithoutATimestampColumnFileOrderIsTimeOrder) {
  TempDir dir;
  Options o;
  o.timestamp = "";
  const RawRatings raw = read(dir, "log.csv", "user_id,item_id,rating\nb,x,1\na,y,2\nb,z,3\nb,x,4\n", o);
  // b rated x twice: the later line is kept.
  EXPECT_EQ(raw.duplicates_dropped, 1);
  EXPECT_EQ(raw.timestamp, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(raw.rating, (std::vector<float>{2, 3, 4}));
  const PreparedRatings prepared = prepare_ratings(raw, SplitOptions{});
  // User b (dense 2): z then x, in file order; x (the last) is held out.
  ASSERT_EQ(prepared.size(), 3);
  EXPECT_EQ(user_name(raw, prepared.raw_user[2]), "b");
  EXPECT_EQ(movie_name(raw, prepared.raw_movie[static_cast<size_t>(prepared.movie[1])]), "z");
  EXPECT_EQ(movie_name(raw, prepared.raw_movie[static_cast<size_t>(prepared.movie[2])]), "x");
  EXPECT_EQ(prepared.is_valid[2], 1);
}

TEST(InteractionsTimeTest, RepeatedPairsKeepTheLatest) {
  TempDir dir;
  const RawRatings raw = read(dir, "log.csv",
                              "user_id,item_id,rating,timestamp\n"
                              "1,5,5,200\n"
                              "1,5,2,100\n"
                              "2,5,3,50\n"
                              "2,5,4,50\n");
  EXPECT_EQ(raw.duplicates_dropped, 2);
  EXPECT_EQ(raw.rating, (std::vector<float>{5, 4}));  // the later timestamp; the later line on a tie
  EXPECT_NE(format_stats(raw, compute_stats(raw)).find("2 rating(s) of a (user, movie) pair rated again"),
            std::string::npos);
}

TEST(InteractionsTimeTest, DroppingRepeatedPairsMatchesANaiveDefinition) {
  // Many repeats, ties in time, in random order: each pair keeps its row with the greatest
  // (timestamp, row index), and the kept rows stay in file order.
  std::mt19937 rng(5);
  RawRatings raw;
  for (int i = 0; i < 20000; ++i) {
    raw.user_id.push_back(static_cast<int32_t>(rng() % 40) - 5);
    raw.movie_id.push_back(static_cast<int32_t>(rng() % 60));
    raw.rating.push_back(static_cast<float>(i));
    raw.timestamp.push_back(static_cast<int64_t>(rng() % 7));
  }
  std::map<std::pair<int32_t, int32_t>, std::pair<int64_t, size_t>> last;
  for (size_t i = 0; i < raw.rating.size(); ++i) {
    auto& best = last[{raw.user_id[i], raw.movie_id[i]}];
    if (best.second == 0 || std::make_pair(raw.timestamp[i], i + 1) > best) best = {raw.timestamp[i], i + 1};
  }
  std::vector<float> expected;
  for (size_t i = 0; i < raw.rating.size(); ++i) {
    if (last[{raw.user_id[i], raw.movie_id[i]}].second == i + 1) expected.push_back(raw.rating[i]);
  }
  const int64_t dropped = drop_repeated_ratings(raw);
  EXPECT_EQ(dropped, 20000 - static_cast<int64_t>(expected.size()));
  EXPECT_EQ(raw.rating, expected);
  EXPECT_EQ(raw.user_id.size(), expected.size());
  EXPECT_EQ(raw.timestamp.size(), expected.size());
}

TEST(InteractionsTimeTest, ThePairMinusOneMinusOneIsAPairLikeAnyOther) {
  // Its key, (uint32(-1) << 32 | uint32(-1)) + 1, wrapped to 0, the hash set's empty mark: its
  // only rating was taken for a repeat of itself and dropped.
  TempDir dir;
  const RawRatings once = read(dir, "log.csv", "user_id,item_id,rating,timestamp\n-1,-1,5,9\n1,2,3,4\n");
  EXPECT_EQ(once.duplicates_dropped, 0);
  EXPECT_EQ(once.rating, (std::vector<float>{5, 3}));
  const RawRatings twice =
      read(dir, "log.csv", "user_id,item_id,rating,timestamp\n-1,-1,5,9\n-1,-1,2,10\n1,2,3,4\n1,2,4,1\n");
  EXPECT_EQ(twice.duplicates_dropped, 2);
  EXPECT_EQ(twice.rating, (std::vector<float>{2, 3}));
}

// ---- the same data as ML-1M ------------------------------------------------------------------

TEST(InteractionsTest, Ml1mWrittenAsInteractionsIsExactlyTheSameData) {
  TempDir dir;
  SyntheticOptions synth;
  synth.users = 120;
  synth.movies = 90;
  synth.seed = 11;
  write_synthetic_movielens(dir.file("ml"), Release::kMovieLens1M, synth);
  const RawRatings ml = load_movielens(dir.file("ml"));
  // The same ratings in file order, columns shuffled, an extra one, as a user would export them.
  std::string csv = "timestamp,rating,comment,item_id,user_id\n";
  for (int64_t i = 0; i < ml.size(); ++i) {
    const auto k = static_cast<size_t>(i);
    char rating[32];
    std::snprintf(rating, sizeof rating, "%g", static_cast<double>(ml.rating[k]));
    csv += std::to_string(ml.timestamp[k]) + "," + rating + ",\"ok, fine\"," + std::to_string(ml.movie_id[k]) + "," +
           std::to_string(ml.user_id[k]) + "\n";
  }
  write_file(dir.file("ratings.csv"), csv);
  const RawRatings in = load_interactions(options_for(dir.file("ratings.csv")));
  EXPECT_EQ(in.user_id, ml.user_id);
  EXPECT_EQ(in.movie_id, ml.movie_id);
  EXPECT_EQ(in.rating, ml.rating);
  EXPECT_EQ(in.timestamp, ml.timestamp);
  EXPECT_EQ(in.duplicates_dropped, ml.duplicates_dropped);
  EXPECT_EQ(describe(in.scale), describe(ml.scale));

  for (int test_per_user : {0, 1}) {
    SplitOptions split;
    split.valid_per_user = 1;
    split.test_per_user = test_per_user;
    split.min_ratings_per_user = 3;
    const PreparedRatings a = prepare_ratings(ml, split);
    const PreparedRatings b = prepare_ratings(in, split);
    EXPECT_EQ(a.num_users, b.num_users);
    EXPECT_EQ(a.num_movies, b.num_movies);
    EXPECT_EQ(a.user, b.user);
    EXPECT_EQ(a.movie, b.movie);
    EXPECT_EQ(a.rating, b.rating);
    EXPECT_EQ(a.rating_level, b.rating_level);
    EXPECT_EQ(a.timestamp, b.timestamp);
    EXPECT_EQ(a.is_valid, b.is_valid);
    EXPECT_EQ(a.is_test, b.is_test);
    EXPECT_EQ(a.user_start, b.user_start);
    EXPECT_EQ(a.raw_user, b.raw_user);
    EXPECT_EQ(a.raw_movie, b.raw_movie);
    EXPECT_EQ(a.train_rows, b.train_rows);
    EXPECT_EQ(a.valid_rows, b.valid_rows);
    EXPECT_EQ(a.test_rows, b.test_rows);
  }
}

// ---- speed (on a file of your own) -----------------------------------------------------------

// MLREC_INTERACTIONS_BENCH=FILE (a CSV with user_id,item_id,rating,timestamp columns) times
// reading and preparing it; skipped otherwise. The target: 32 million rows in 20 s on 2 cores.
TEST(InteractionsSpeedTest, ReadAndPrepareAFileOfYourOwn) {
  const char* path = std::getenv("MLREC_INTERACTIONS_BENCH");
  if (path == nullptr || *path == '\0') GTEST_SKIP() << "set MLREC_INTERACTIONS_BENCH=FILE to time a file";
  Stopwatch watch;
  const RawRatings raw = load_interactions(options_for(path));
  const double read_seconds = watch.seconds();
  watch.restart();
  const PreparedRatings prepared = prepare_ratings(raw, SplitOptions{});
  const double prepare_seconds = watch.seconds();
  std::printf("%s: %lld rows (%zu user names, %zu item names, %lld repeated pairs dropped): read %.2f s, "
              "prepare %.2f s, total %.2f s; %d users, %d items\n",
              path, static_cast<long long>(raw.size()), raw.user_names.size(), raw.movie_names.size(),
              static_cast<long long>(raw.duplicates_dropped), read_seconds, prepare_seconds,
              read_seconds + prepare_seconds, prepared.num_users, prepared.num_movies);
}

}  // namespace
}  // namespace mlrec::data
