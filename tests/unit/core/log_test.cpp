// Tests of the per-site log limiter (core/log.hpp).
#include "core/log.hpp"

#include <gtest/gtest.h>

namespace gyre::log {
namespace {

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
