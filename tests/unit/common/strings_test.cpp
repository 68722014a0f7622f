// The string helpers of common/strings.h that guard input: UTF-8 validation.
#include "mlrec/common/strings.h"

#include <gtest/gtest.h>

#include <string>

namespace mlrec {
namespace {

TEST(Utf8Test, AcceptsWellFormedTextOfEveryLength) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("user_123"));
  EXPECT_TRUE(is_valid_utf8("M\xc3\xbcnchen"));                  // 2 bytes: U+00FC
  EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac 5"));                  // 3 bytes: U+20AC
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x8e\xac"));                // 4 bytes: U+1F3AC
  EXPECT_TRUE(is_valid_utf8("\xed\x9f\xbf\xee\x80\x80"));        // U+D7FF, U+E000: around the surrogates
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));                // U+10FFFF, the last code point
  EXPECT_TRUE(is_valid_utf8(std::string("a\0b", 3)));            // NUL is a character
}

TEST(Utf8Test, RefusesWhatRfc3629Excludes) {
  EXPECT_FALSE(is_valid_utf8("caf\xe9"));               // Latin-1
  EXPECT_FALSE(is_valid_utf8("\xc3"));                  // cut short
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));              // cut short
  EXPECT_FALSE(is_valid_utf8("\xc3\x28"));              // a continuation byte missing
  EXPECT_FALSE(is_valid_utf8("\x80"));                  // a continuation byte alone
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));              // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xf0\x80\x80\xaf"));      // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));          // U+D800, a surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));      // U+110000
  EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));      // no such lead byte
  EXPECT_FALSE(is_valid_utf8("\xe2\x82\xac\xff"));      // good, then a byte never in UTF-8
}

}  // namespace
}  // namespace mlrec
