// otlp_encoder: see otlp_encoder.hpp.
#include "tracing/otlp_encoder.hpp"

#include "broker/pb_wire.hpp"

namespace gyre::tracing {

namespace {

using namespace gyre::pb_wire;

void put_string(std::string& out, uint32_t field, std::string_view s) {
  if (!s.empty()) put_length_delimited(out, field, s);
}

// Appends `inner` (a message encoded apart) as field `field`.
void put_message(std::string& out, uint32_t field, const std::string& inner) {
  put_length_delimited(out, field, inner);
}

// KeyValue {1 key, 2 value: AnyValue {1 string_value | 2 bool_value | 3 int_value}}.
void put_key_value(std::string& out, uint32_t field, std::string_view key, const attribute& a,
                   std::string& scratch) {
  std::string any;
  switch (a.t) {
    case attribute::type::string:
      put_length_delimited(any, 1, a.text);  // an empty string is still a value
      break;
    case attribute::type::boolean:
      put_tag(any, 2, varint);
      put_varint(any, a.number ? 1 : 0);
      break;
    case attribute::type::integer:
      put_tag(any, 3, varint);
      put_varint(any, static_cast<uint64_t>(a.number));
      break;
  }
  scratch.clear();
  put_string(scratch, 1, key);
  put_message(scratch, 2, any);
  put_message(out, field, scratch);
}

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

void put_span(std::string& out, const span& s) {
  std::string b, kv;
  put_length_delimited(b, 1,
                       std::string_view(reinterpret_cast<const char*>(s.context.trace.data()),
                                        s.context.trace.size()));
  put_length_delimited(b, 2,
                       std::string_view(reinterpret_cast<const char*>(s.context.span.data()),
                                        s.context.span.size()));
  put_string(b, 3, s.trace_state);
  if (!all_zero(s.parent.data(), s.parent.size()))
    put_length_delimited(
        b, 4, std::string_view(reinterpret_cast<const char*>(s.parent.data()), s.parent.size()));
  put_string(b, 5, s.name);
  put_tag(b, 6, varint);
  put_varint(b, static_cast<uint64_t>(s.kind));
  put_fixed(b, 7, s.start_unix_ns, fixed64);
  put_fixed(b, 8, s.end_unix_ns, fixed64);
  for (const auto& a : s.attributes) put_key_value(b, 9, a.key, a, kv);
  if (s.status != status_code::unset) {
    // Status {2 message, 3 code}.
    std::string st;
    put_string(st, 2, s.status_message);
    put_tag(st, 3, varint);
    put_varint(st, static_cast<uint64_t>(s.status));
    put_message(b, 15, st);
  }
  // flags: the W3C trace flags in the low byte (bits 8-9 say whether the parent was remote;
  // left out: 0 means "unknown").
  put_fixed(b, 16, s.context.flags, fixed32);
  put_message(out, 2, b);
}

}  // namespace

void encode_export_request(std::string& out, const resource_info& resource,
                           std::span<const span> spans) {
  // Resource {1 attributes}.
  std::string res, kv;
  for (const auto& [k, v] : resource.attributes) {
    attribute a{{}, attribute::type::string, v, 0};
    put_key_value(res, 1, k, a, kv);
  }
  // ScopeSpans {1 scope: InstrumentationScope {1 name, 2 version}, 2 spans}.
  std::string scope;
  put_string(scope, 1, resource.scope_name);
  put_string(scope, 2, resource.scope_version);
  std::string scope_spans;
  put_message(scope_spans, 1, scope);
  for (const auto& s : spans) put_span(scope_spans, s);
  // ResourceSpans {1 resource, 2 scope_spans}.
  std::string rs;
  put_message(rs, 1, res);
  put_message(rs, 2, scope_spans);
  // ExportTraceServiceRequest {1 resource_spans}.
  put_message(out, 1, rs);
}

}  // namespace gyre::tracing
