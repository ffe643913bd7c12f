// api_tracing: what a server API span says about a request and its commands
// (opentelemetry.api; docs/tracing.md): the method, the channel the params name, the API
// error code and the span's status. Used by http_api (a request's span, the legacy
// endpoint's commands) and api_executor (a batch's commands).
//
// Only called with tracing on: it parses the params a second time to read the channel.
#pragma once

#include <string_view>

#include "api/executor.hpp"
#include "tracing/span.hpp"

namespace gyre::api_tracing {

// Sets centrifugo.method and, when the params name one, centrifugo.channel.
void describe_command(tracing::span& s, std::string_view method, std::string_view params);
// An error outcome: centrifugo.error.code and the ERROR status with the message.
void record_outcome(tracing::span& s, const api_outcome& r);

}  // namespace gyre::api_tracing
