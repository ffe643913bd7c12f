// Tests of the log line formats and runtime level change, and of the per-site log limiter
// (core/log.hpp).
#include "core/log.hpp"

#include <gtest/gtest.h>

namespace gyre::log {
namespace {

// 2026-01-02T03:04:05.678Z
std::chrono::system_clock::time_point fixed_time() {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(1767323045678LL));
}

TEST(LogJsonLine, HasLevelTimeMessageAndFields) {
  std::string line =
      json_line(spdlog::level::warn, fixed_time(), "hello",
                {{"user", "42"}, {"n", int64_t{7}}, {"ok", true}, {"big", uint64_t{1} << 63}});
  EXPECT_EQ(line,
            "{\"level\":\"warn\",\"time\":\"2026-01-02T03:04:05.678Z\",\"message\":\"hello\","
            "\"user\":\"42\",\"n\":7,\"ok\":true,\"big\":9223372036854775808}\n");
}

TEST(LogJsonLine, EscapesMessageAndFieldValuesIntoOneLine) {
  std::string line = json_line(spdlog::level::err, fixed_time(), "a \"quote\"\n\\ \x01 \xff end",
                               {{"origin", "x\ty\"\r"}});
  EXPECT_EQ(line,
            "{\"level\":\"error\",\"time\":\"2026-01-02T03:04:05.678Z\","
            "\"message\":\"a \\\"quote\\\"\\n\\\\ \\u0001 \\ufffd end\","
            "\"origin\":\"x\\ty\\\"\\r\"}\n");
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(LogJsonLine, FieldsNeverReplaceTheFixedMembers) {
  std::string line =
      json_line(spdlog::level::info, fixed_time(), "m", {{"level", "x"}, {"message", "y"}});
  EXPECT_EQ(line, "{\"level\":\"info\",\"time\":\"2026-01-02T03:04:05.678Z\",\"message\":\"m\"}\n");
}

TEST(LogTextLine, HasLevelMessageAndFieldsAfterIt) {
  std::string line = text_line(spdlog::level::info, fixed_time(), "Gyre started",
                               {{"version", "1.0"}, {"event_loops", 2}});
  // The time is local; the rest is fixed.
  auto at = line.find(" [info] ");
  ASSERT_EQ(at, 23u) << line;
  EXPECT_EQ(line.substr(at), " [info] Gyre started version=\"1.0\" event_loops=2\n");
}

TEST(LogLevel, ParsesCentrifugoNamesAndChangesAtRuntime) {
  spdlog::level::level_enum l;
  EXPECT_TRUE(parse_level("warn", l));
  EXPECT_EQ(l, spdlog::level::warn);
  EXPECT_TRUE(parse_level("none", l));
  EXPECT_EQ(l, spdlog::level::off);
  EXPECT_FALSE(parse_level("verbose", l));
  format f;
  EXPECT_TRUE(parse_format("json", f));
  EXPECT_EQ(f, format::json);
  EXPECT_FALSE(parse_format("xml", f));

  ASSERT_TRUE(setup("info", {}, format::json));
  EXPECT_FALSE(spdlog::should_log(spdlog::level::debug));
  EXPECT_TRUE(set_level("debug"));
  EXPECT_TRUE(spdlog::should_log(spdlog::level::debug));
  EXPECT_FALSE(set_level("loud"));
  EXPECT_TRUE(spdlog::should_log(spdlog::level::debug));
  EXPECT_TRUE(set_level("error"));
  EXPECT_FALSE(spdlog::should_log(spdlog::level::warn));
  ASSERT_TRUE(setup("info", {}, format::text));  // a second setup replaces the logger
  EXPECT_TRUE(spdlog::should_log(spdlog::level::info));
}

TEST(LogLimiter, AdmitsTheBudgetThenCountsWhatItDrops) {
  limiter site(3);
  uint64_t suppressed = 99;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(site.admit(100, suppressed));
    EXPECT_EQ(suppressed, 0u);
  }
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(site.admit(100, suppressed));
  // A new second: the first line reports the five dropped ones, once.
  ASSERT_TRUE(site.admit(101, suppressed));
  EXPECT_EQ(suppressed, 5u);
  ASSERT_TRUE(site.admit(101, suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(LogLimiter, SteadyClockOverloadAdmitsAtFirst) {
  limiter site(1);
  uint64_t suppressed = 0;
  EXPECT_TRUE(site.admit(suppressed));
}

TEST(LogLevel, SetLevelChangesTheDefaultLoggerAndRefusesUnknownNames) {
  ASSERT_TRUE(set_level("error"));
  EXPECT_FALSE(spdlog::should_log(spdlog::level::info));
  EXPECT_FALSE(set_level("loud"));
  EXPECT_FALSE(spdlog::should_log(spdlog::level::info));  // unchanged
  ASSERT_TRUE(set_level("debug"));
  EXPECT_TRUE(spdlog::should_log(spdlog::level::debug));
  ASSERT_TRUE(set_level("info"));
}

}  // namespace
}  // namespace gyre::log
