// The JSON writer (JsonObject, json_quote) and write_file_atomic.
#include "mlrec/common/json.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace mlrec {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;
using test_support::write_file;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

TEST(JsonQuoteTest, PlainTextIsOnlyQuoted) {
  EXPECT_EQ(json_quote(""), "\"\"");
  EXPECT_EQ(json_quote("mf / bst-1"), "\"mf / bst-1\"");
}

TEST(JsonQuoteTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_quote("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(json_quote("C:\\runs\\a"), R"("C:\\runs\\a")");
  EXPECT_EQ(json_quote("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(json_quote(std::string("\x01\x1f", 2)), R"("\u0001\u001f")");
  EXPECT_EQ(json_quote(std::string("a\0b", 3)), R"("a\u0000b")");
  EXPECT_EQ(json_quote("\b\f"), R"("\u0008\u000c")");
}

TEST(JsonQuoteTest, NonAsciiAndDelPassThrough) {
  // UTF-8 bytes (>= 0x80) must not be mistaken for control characters (signed char).
  EXPECT_EQ(json_quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(json_quote("\x7f"), "\"\x7f\"");
}

TEST(JsonQuoteTest, EscapedTextParsesBackToTheOriginal) {
  const std::string nasty = "q\"b\\s/n\nr\rt\t\x01\x1f end";
  const YAML::Node node = YAML::Load(JsonObject().add("k", nasty).str());
  EXPECT_EQ(node["k"].as<std::string>(), nasty);
}

TEST(JsonObjectTest, EmptyObject) { EXPECT_EQ(JsonObject().str(), "{}"); }

TEST(JsonObjectTest, ScalarsAndKeyOrder) {
  JsonObject o;
  o.add("zeta", 1).add("alpha", int64_t{-9007199254740993}).add("flag", true).add("off", false)
      .add("name", "mf").add("s", std::string("x"));
  EXPECT_EQ(o.str(),
            R"({"zeta": 1, "alpha": -9007199254740993, "flag": true, "off": false, "name": "mf", "s": "x"})");
}

TEST(JsonObjectTest, KeysAreEscapedToo) {
  EXPECT_EQ(JsonObject().add("a\"b", 1).str(), R"({"a\"b": 1})");
}

TEST(JsonObjectTest, DoublesRoundTripWith17Digits) {
  const double values[] = {0.1,        1.0 / 3.0, -2.5e10, 1e-300,
                           DBL_MAX,    DBL_TRUE_MIN, 0.0,   0.9047619047619048,
                           123456789.123456789};
  for (double v : values) {
    const std::string s = JsonObject().add("v", v).str();
    ASSERT_EQ(s.rfind("{\"v\": ", 0), 0u) << s;
    const std::string number = s.substr(6, s.size() - 7);
    EXPECT_EQ(std::strtod(number.c_str(), nullptr), v) << number;
  }
  EXPECT_EQ(JsonObject().add("v", 0.1).str(), R"({"v": 0.10000000000000001})");
  EXPECT_EQ(JsonObject().add("v", 2.0).str(), R"({"v": 2})");
}

TEST(JsonObjectTest, NonFiniteDoublesBecomeNull) {
  JsonObject o;
  o.add("nan", std::numeric_limits<double>::quiet_NaN())
      .add("inf", std::numeric_limits<double>::infinity())
      .add("ninf", -std::numeric_limits<double>::infinity());
  EXPECT_EQ(o.str(), R"({"nan": null, "inf": null, "ninf": null})");
}

TEST(JsonObjectTest, NestedObjects) {
  JsonObject inner;
  inner.add("mae", 0.5).add("count", int64_t{4});
  JsonObject deepest;
  deepest.add("x", 1);
  JsonObject mid;
  mid.add("deep", deepest);
  JsonObject o;
  o.add("model", "mf").add("valid", inner).add("mid", mid).add("empty", JsonObject());
  EXPECT_EQ(o.str(),
            R"({"model": "mf", "valid": {"mae": 0.5, "count": 4}, "mid": {"deep": {"x": 1}}, "empty": {}})");
  // And yaml-cpp, which reads our outputs, sees the same structure.
  const YAML::Node node = YAML::Load(o.str());
  EXPECT_EQ(node["valid"]["mae"].as<double>(), 0.5);
  EXPECT_EQ(node["valid"]["count"].as<long long>(), 4);
  EXPECT_EQ(node["mid"]["deep"]["x"].as<int>(), 1);
}

TEST(WriteFileAtomicTest, CreatesAFile) {
  TempDir dir;
  const std::string path = dir.file("summary.json");
  write_file_atomic(path, "{\"a\": 1}\n");
  EXPECT_EQ(read_all(path), "{\"a\": 1}\n");
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"summary.json"});
}

TEST(WriteFileAtomicTest, ReplacesAnExistingFileCompletelyAndLeavesNoTempFile) {
  TempDir dir;
  const std::string path = dir.file("summary.json");
  write_file(path, std::string(4096, 'x') + "old tail");
  write_file_atomic(path, "new");
  EXPECT_EQ(read_all(path), "new");  // no leftover bytes of the longer old file
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"summary.json"});
  // Binary contents are written byte for byte.
  const std::string binary("a\0b\r\nc", 6);
  write_file_atomic(path, binary);
  EXPECT_EQ(read_all(path), binary);
  write_file_atomic(path, "");
  EXPECT_EQ(read_all(path), "");
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"summary.json"});
}

TEST(WriteFileAtomicTest, MissingDirectoryThrowsAndLeavesNothing) {
  TempDir dir;
  const std::string missing = dir.file("no_such_dir");
  EXPECT_THROW(write_file_atomic(missing + "/summary.json", "x"), std::runtime_error);
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

TEST(WriteFileAtomicTest, FailedRenameThrowsAndRemovesTheTempFile) {
  // The target is a non-empty directory: the temp file is written, the rename fails.
  TempDir dir;
  const std::string target = dir.file("summary.json");
  write_file(target + "/inside", "keep");
  try {
    write_file_atomic(target, "x");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
  }
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"summary.json"});
  EXPECT_EQ(read_all(target + "/inside"), "keep");
}

}  // namespace
}  // namespace mlrec
