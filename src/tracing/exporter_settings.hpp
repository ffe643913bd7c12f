// exporter_settings: how spans leave the process, read from the standard OpenTelemetry
// environment variables (as Centrifugo's OpenTelemetry SDK reads them). See docs/tracing.md
// for the list, the defaults and what Gyre refuses.
//
// What holds: a variable that is set but unusable (not a number, a protocol other than
// http/protobuf, a header without '=') is an error naming the variable, never a silent
// default. Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gyre::tracing {

struct exporter_settings {
  std::string endpoint = "http://localhost:4318/v1/traces";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};        // one export request
  std::chrono::milliseconds schedule_delay{5000};  // the longest a span waits in the queue
  size_t max_queue_size = 2048;                    // spans waiting; more are dropped
  size_t max_export_batch_size = 512;              // spans in one request
  std::string service_name = "centrifugo";
  std::vector<std::pair<std::string, std::string>> resource_attributes;  // OTEL_RESOURCE_ATTRIBUTES
};

// `env` returns a variable's value, nullptr when unset. On error returns nullopt and sets
// `error`.
std::optional<exporter_settings> settings_from_env(
    const std::function<const char*(const char*)>& env, std::string& error);

}  // namespace gyre::tracing
