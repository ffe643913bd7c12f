// tracer: see tracer.hpp.
#include "tracing/tracer.hpp"

#include <chrono>

#include "tracing/otlp_exporter.hpp"

namespace gyre::tracing {

uint64_t unix_now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

tracer::tracer(tracer_options opts, exporter_settings settings, resource_info resource,
               metrics::registry& metrics)
    : opts_(opts),
      exporter_(
          std::make_unique<otlp_exporter>(std::move(settings), std::move(resource), metrics)) {}

tracer::~tracer() {
  stop();
}

span tracer::start(std::string name, span_kind kind, const span_context* parent,
                   std::string trace_state) const {
  span s;
  s.name = std::move(name);
  s.kind = kind;
  if (parent) {
    s.context.trace = parent->trace;
    s.context.flags = parent->flags;
    s.parent = parent->span;
    s.trace_state = std::move(trace_state);
    s.recording = parent->sampled();
  } else {
    s.context.trace = new_trace_id();
    s.context.flags = 1;
  }
  s.context.span = new_span_id();
  s.start_unix_ns = unix_now_ns();
  return s;
}

span tracer::start_child(std::string name, span_kind kind, const span& parent) const {
  span s = start(std::move(name), kind, &parent.context, parent.trace_state);
  s.recording = parent.recording;
  return s;
}

void tracer::end(span&& s) {
  if (!s.recording) return;
  s.end_unix_ns = unix_now_ns();
  exporter_->push(std::move(s));
}

void tracer::start() {
  exporter_->start();
}

void tracer::stop() {
  exporter_->stop();
}

}  // namespace gyre::tracing
