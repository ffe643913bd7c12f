// trace_context: W3C traceparent parsing (valid and refused forms) and formatting.
#include "tracing/trace_context.hpp"

#include <gtest/gtest.h>

namespace gyre::tracing {
namespace {

const char* valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, ParsesVersion00) {
  auto c = parse_traceparent(valid);
  ASSERT_TRUE(c);
  EXPECT_EQ(to_hex(c->trace.data(), 16), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(to_hex(c->span.data(), 8), "00f067aa0ba902b7");
  EXPECT_EQ(c->flags, 1);
  EXPECT_TRUE(c->sampled());
  EXPECT_EQ(format_traceparent(*c), valid);
}

TEST(Traceparent, NotSampledFlag) {
  auto c = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->sampled());
}

TEST(Traceparent, SurroundingWhitespaceIgnored) {
  EXPECT_TRUE(parse_traceparent(std::string(" ") + valid + "\t"));
}

TEST(Traceparent, FutureVersionMayCarryMore) {
  EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(
      parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever"));
  // ... but only after a dash.
  EXPECT_FALSE(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));
}

TEST(Traceparent, Refused) {
  const char* bad[] = {
      "",
      "garbage",
      // version ff is invalid; version 00 takes nothing after the flags
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      // all-zero ids
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      // upper case and non-hex digits
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
      "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z",
      // wrong lengths and separators
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  };
  for (const char* h : bad) EXPECT_FALSE(parse_traceparent(h)) << h;
}

TEST(Traceparent, FreshIdsAreNotZeroAndDiffer) {
  trace_id a = new_trace_id(), b = new_trace_id();
  EXPECT_NE(a, b);
  EXPECT_NE(a, trace_id{});
  EXPECT_NE(new_span_id(), span_id{});
}

}  // namespace
}  // namespace gyre::tracing
