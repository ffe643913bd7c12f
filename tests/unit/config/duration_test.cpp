#include "config/duration.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace gyre::config {
namespace {

using namespace std::chrono_literals;

std::optional<duration> p(std::string_view s) {
  return parse_go_duration(s);
}

TEST(duration, parses_go_syntax) {
  EXPECT_EQ(p("300ms"), duration(300ms));
  EXPECT_EQ(p("10s"), duration(10s));
  EXPECT_EQ(p("1m30s"), duration(90s));
  EXPECT_EQ(p("720h"), duration(720h));
  EXPECT_EQ(p("1.5s"), duration(1500ms));
  EXPECT_EQ(p(".5s"), duration(500ms));
  EXPECT_EQ(p("1.s"), duration(1s));
  EXPECT_EQ(p("+5s"), duration(5s));
  EXPECT_EQ(p("-1.5h"), duration(-90min));
  EXPECT_EQ(p("1h2m3s4ms5us6ns"), duration(1h + 2min + 3s + 4ms + 5us + 6ns));
  EXPECT_EQ(p("2us"), duration(2us));
  EXPECT_EQ(p("2\xC2\xB5s"), duration(2us));  // micro sign
  EXPECT_EQ(p("2\xCE\xBCs"), duration(2us));  // Greek mu
  EXPECT_EQ(p("0.000000001s"), duration(1ns));
  EXPECT_EQ(p("0s"), duration(0));
}

TEST(duration, zero_and_bare_numbers_are_nanoseconds) {
  EXPECT_EQ(p("0"), duration(0));
  EXPECT_EQ(p("-0"), duration(0));
  EXPECT_EQ(p("-1"), duration(-1ns));
  EXPECT_EQ(p("300"), duration(300ns));
}

TEST(duration, rejects_malformed) {
  for (std::string_view bad :
       {"",   "-",    "+",   "s",  "5x",   "1.5",    "1 s", " 1s",  "1s ", ".",
        ".s", "1e3s", "1ss", "h1", "--1s", "1.2.3s", "ms",  "1mss", "abc", "1,5s"}) {
    EXPECT_FALSE(p(bad)) << bad;
  }
}

TEST(duration, detects_overflow) {
  EXPECT_EQ(p("9223372036854775807ns"), duration(std::numeric_limits<int64_t>::max()));
  EXPECT_FALSE(p("9223372036854775808ns"));
  EXPECT_EQ(p("-9223372036854775808ns"), duration(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(p("2562047h"), duration(2562047h));
  EXPECT_FALSE(p("2562048h"));
  EXPECT_FALSE(p("9999999999999999999999s"));
  EXPECT_FALSE(p("9223372036854775808"));  // bare number too
}

TEST(duration, formats_like_go) {
  EXPECT_EQ(format_go_duration(duration(0)), "0s");
  EXPECT_EQ(format_go_duration(1ns), "1ns");
  EXPECT_EQ(format_go_duration(1500ns), "1.5\xC2\xB5s");
  EXPECT_EQ(format_go_duration(300ms), "300ms");
  EXPECT_EQ(format_go_duration(1500us), "1.5ms");
  EXPECT_EQ(format_go_duration(1s), "1s");
  EXPECT_EQ(format_go_duration(1500ms), "1.5s");
  EXPECT_EQ(format_go_duration(90s), "1m30s");
  EXPECT_EQ(format_go_duration(1h), "1h0m0s");
  EXPECT_EQ(format_go_duration(720h), "720h0m0s");
  EXPECT_EQ(format_go_duration(-1ns), "-1ns");
  EXPECT_EQ(format_go_duration(-90s), "-1m30s");
  EXPECT_EQ(format_go_duration(duration(std::numeric_limits<int64_t>::min())),
            "-2562047h47m16.854775808s");
}

TEST(duration, format_round_trips) {
  for (duration d :
       {duration(0), duration(1ns), duration(999ns), duration(1001ns), duration(123456789ns),
        duration(25s), duration(27s), duration(1min), duration(3h + 4min + 5s + 6ns),
        duration(-40s), duration(std::numeric_limits<int64_t>::max()),
        duration(std::numeric_limits<int64_t>::min())}) {
    EXPECT_EQ(p(format_go_duration(d)), d) << format_go_duration(d);
  }
}

TEST(duration, whole_seconds) {
  EXPECT_TRUE(is_whole_seconds(duration(0)));
  EXPECT_TRUE(is_whole_seconds(300s));
  EXPECT_TRUE(is_whole_seconds(-2s));
  EXPECT_FALSE(is_whole_seconds(1500ms));
  EXPECT_FALSE(is_whole_seconds(300ns));
}

}  // namespace
}  // namespace gyre::config
