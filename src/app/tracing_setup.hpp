// tracing_setup: builds the tracer from opentelemetry.* and the OTEL_* environment
// (docs/tracing.md), or nothing when opentelemetry.enabled is off.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/metrics.hpp"

namespace gyre {

class node;
namespace tracing {
class tracer;
}

// nullptr with `error` empty: tracing is off; nullptr with `error` set: a bad OTEL_*
// variable (the server does not start). The tracer's exporter thread is not started yet.
std::unique_ptr<tracing::tracer> make_tracer(const config::config& cfg, const node& n,
                                             metrics::registry& metrics, std::string& error);

}  // namespace gyre
