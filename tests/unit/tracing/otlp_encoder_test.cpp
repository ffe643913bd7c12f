// otlp_encoder: the bytes decode, with libprotobuf and otlp_trace.proto, into the spans
// and resource that were encoded.
#include "tracing/otlp_encoder.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "tracing/otlp_trace.pb.h"

namespace gyre::tracing {
namespace {

std::string bytes_of(const uint8_t* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

span sample_span() {
  span s;
  s.context = *parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  s.parent = span_id{1, 2, 3, 4, 5, 6, 7, 8};
  s.trace_state = "vendor=1";
  s.name = "/api/publish";
  s.kind = span_kind::server;
  s.start_unix_ns = 1'700'000'000'123'456'789ULL;
  s.end_unix_ns = 1'700'000'000'223'456'789ULL;
  s.set("centrifugo.channel", "news");
  s.set_int("centrifugo.error.code", 102);
  s.set_int("negative", -5);
  s.set_bool("centrifugo.recovered", true);
  s.set("empty", "");
  s.fail("unknown channel");
  return s;
}

TEST(OtlpEncoder, DecodesWithTheProto) {
  resource_info r;
  r.attributes = {{"service.name", "centrifugo"}, {"version", "0.1.0"}};
  r.scope_version = "0.1.0";
  std::vector<span> spans{sample_span(), span{}};
  spans[1].context.trace = new_trace_id();
  spans[1].context.span = new_span_id();
  spans[1].name = "client.publish";
  spans[1].kind = span_kind::internal;
  std::string out;
  encode_export_request(out, r, spans);

  gyre::otlp::ExportRequest req;
  ASSERT_TRUE(req.ParseFromString(out));
  ASSERT_EQ(req.resource_spans_size(), 1);
  const auto& rs = req.resource_spans(0);
  ASSERT_EQ(rs.resource().attributes_size(), 2);
  EXPECT_EQ(rs.resource().attributes(0).key(), "service.name");
  EXPECT_EQ(rs.resource().attributes(0).value().string_value(), "centrifugo");
  ASSERT_EQ(rs.scope_spans_size(), 1);
  const auto& ss = rs.scope_spans(0);
  EXPECT_EQ(ss.scope().name(), "gyre");
  EXPECT_EQ(ss.scope().version(), "0.1.0");
  ASSERT_EQ(ss.spans_size(), 2);

  const auto& a = ss.spans(0);
  const span& in = spans[0];
  EXPECT_EQ(a.trace_id(), bytes_of(in.context.trace.data(), 16));
  EXPECT_EQ(a.span_id(), bytes_of(in.context.span.data(), 8));
  EXPECT_EQ(a.parent_span_id(), bytes_of(in.parent.data(), 8));
  EXPECT_EQ(a.trace_state(), "vendor=1");
  EXPECT_EQ(a.name(), "/api/publish");
  EXPECT_EQ(a.kind(), 2);
  EXPECT_EQ(a.start_time_unix_nano(), in.start_unix_ns);
  EXPECT_EQ(a.end_time_unix_nano(), in.end_unix_ns);
  EXPECT_EQ(a.flags(), 1u);
  ASSERT_EQ(a.attributes_size(), 5);
  EXPECT_EQ(a.attributes(0).key(), "centrifugo.channel");
  EXPECT_EQ(a.attributes(0).value().string_value(), "news");
  EXPECT_EQ(a.attributes(1).value().int_value(), 102);
  EXPECT_EQ(a.attributes(2).value().int_value(), -5);
  EXPECT_TRUE(a.attributes(3).value().bool_value());
  EXPECT_EQ(a.attributes(4).value().value_case(), gyre::otlp::AnyValue::kStringValue);
  EXPECT_EQ(a.status().code(), 2);
  EXPECT_EQ(a.status().message(), "unknown channel");

  const auto& b = ss.spans(1);
  EXPECT_TRUE(b.parent_span_id().empty());  // a root span
  EXPECT_EQ(b.kind(), 1);
  EXPECT_FALSE(b.has_status());  // UNSET is left out
  EXPECT_EQ(b.attributes_size(), 0);
}

TEST(OtlpEncoder, NoSpans) {
  std::string out;
  encode_export_request(out, resource_info{}, {});
  gyre::otlp::ExportRequest req;
  ASSERT_TRUE(req.ParseFromString(out));
  ASSERT_EQ(req.resource_spans_size(), 1);
  EXPECT_EQ(req.resource_spans(0).scope_spans(0).spans_size(), 0);
}

}  // namespace
}  // namespace gyre::tracing
