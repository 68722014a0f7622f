// Readers, release detection and stats, on tiny hand-written fixtures in a temp directory.
#include "mlrec/data/movielens.h"

#include <gtest/gtest.h>

#include <filesystem>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <ostream>
#include <string>

#include "mlrec/common/error.h"
#include "support/temp_dir.h"

namespace mlrec::data {
namespace {

using test_support::TempDir;
using test_support::write_file;

// Runs fn and checks that it throws one InputError whose message names file:line and says what.
void expect_input_error(const std::function<void()>& fn, const std::string& file, long line,
                        const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << "no InputError; expected " << file << ":" << line << ": " << what;
  } catch (const InputError& e) {
    const std::string msg = e.what();
    const std::string where = line > 0 ? file + ":" + std::to_string(line) + ":" : file + ":";
    EXPECT_NE(msg.find(where), std::string::npos) << "message: " << msg << "\nexpected: " << where;
    EXPECT_NE(msg.find(what), std::string::npos) << "message: " << msg << "\nexpected: " << what;
  }
}

const char* kUsers1M =
    "1::F::1::10::48067\n"
    "2::M::56::16::70072\n"
    "3::M::25::0::55117\n";
// Titles with latin-1 bytes and single colons, as in the real movies.dat.
const char* kMovies1M =
    "1::Toy Story (1995)::Animation|Children's|Comedy\n"
    "5::Caf\xE9 Society: The Movie (1996)::Drama\n"
    "9::Sudden Death (1995)::Action\n";
const char* kRatings1M =
    "1::5::5::978300760\n"
    "1::1::3::978302109\n"
    "2::9::1::978301968\n"
    "3::1::4::978300275\n";

void write_1m(const TempDir& dir, const std::string& ratings = kRatings1M,
              const std::string& users = kUsers1M, const std::string& movies = kMovies1M) {
  write_file(dir.file("ratings.dat"), ratings);
  write_file(dir.file("users.dat"), users);
  write_file(dir.file("movies.dat"), movies);
}

void expect_1m_fixture(const RawRatings& raw) {
  EXPECT_EQ(raw.release, Release::kMovieLens1M);
  ASSERT_EQ(raw.size(), 4);
  EXPECT_EQ(raw.user_id, (std::vector<int32_t>{1, 1, 2, 3}));
  EXPECT_EQ(raw.movie_id, (std::vector<int32_t>{5, 1, 9, 1}));
  EXPECT_EQ(raw.rating, (std::vector<float>{5, 3, 1, 4}));
  EXPECT_EQ(raw.timestamp, (std::vector<int64_t>{978300760, 978302109, 978301968, 978300275}));
  EXPECT_EQ(raw.catalog_movies, 3);
  EXPECT_TRUE(raw.has_user_features);
  ASSERT_EQ(raw.user_features.size(), 3u);
  const UserFeatures& u1 = raw.user_features.at(1);
  EXPECT_EQ(u1.sex, 0);
  EXPECT_EQ(u1.age_group, 0);
  EXPECT_EQ(u1.occupation, 10);
  const UserFeatures& u2 = raw.user_features.at(2);
  EXPECT_EQ(u2.sex, 1);
  EXPECT_EQ(u2.age_group, 6);
  EXPECT_EQ(u2.occupation, 16);
  EXPECT_EQ(raw.user_features.at(3).age_group, 2);
  EXPECT_EQ(raw.user_features.at(3).occupation, 0);
}

TEST(RatingScaleTest, LevelsAndGrid) {
  RatingScale stars = scale_of(Release::kMovieLens1M);
  EXPECT_EQ(stars.num_levels(), 5);
  EXPECT_EQ(stars.level(1), 1);
  EXPECT_EQ(stars.level(5), 5);
  EXPECT_TRUE(stars.contains(3));
  EXPECT_FALSE(stars.contains(3.5f));
  EXPECT_FALSE(stars.contains(0));
  EXPECT_FALSE(stars.contains(6));
  RatingScale halves = scale_of(Release::kMovieLensCsv);
  EXPECT_EQ(halves.num_levels(), 10);
  EXPECT_EQ(halves.level(0.5f), 1);
  EXPECT_EQ(halves.level(3.5f), 7);
  EXPECT_EQ(halves.level(5.0f), 10);
  EXPECT_TRUE(halves.contains(0.5f));
  EXPECT_TRUE(halves.contains(4.5f));
  EXPECT_FALSE(halves.contains(0.0f));
  EXPECT_FALSE(halves.contains(4.25f));
  EXPECT_FALSE(halves.contains(5.5f));
  EXPECT_STREQ(release_name(Release::kMovieLens1M), "ml-1m");
}

TEST(RatingScaleTest, EveryLevelOfAFineScaleIsOnItAndNoMidpointIs) {
  // 10,001 levels: a tolerance fixed in steps refused 15.02 (float rounding grows with the level).
  const RatingScale percent{0, 100, 0.01f};
  EXPECT_EQ(percent.num_levels(), 10001);
  for (int i = 0; i <= 10000; ++i) {
    char text[32];
    std::snprintf(text, sizeof text, "%d.%02d", i / 100, i % 100);
    const float rating = std::strtof(text, nullptr);
    ASSERT_TRUE(percent.contains(rating)) << text;
    ASSERT_EQ(percent.level(rating), i + 1) << text;
    std::snprintf(text, sizeof text, "%d.%02d5", i / 100, i % 100);
    ASSERT_FALSE(percent.contains(std::strtof(text, nullptr))) << text;
  }
  EXPECT_FALSE(percent.contains(100.01f));
  EXPECT_FALSE(percent.contains(-0.01f));
  EXPECT_STREQ(release_name(Release::kMovieLens100K), "ml-100k");
  EXPECT_STREQ(release_name(Release::kMovieLensCsv), "csv");
}

// ---- ML-1M ------------------------------------------------------------------------------------

TEST(MovieLens1MTest, ReadsRatingsMoviesAndUsers) {
  TempDir dir;
  write_1m(dir);
  RawRatings raw = load_movielens(dir.path());
  expect_1m_fixture(raw);
  EXPECT_EQ(raw.dir, dir.path());
  EXPECT_EQ(raw.scale.num_levels(), 5);
}

TEST(MovieLens1MTest, ARepeatedPairKeepsItsLatestRatingAndIsReported) {
  TempDir dir;
  // User 1 rates movie 5 twice, the later rating (by timestamp) first in the file.
  write_1m(dir, std::string(kRatings1M) + "1::5::2::978300000\n" + "2::9::4::978309999\n");
  const RawRatings raw = load_movielens(dir.path());
  EXPECT_EQ(raw.duplicates_dropped, 2);
  EXPECT_EQ(raw.user_id, (std::vector<int32_t>{1, 1, 3, 2}));
  EXPECT_EQ(raw.movie_id, (std::vector<int32_t>{5, 1, 1, 9}));
  EXPECT_EQ(raw.rating, (std::vector<float>{5, 3, 4, 4}));  // 1::5 keeps 5 (later), 2::9 keeps 4
  const std::string text = format_stats(raw, compute_stats(raw));
  EXPECT_NE(text.find("2 rating(s) of a (user, movie) pair rated again were dropped"), std::string::npos) << text;
}

TEST(MovieLens1MTest, AFolderWithTwoReleasesSaysWhichIsRead) {
  TempDir dir;
  write_1m(dir);
  write_file(dir.file("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,1\n");
  const RawRatings raw = load_movielens(dir.path());
  expect_1m_fixture(raw);
  EXPECT_EQ(raw.other_releases, (std::vector<std::string>{"ratings.csv"}));
  const std::string text = format_stats(raw, compute_stats(raw));
  EXPECT_NE(text.find("also holds ratings.csv (another release): read as ml-1m only"), std::string::npos) << text;
}

TEST(MovieLens1MTest, AcceptsCrlfAndMissingFinalNewline) {
  TempDir dir;
  write_1m(dir,
           "1::5::5::978300760\r\n1::1::3::978302109\r\n2::9::1::978301968\r\n3::1::4::978300275",
           "1::F::1::10::48067\r\n2::M::56::16::70072\r\n3::M::25::0::55117\r\n",
           "1::Toy Story (1995)::Animation\r\n5::Caf\xE9 (1996)::Drama\r\n9::Sudden Death (1995)::Action");
  expect_1m_fixture(load_movielens(dir.path()));
}

TEST(MovieLens1MTest, AcceptsTrailingBlankLines) {
  TempDir dir;
  write_1m(dir, std::string(kRatings1M) + "\n\r\n\n");
  expect_1m_fixture(load_movielens(dir.path()));
}

TEST(MovieLens1MTest, RejectsBlankLineInTheMiddle) {
  TempDir dir;
  write_1m(dir, "1::5::5::978300760\n\n2::9::1::978301968\n");
  expect_input_error([&] { load_movielens(dir.path()); }, dir.file("ratings.dat"), 2, "blank line");
}

struct BadLine {
  const char* line;    // replaces the third line of the file
  const char* reason;  // expected in the message
};

std::ostream& operator<<(std::ostream& os, const BadLine& b) {
  return os << "line '" << b.line << "' -> '" << b.reason << "'";
}

class MovieLens1MBadRatingTest : public ::testing::TestWithParam<BadLine> {};

TEST_P(MovieLens1MBadRatingTest, NamesFileAndLine) {
  TempDir dir;
  write_1m(dir, std::string("1::5::5::978300760\n1::1::3::978302109\n") + GetParam().line +
                    "\n3::1::4::978300275\n");
  expect_input_error([&] { load_movielens(dir.path()); }, dir.file("ratings.dat"), 3,
                     GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, MovieLens1MBadRatingTest,
    ::testing::Values(BadLine{"2::9::1", "expected 4 fields"},
                      BadLine{"2::9::1::978301968::7", "expected 4 fields"},
                      BadLine{"2:9::1::978301968", "expected 4 fields"},
                      BadLine{"x::9::1::978301968", "non-numeric user id 'x'"},
                      BadLine{"2::9a::1::978301968", "non-numeric movie id '9a'"},
                      BadLine{"2::9::four::978301968", "non-numeric rating 'four'"},
                      BadLine{"2::9::1::97830196x", "non-numeric timestamp"},
                      BadLine{"2::9::::978301968", "non-numeric rating ''"},
                      BadLine{"2::9::6::978301968", "rating 6 is not on the scale"},
                      BadLine{"2::9::0::978301968", "rating 0 is not on the scale"},
                      BadLine{"2::9::3.5::978301968", "rating 3.5 is not on the scale"},
                      BadLine{"2::9::nan::978301968", "rating"},
                      BadLine{"2::7::1::978301968", "movie 7 is not in"},
                      BadLine{"4::9::1::978301968", "user 4 is not in"},
                      BadLine{"99999999999::9::1::978301968", "user id '99999999999' is out of range"}));

TEST(MovieLens1MTest, MissingMovieMessageNamesMoviesFile) {
  TempDir dir;
  write_1m(dir, "1::7::5::978300760\n");
  try {
    load_movielens(dir.path());
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("movies.dat"), std::string::npos) << e.what();
  }
}

class MovieLens1MBadUserTest : public ::testing::TestWithParam<BadLine> {};

TEST_P(MovieLens1MBadUserTest, NamesFileAndLine) {
  TempDir dir;
  write_1m(dir, kRatings1M,
           std::string("1::F::1::10::48067\n") + GetParam().line + "\n3::M::25::0::55117\n");
  expect_input_error([&] { load_movielens(dir.path()); }, dir.file("users.dat"), 2,
                     GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, MovieLens1MBadUserTest,
    ::testing::Values(BadLine{"2::M::56::16", "expected 5 fields"},
                      BadLine{"2::X::56::16::70072", "sex must be F or M"},
                      BadLine{"2::M::17::16::70072", "age 17 is not an ML-1M age group"},
                      BadLine{"2::M::old::16::70072", "non-numeric age"},
                      BadLine{"2::M::56::21::70072", "occupation 21 outside 0..20"},
                      BadLine{"2::M::56::-1::70072", "occupation -1 outside"},
                      BadLine{"2::M::56::x::70072", "non-numeric occupation"},
                      BadLine{"b::M::56::16::70072", "non-numeric user id"},
                      BadLine{"1::M::56::16::70072", "duplicate user id 1 (first on line 1)"}));

class MovieLens1MBadMovieTest : public ::testing::TestWithParam<BadLine> {};

TEST_P(MovieLens1MBadMovieTest, NamesFileAndLine) {
  TempDir dir;
  write_1m(dir, kRatings1M, kUsers1M,
           std::string("1::Toy Story (1995)::Animation\n") + GetParam().line +
               "\n9::Sudden Death (1995)::Action\n");
  expect_input_error([&] { load_movielens(dir.path()); }, dir.file("movies.dat"), 2,
                     GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, MovieLens1MBadMovieTest,
    ::testing::Values(BadLine{"5::Heat (1995)", "expected 3 fields"},
                      BadLine{"5::Heat::The Return (1995)::Drama", "expected 3 fields"},
                      BadLine{"five::Heat (1995)::Drama", "non-numeric movie id 'five'"},
                      BadLine{"1::Heat (1995)::Drama", "duplicate movie id 1 (first on line 1)"}));

TEST(MovieLens1MTest, EmptyFileIsAnError) {
  TempDir dir;
  write_1m(dir, "");
  expect_input_error([&] { load_movielens(dir.path()); }, dir.file("ratings.dat"), 0,
                     "empty file");
  TempDir blank;
  write_1m(blank, kRatings1M, "\n\n");
  expect_input_error([&] { load_movielens(blank.path()); }, blank.file("users.dat"), 0,
                     "empty file");
}

// ---- ML-100K ----------------------------------------------------------------------------------

const char* kOccupations100K = "administrator\nartist\ndoctor\nwriter\n";

std::string item_line(int id, const std::string& title) {
  std::string line = std::to_string(id) + "|" + title + "|01-Jan-1995||http://example.invalid/";
  for (int g = 0; g < 19; ++g) line += g == 3 ? "|1" : "|0";
  return line + "\n";
}

void write_100k(const TempDir& dir, const std::string& data, const std::string& users,
                const std::string& items, const std::string& occupations = kOccupations100K) {
  write_file(dir.file("u.data"), data);
  write_file(dir.file("u.user"), users);
  write_file(dir.file("u.item"), items);
  write_file(dir.file("u.occupation"), occupations);
}

TEST(MovieLens100KTest, ReadsRatingsAndBucketsAges) {
  TempDir dir;
  // One user per age boundary of ML-1M's groups.
  const int ages[] = {7, 17, 18, 24, 25, 34, 35, 44, 45, 49, 50, 55, 56, 73};
  const int groups[] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6};
  const char* occupations[] = {"administrator", "artist", "doctor", "writer"};
  std::string users, data;
  for (int i = 0; i < 14; ++i) {
    users += std::to_string(i + 1) + "|" + std::to_string(ages[i]) + "|" + (i % 2 ? "M" : "F") +
             "|" + occupations[i % 4] + "|12345\n";
    data += std::to_string(i + 1) + "\t" + std::to_string(i % 2 + 1) + "\t" +
            std::to_string(i % 5 + 1) + "\t" + std::to_string(880000000 + i) + "\n";
  }
  write_100k(dir, data, users, item_line(1, "Toy Story (1995)") + item_line(2, "GoldenEye (1995)") +
                                   item_line(3, "Four Rooms (1995)"));
  EXPECT_EQ(detect_release(dir.path()), Release::kMovieLens100K);
  RawRatings raw = load_movielens(dir.path());
  EXPECT_EQ(raw.release, Release::kMovieLens100K);
  ASSERT_EQ(raw.size(), 14);
  EXPECT_EQ(raw.catalog_movies, 3);
  EXPECT_EQ(raw.user_id[13], 14);
  EXPECT_EQ(raw.movie_id[13], 2);
  EXPECT_EQ(raw.rating[13], 4);
  EXPECT_EQ(raw.timestamp[13], 880000013);
  ASSERT_TRUE(raw.has_user_features);
  for (int i = 0; i < 14; ++i) {
    const UserFeatures& f = raw.user_features.at(i + 1);
    EXPECT_EQ(f.age_group, groups[i]) << "age " << ages[i];
    EXPECT_EQ(f.sex, i % 2) << "user " << i + 1;
    EXPECT_EQ(f.occupation, i % 4) << "occupation is its line in u.occupation";
  }
}

TEST(MovieLens100KTest, OccupationCodesFollowFileOrder) {
  TempDir dir;
  write_100k(dir, "1\t1\t3\t1\n2\t1\t3\t2\n", "1|30|F|zebra|1\n2|30|M|aardvark|2\n",
             item_line(1, "A"), "zebra\naardvark\n");
  RawRatings raw = load_movielens(dir.path());
  EXPECT_EQ(raw.user_features.at(1).occupation, 0);
  EXPECT_EQ(raw.user_features.at(2).occupation, 1);
}

TEST(MovieLens100KTest, RejectsMalformedFiles) {
  const std::string items = item_line(1, "A") + item_line(2, "B");
  const std::string users = "1|30|F|artist|1\n2|30|M|doctor|2\n";
  {
    TempDir dir;
    write_100k(dir, "1\t1\t3\t1\n", "1|30|F|artist|1\n2|30|M|pilot|2\n", items);
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("u.user"), 2,
                       "unknown occupation 'pilot'");
  }
  {
    TempDir dir;
    write_100k(dir, "1\t1\t3\t1\n", "1|30|F|artist|1\n2|0|M|doctor|2\n", items);
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("u.user"), 2,
                       "age must be positive");
  }
  {
    TempDir dir;
    write_100k(dir, "1\t1\t3\t1\n", "1|30|F|artist|1\n2|30|X|doctor|2\n", items);
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("u.user"), 2, "sex");
  }
  {
    TempDir dir;
    write_100k(dir, "1\t1\t3\t1\n", users, item_line(1, "A") + "2|B|01-Jan-1995\n");
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("u.item"), 2,
                       "expected 24 fields");
  }
  {
    TempDir dir;
    write_100k(dir, "1\t1\t3\t1\n2 2 3 5\n", users, items);
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("u.data"), 2,
                       "expected 4 fields separated by tabs");
  }
  {
    TempDir dir;
    write_100k(dir, "1\t1\t3\t1\n2\t3\t3\t5\n", users, items);
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("u.data"), 2,
                       "movie 3 is not in");
  }
  {
    TempDir dir;
    write_100k(dir, "1\t1\t3\t1\n", users, items + item_line(1, "C"));
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("u.item"), 3,
                       "duplicate movie id 1");
  }
}

// ---- CSV releases -----------------------------------------------------------------------------

const char* kMoviesCsv =
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation\n"
    "11,\"American President, The (1995)\",Comedy|Drama\n"
    "29,\"The \"\"Quoted\"\" One, Part 2 (1995)\",Drama\n"
    "40,\"\",(no genres listed)\n";

TEST(MovieLensCsvTest, ReadsHalfStarsAndQuotedTitles) {
  TempDir dir;
  write_file(dir.file("movies.csv"), kMoviesCsv);
  write_file(dir.file("ratings.csv"),
             "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,29,0.5,964981247\n"
             "7,11,3.5,964982224\n7,40,5.0,964983815\n");
  EXPECT_EQ(detect_release(dir.path()), Release::kMovieLensCsv);
  RawRatings raw = load_movielens(dir.path());
  EXPECT_EQ(raw.release, Release::kMovieLensCsv);
  EXPECT_FALSE(raw.has_user_features);
  EXPECT_TRUE(raw.user_features.empty());
  EXPECT_EQ(raw.catalog_movies, 4);
  EXPECT_EQ(raw.scale.num_levels(), 10);
  EXPECT_EQ(raw.user_id, (std::vector<int32_t>{1, 1, 7, 7}));
  EXPECT_EQ(raw.movie_id, (std::vector<int32_t>{1, 29, 11, 40}));
  EXPECT_EQ(raw.rating, (std::vector<float>{4.0f, 0.5f, 3.5f, 5.0f}));
  EXPECT_EQ(raw.timestamp[3], 964983815);
}

TEST(MovieLensCsvTest, AcceptsCrlfAndOtherNumberSpellings) {
  TempDir dir;
  write_file(dir.file("movies.csv"), "movieId,title,genres\r\n1,\"A, B\",Drama\r\n");
  write_file(dir.file("ratings.csv"), "userId,movieId,rating,timestamp\r\n1,1,4,5\r\n2,1,2.50,6");
  RawRatings raw = load_movielens(dir.path());
  EXPECT_EQ(raw.rating, (std::vector<float>{4.0f, 2.5f}));
  EXPECT_EQ(raw.timestamp, (std::vector<int64_t>{5, 6}));
}

class MovieLensCsvBadRatingTest : public ::testing::TestWithParam<BadLine> {};

TEST_P(MovieLensCsvBadRatingTest, NamesFileAndLine) {
  TempDir dir;
  write_file(dir.file("movies.csv"), kMoviesCsv);
  write_file(dir.file("ratings.csv"), std::string("userId,movieId,rating,timestamp\n1,1,4.0,1\n") +
                                          GetParam().line + "\n");
  expect_input_error([&] { load_movielens(dir.path()); }, dir.file("ratings.csv"), 3,
                     GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, MovieLensCsvBadRatingTest,
    ::testing::Values(BadLine{"1,11,4.0", "expected 4 fields separated by ','"},
                      BadLine{"1,11,4.25,2", "rating 4.25 is not on the scale 0.5..5 in steps of 0.5"},
                      BadLine{"1,11,5.5,2", "rating 5.5 is not on the scale"},
                      BadLine{"1,11,0.0,2", "rating 0.0 is not on the scale"},
                      BadLine{"1,11,-1,2", "rating -1 is not on the scale"},
                      BadLine{"1,11,good,2", "non-numeric rating 'good'"},
                      BadLine{"1,12,4.0,2", "movie 12 is not in"},
                      BadLine{"1,11,4.0,", "non-numeric timestamp ''"}));

TEST(MovieLensCsvTest, RejectsBadHeadersAndQuotes) {
  {
    TempDir dir;
    write_file(dir.file("movies.csv"), kMoviesCsv);
    write_file(dir.file("ratings.csv"), "1,1,4.0,964982703\n");
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("ratings.csv"), 1,
                       "expected the header line 'userId,movieId,rating,timestamp'");
  }
  {
    TempDir dir;
    write_file(dir.file("movies.csv"), "movieId,title,genres\n1,\"Unterminated, (1995),Drama\n");
    write_file(dir.file("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,1\n");
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("movies.csv"), 2,
                       "unterminated quoted field");
  }
  {
    TempDir dir;
    write_file(dir.file("movies.csv"), "movieId,title,genres\n1,\"A\"B,Drama\n");
    write_file(dir.file("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,1\n");
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("movies.csv"), 2,
                       "text after a closing quote");
  }
  {
    TempDir dir;
    write_file(dir.file("movies.csv"), "movieId,title,genres\n1,A, B (1995),Drama\n");
    write_file(dir.file("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,1\n");
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("movies.csv"), 2,
                       "expected 3 fields");
  }
  {
    TempDir dir;
    write_file(dir.file("movies.csv"), "movieId,title,genres\n1,A,Drama\n3,B,Drama\n1,C,Drama\n");
    write_file(dir.file("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,1\n");
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("movies.csv"), 4,
                       "duplicate movie id 1 (first on line 2)");
  }
  {
    TempDir dir;
    write_file(dir.file("movies.csv"), kMoviesCsv);
    write_file(dir.file("ratings.csv"), "userId,movieId,rating,timestamp\n");
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("ratings.csv"), 0,
                       "empty file");
  }
}

// ---- detection --------------------------------------------------------------------------------

TEST(DetectReleaseTest, NoReleaseSaysHowToGetData) {
  TempDir dir;
  write_file(dir.file("README"), "nothing here\n");
  try {
    detect_release(dir.path());
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no MovieLens release found in " + dir.path()), std::string::npos) << msg;
    EXPECT_NE(msg.find("ratings.dat, u.data or ratings.csv"), std::string::npos) << msg;
    // The command as pasted puts the release where the hint then points (it unpacks into
    // DEST/RELEASE: the hint pointed at DEST itself).
    EXPECT_NE(msg.find("scripts/fetch_movielens.sh ml-1m " + dir.path() + " and set data.dir=" + dir.path() + "/ml-1m"),
              std::string::npos)
        << msg;
  }
  // A folder named as a release: fetched into its parent.
  try {
    detect_release(dir.file("ml-100k"));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("scripts/fetch_movielens.sh ml-100k " + dir.path() + " (it unpacks into " +
                                         dir.file("ml-100k") + ")"),
              std::string::npos)
        << e.what();
  }
}

TEST(DetectReleaseTest, AFolderNamedAsAReleaseFileIsRefusedAsSuch) {
  // It read as a missing file ("users.dat: missing"), or as no release at all (ratings.dat).
  for (const std::string name : {"ratings.dat", "users.dat"}) {
    TempDir dir;
    for (const char* file : {"ratings.dat", "users.dat", "movies.dat"}) {
      if (file == name) std::filesystem::create_directories(dir.file(file));
      else write_file(dir.file(file), "1::1::5::1\n");
    }
    try {
      detect_release(dir.path());
      FAIL() << "expected InputError for " << name;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(dir.file(name) + ": is a folder, not a file"), std::string::npos) << e.what();
    }
  }
}

TEST(DetectReleaseTest, MissingDirectoryIsAnInputError) {
  TempDir dir;
  const std::string missing = dir.file("nope");
  try {
    load_movielens(missing);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(missing), std::string::npos) << msg;
    EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
    EXPECT_NE(msg.find("scripts/fetch_movielens.sh"), std::string::npos) << msg;
  }
}

TEST(DetectReleaseTest, MissingCompanionFileIsNamed) {
  {
    TempDir dir;
    write_file(dir.file("ratings.dat"), kRatings1M);
    write_file(dir.file("movies.dat"), kMovies1M);
    expect_input_error([&] { detect_release(dir.path()); }, dir.file("users.dat"), 0, "missing");
  }
  {
    TempDir dir;
    write_file(dir.file("ratings.dat"), kRatings1M);
    write_file(dir.file("users.dat"), kUsers1M);
    expect_input_error([&] { load_movielens(dir.path()); }, dir.file("movies.dat"), 0, "missing");
  }
  {
    TempDir dir;
    write_file(dir.file("u.data"), "1\t1\t3\t1\n");
    write_file(dir.file("u.user"), "1|30|F|artist|1\n");
    write_file(dir.file("u.item"), item_line(1, "A"));
    expect_input_error([&] { detect_release(dir.path()); }, dir.file("u.occupation"), 0,
                       "missing");
  }
  {
    TempDir dir;
    write_file(dir.file("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,1\n");
    expect_input_error([&] { detect_release(dir.path()); }, dir.file("movies.csv"), 0, "missing");
  }
}

TEST(DetectReleaseTest, PrefersRatingsDatThenUDataThenCsv) {
  TempDir dir;
  write_file(dir.file("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,1\n");
  write_file(dir.file("movies.csv"), kMoviesCsv);
  EXPECT_EQ(detect_release(dir.path()), Release::kMovieLensCsv);
  write_100k(dir, "1\t1\t3\t1\n", "1|30|F|artist|1\n", item_line(1, "A"));
  EXPECT_EQ(detect_release(dir.path()), Release::kMovieLens100K);
  write_1m(dir);
  EXPECT_EQ(detect_release(dir.path()), Release::kMovieLens1M);
}

// ---- stats ------------------------------------------------------------------------------------

TEST(StatsTest, CountsAndPerUserSpread) {
  TempDir dir;
  write_1m(dir,
           "1::5::5::1\n1::1::3::2\n1::9::2::3\n2::9::1::4\n3::1::4::5\n3::5::4::6\n"
           "3::9::4::7\n3::9::4::8\n");
  RawRatings raw = load_movielens(dir.path());
  DataStats s = compute_stats(raw);
  EXPECT_EQ(s.ratings, 7);  // user 3 rates movie 9 twice: the later rating alone is kept
  EXPECT_EQ(s.users, 3);
  EXPECT_EQ(s.movies, 3);
  EXPECT_EQ(s.min_rating, 1);
  EXPECT_EQ(s.max_rating, 5);
  EXPECT_EQ(s.per_user_min, 1);
  EXPECT_EQ(s.per_user_median, 3);  // counts 3, 1, 3
  EXPECT_EQ(s.per_user_max, 3);
  const std::string text = format_stats(raw, s);
  EXPECT_NE(text.find("ml-1m"), std::string::npos) << text;
  EXPECT_NE(text.find("7 ratings from 3 users on 3 movies"), std::string::npos) << text;
  EXPECT_NE(text.find("min 1, median 3, max 3"), std::string::npos) << text;
  EXPECT_NE(text.find("1 rating(s) of a (user, movie) pair rated again were dropped"), std::string::npos) << text;
}

TEST(StatsTest, EvenUserCountMedianAndGroupedNumbers) {
  RawRatings raw;
  raw.release = Release::kMovieLensCsv;
  raw.scale = scale_of(Release::kMovieLensCsv);
  for (int i = 0; i < 1200; ++i) {  // user 1: 1,200 ratings, user 2: 2
    raw.user_id.push_back(1);
    raw.movie_id.push_back(i);
    raw.rating.push_back(0.5f);
    raw.timestamp.push_back(i);
  }
  for (int i = 0; i < 2; ++i) {
    raw.user_id.push_back(2);
    raw.movie_id.push_back(i);
    raw.rating.push_back(4.5f);
    raw.timestamp.push_back(i);
  }
  DataStats s = compute_stats(raw);
  EXPECT_EQ(s.per_user_median, 601);
  EXPECT_EQ(s.min_rating, 0.5f);
  EXPECT_EQ(s.max_rating, 4.5f);
  EXPECT_NE(format_stats(raw, s).find("1,202 ratings"), std::string::npos) << format_stats(raw, s);
}

}  // namespace
}  // namespace mlrec::data
