// proxy_metrics: see proxy_metrics.hpp.
#include "proxy/proxy_metrics.hpp"

#include <string>

namespace gyre::proxy {

proxy_metrics::proxy_metrics(metrics::registry& r)
    : duration_(r.add_histogram("centrifugo_proxy_duration_seconds_histogram",
                                "Duration of proxy requests.", {"protocol", "type", "name"},
                                metrics::default_latency_buckets())),
      errors_(r.add_counter("centrifugo_proxy_errors", "Count of proxy request errors.",
                            {"protocol", "type", "name"})),
      inflight_(r.add_gauge("centrifugo_proxy_inflight_requests",
                            "Number of in-flight proxy requests.", {"protocol", "type", "name"})) {
  r.add_summary_view("centrifugo_proxy_duration_seconds",
                     "Duration of proxy requests (quantiles estimated from the histogram).",
                     duration_, {0.5, 0.99, 0.999});
}

proxy_metrics::children proxy_metrics::for_call(std::string_view protocol, call_kind k,
                                                std::string_view name) {
  metrics::label_values l{std::string(protocol), kind_name(k), std::string(name)};
  return {&duration_.with(l), &errors_.with(l), &inflight_.with(l)};
}

}  // namespace gyre::proxy
