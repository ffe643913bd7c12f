// trace_context: the identity of a span as W3C Trace Context carries it (the
// `traceparent` header: version 00, a 16-byte trace id, an 8-byte parent span id and the
// trace flags), parsed from and rendered to text, and fresh random ids.
//
// What holds:
//  * parse_traceparent accepts exactly what the W3C format allows for version 00
//    ("00-<32 lower-case hex>-<16 lower-case hex>-<2 hex>", 55 characters) and, for a
//    higher version, the same first 55 characters followed by nothing or by '-' and more
//    (forward compatibility); it refuses version ff, upper-case or non-hex digits, wrong
//    lengths and all-zero trace or span ids. A refused header starts a new trace.
//  * Fresh ids are never all zero.
// Thread safety: pure functions; new_* use a per-thread generator (core/random.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gyre::tracing {

using trace_id = std::array<uint8_t, 16>;
using span_id = std::array<uint8_t, 8>;

struct span_context {
  trace_id trace{};
  span_id span{};
  uint8_t flags = 1;  // bit 0: sampled
  bool sampled() const { return (flags & 1) != 0; }
};

std::optional<span_context> parse_traceparent(std::string_view header);
// "00-<trace>-<span>-<flags>".
std::string format_traceparent(const span_context& c);
std::string to_hex(const uint8_t* bytes, size_t n);

trace_id new_trace_id();
span_id new_span_id();

}  // namespace gyre::tracing
