#include "core/glob.hpp"

#include <gtest/gtest.h>

namespace gyre {
namespace {

TEST(glob, stars_questions_classes_and_alternatives) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("chat:*", "chat:index"));
  EXPECT_TRUE(glob_match("*:index", "a:b:index"));
  EXPECT_FALSE(glob_match("chat:*", "news:1"));
  EXPECT_TRUE(glob_match("https://*.example.com", "https://app.example.com"));
  EXPECT_FALSE(glob_match("https://*.example.com", "https://example.com"));
  EXPECT_TRUE(glob_match("ch?", "ch1"));
  EXPECT_FALSE(glob_match("ch?", "ch12"));
  EXPECT_TRUE(glob_match("[abc]x", "bx"));
  EXPECT_FALSE(glob_match("[!abc]x", "bx"));
  EXPECT_TRUE(glob_match("[a-c]x", "cx"));
  EXPECT_TRUE(glob_match("{news,chat}:*", "chat:1"));
  EXPECT_FALSE(glob_match("{news,chat}:*", "game:1"));
  EXPECT_TRUE(glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(glob_match("a\\*b", "axb"));
}

TEST(glob, malformed_patterns) {
  EXPECT_FALSE(glob_valid("[abc"));
  EXPECT_FALSE(glob_valid("{a,b"));
  EXPECT_TRUE(glob_valid("a*{b,c}[de]"));
  EXPECT_FALSE(glob_match("[abc", "a"));
}

TEST(glob, hostile_pattern_is_bounded) {
  std::string p(60, '*');
  p += "b";
  std::string t(5000, 'a');
  EXPECT_FALSE(glob_match(p, t));
}

}  // namespace
}  // namespace gyre
