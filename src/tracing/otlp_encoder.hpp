// otlp_encoder: the body of an OTLP/HTTP trace export (POST /v1/traces,
// Content-Type application/x-protobuf): an ExportTraceServiceRequest with one
// ResourceSpans (the resource attributes: service.name, service.instance.id, version, and
// OTEL_RESOURCE_ATTRIBUTES) holding one ScopeSpans (scope "gyre") with the spans.
// Hand-encoded with pb_wire; the messages and field numbers used are in otlp_trace.proto
// next to this file, which the tests decode the bytes with.
//
// What holds: fields are written in number order; empty strings, zero ids (a root span's
// parent) and UNSET status are left out, as proto3 does. Thread safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tracing/span.hpp"

namespace gyre::tracing {

struct resource_info {
  std::vector<std::pair<std::string, std::string>> attributes;  // in this order
  std::string scope_name = "gyre";
  std::string scope_version;
};

// Appends the encoded request to `out`.
void encode_export_request(std::string& out, const resource_info& resource,
                           std::span<const span> spans);

}  // namespace gyre::tracing
