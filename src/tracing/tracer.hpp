// tracer: where Gyre's code starts and ends spans (docs/tracing.md). The server creates one
// when opentelemetry.enabled is on and hands it to the server API (opentelemetry.api) and
// to the hub (gyre.opentelemetry.client_commands); with tracing off they hold nullptr and
// test that pointer before anything else, so tracing costs one branch per request or
// command.
//
// Sampling is parent-based, always on: a span whose parent (a `traceparent` with the
// sampled flag clear) was not sampled is not recorded, its children neither; every other
// span is.
//
// Threading: start/end from any thread (end hands the span to the exporter's queue, which
// never blocks on the network); stop() on the owner's thread, after the last end().
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/metrics.hpp"
#include "tracing/exporter_settings.hpp"
#include "tracing/otlp_encoder.hpp"
#include "tracing/span.hpp"

namespace gyre::tracing {

class otlp_exporter;

struct tracer_options {
  bool api = false;              // opentelemetry.api: server API requests
  bool client_commands = false;  // gyre.opentelemetry.client_commands
};

class tracer {
 public:
  tracer(tracer_options opts, exporter_settings settings, resource_info resource,
         metrics::registry& metrics);
  ~tracer();

  bool api() const { return opts_.api; }
  bool client_commands() const { return opts_.client_commands; }

  // A span starting now: a child of `parent` when given, else the root of a new trace.
  span start(std::string name, span_kind kind, const span_context* parent = nullptr,
             std::string trace_state = {}) const;
  span start_child(std::string name, span_kind kind, const span& parent) const;
  // Ends `s` now and queues it for export (dropped when not recording or the queue is full).
  void end(span&& s);

  // Starts / stops the exporter thread (stop sends what is queued, bounded in time).
  void start();
  void stop();

 private:
  tracer_options opts_;
  std::unique_ptr<otlp_exporter> exporter_;
};

// Now, in nanoseconds since the Unix epoch.
uint64_t unix_now_ns();

}  // namespace gyre::tracing
