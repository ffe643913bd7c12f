#include "core/utf8.hpp"

#include <gtest/gtest.h>

namespace gyre {
namespace {

TEST(utf8, validates_whole_strings) {
  EXPECT_TRUE(is_valid_utf8("plain ascii text, long enough for the fast path"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("abc\xe2\x82"));       // truncated
}

TEST(utf8, incremental_validator_accepts_split_sequences) {
  std::string s = "x\xf0\x9f\x98\x80y\xe2\x82\xac";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    utf8_validator v;
    ASSERT_TRUE(v.feed(std::string_view(s).substr(0, cut))) << cut;
    ASSERT_TRUE(v.feed(std::string_view(s).substr(cut))) << cut;
    EXPECT_TRUE(v.complete()) << cut;
  }
}

TEST(utf8, incremental_validator_rejects_early_and_detects_truncation) {
  utf8_validator v;
  EXPECT_FALSE(v.feed("\xed\xa0"));  // surrogate prefix is rejected before completion
  utf8_validator t;
  EXPECT_TRUE(t.feed("ok\xe2\x82"));
  EXPECT_FALSE(t.complete());
}

}  // namespace
}  // namespace gyre
