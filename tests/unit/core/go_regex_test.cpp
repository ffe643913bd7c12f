// go_regex: Go's regexp syntax and MatchString semantics, including the patterns the token
// verifier's former std::regex translation judged differently from config validation.
#include "core/go_regex.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gyre {
namespace {

bool match(std::string_view pattern, std::string_view text) {
  go_regex re(pattern);
  EXPECT_TRUE(re.ok()) << pattern << ": " << re.error();
  return re.matches(text);
}

TEST(go_regex, matches_anywhere_unless_anchored) {
  EXPECT_TRUE(match(R"(app-\d+)", "my-app-12"));
  EXPECT_FALSE(match(R"(^app-\d+$)", "my-app-12"));
  EXPECT_TRUE(match(R"(^app-\d+$)", "app-12"));
  EXPECT_FALSE(match(R"(^app-\d+$)", "app-12\n"));  // Go's $ is the end of text
  EXPECT_TRUE(match("", "anything"));
}

TEST(go_regex, named_groups_in_both_spellings) {
  go_regex p(R"(^(?P<tenant>[a-z]+)\.example\.com$)");
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_TRUE(p.matches("acme.example.com"));
  EXPECT_EQ(p.named_groups(), (std::map<std::string, int>{{"tenant", 1}}));
  go_regex a(R"(^(x)(?<tenant>[a-z]+)$)");  // Go 1.22 spelling
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_TRUE(a.matches("xacme"));
  EXPECT_EQ(a.named_groups(), (std::map<std::string, int>{{"tenant", 2}}));
}

TEST(go_regex, the_named_group_spelling_is_only_rewritten_outside_literals) {
  // In a class, after an escape and inside \Q...\E, "(?<" is literal text.
  EXPECT_TRUE(match(R"(^[(?<a>]+$)", "<(?a"));
  EXPECT_FALSE(match(R"(^[(?<a>]+$)", "P"));
  EXPECT_TRUE(match(R"(^\(?<a>$)", "<a>"));
  EXPECT_TRUE(match(R"(^\Q(?<a>\E$)", "(?<a>"));
  EXPECT_TRUE(match(R"(^[[:digit:](?<]+$)", "12(?<"));
  EXPECT_FALSE(match(R"(^[[:digit:](?<]+$)", "P"));
}

TEST(go_regex, inline_flags_anywhere) {
  // std::regex only had a leading (?i) (translated to icase); these were rejected by the
  // verifier while checkconfig (RE2) accepted them.
  EXPECT_TRUE(match("(?i)^GYRE$", "gyre"));
  EXPECT_TRUE(match("^app-(?i)PROD$", "app-prod"));
  EXPECT_FALSE(match("^app-(?i)PROD$", "APP-prod"));
  EXPECT_TRUE(match("^(?i:ab)c$", "ABc"));
  EXPECT_FALSE(match("^(?i:ab)c$", "ABC"));
  EXPECT_TRUE(match("(?s)^a.b$", "a\nb"));
  EXPECT_FALSE(match("^a.b$", "a\nb"));
}

TEST(go_regex, go_only_syntax) {
  EXPECT_TRUE(match(R"(^\pL+$)", "grüße"));
  EXPECT_TRUE(match(R"(^\p{Greek}+$)", "αβγ"));
  EXPECT_TRUE(match(R"(^a\z)", "a"));
  EXPECT_TRUE(match(R"(^\Qa.b\E$)", "a.b"));
  EXPECT_FALSE(match(R"(^\Qa.b\E$)", "axb"));
  // UTF-8: one character, several bytes (std::regex counted bytes).
  EXPECT_TRUE(match("^.$", "é"));
  EXPECT_TRUE(match("^...$", "日本語"));
}

TEST(go_regex, perl_only_syntax_is_rejected_like_go) {
  // Accepted by std::regex (ECMAScript), rejected by Go and so by Centrifugo.
  for (const char* p : {R"((a)\1)", "a(?=b)", "a(?!b)", "(?<=a)b", "(?<!a)b"}) {
    go_regex re(p);
    EXPECT_FALSE(re.ok()) << p;
    EXPECT_FALSE(re.matches("ab")) << p;
    EXPECT_EQ(re.error().rfind("invalid regular expression: ", 0), 0u) << re.error();
  }
  EXPECT_FALSE(go_regex("(a").ok());
  EXPECT_FALSE(go_regex("a{1001}").ok());  // Go's repeat limit is 1000
  EXPECT_FALSE(go_regex("(?<>a)").ok());
  EXPECT_FALSE(go_regex("(?<a").ok());
}

TEST(go_regex, long_texts_are_matched_in_linear_time) {
  // std::regex recursed per character, so the verifier refused values over 512 bytes.
  const std::string value = "app-" + std::string(1 << 20, '1');
  EXPECT_TRUE(match(R"(^app-\d+$)", value));
  EXPECT_FALSE(match(R"(^(a+)+$)", std::string(100000, 'a') + "b"));
}

TEST(go_regex, copies_share_the_program) {
  go_regex a("^x+$");
  go_regex b = a;
  EXPECT_TRUE(b.ok());
  EXPECT_TRUE(b.matches("xxx"));
  EXPECT_EQ(b.pattern(), "^x+$");
}

}  // namespace
}  // namespace gyre
