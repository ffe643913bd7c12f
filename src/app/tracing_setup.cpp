// tracing_setup: see tracing_setup.hpp.
#include "app/tracing_setup.hpp"

#include <cstdlib>

#include "core/log.hpp"
#include "hub/node.hpp"
#include "tracing/tracer.hpp"

namespace gyre {

std::unique_ptr<tracing::tracer> make_tracer(const config::config& cfg, const node& n,
                                             metrics::registry& metrics, std::string& error) {
  const auto& ot = cfg.opentelemetry_;
  if (!ot.enabled_) return nullptr;
  auto settings =
      tracing::settings_from_env([](const char* name) { return std::getenv(name); }, error);
  if (!settings) {
    error = "opentelemetry: " + error;
    return nullptr;
  }
  tracing::tracer_options opts;
  opts.api = ot.api_;
  opts.client_commands = cfg.gyre_.opentelemetry_.client_commands_;
  // The resource, as Centrifugo describes itself: service.name (OTEL_SERVICE_NAME, default
  // "centrifugo"), service.instance.id (the node's id), version; then OTEL_RESOURCE_ATTRIBUTES.
  tracing::resource_info resource;
  resource.attributes.emplace_back("service.name", settings->service_name);
  resource.attributes.emplace_back("service.instance.id", n.uid());
  resource.attributes.emplace_back("version", node::version());
  for (const auto& [k, v] : settings->resource_attributes)
    if (k != "service.name" && k != "service.instance.id") resource.attributes.emplace_back(k, v);
  resource.scope_name = "gyre";
  resource.scope_version = node::version();
  log::info("opentelemetry: spans of {}{}{} are exported to {} (OTLP over HTTP, protobuf)",
            opts.api ? "server API requests" : "", opts.api && opts.client_commands ? " and " : "",
            opts.client_commands ? "client commands" : "", settings->endpoint);
  if (!opts.api && !opts.client_commands)
    log::warn(
        "opentelemetry.enabled is on but neither opentelemetry.api nor "
        "gyre.opentelemetry.client_commands is: no spans are made");
  return std::make_unique<tracing::tracer>(opts, std::move(*settings), std::move(resource),
                                           metrics);
}

}  // namespace gyre
