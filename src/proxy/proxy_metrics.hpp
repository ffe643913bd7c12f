// proxy_metrics: Centrifugo's proxy metrics, labelled protocol (http | grpc), type (the
// call kind) and name (the proxy's name; `default` for connect/refresh and for the
// channel.proxy.* / rpc.proxy blocks):
//   centrifugo_proxy_duration_seconds_histogram (+ the summary centrifugo_proxy_duration_seconds)
//   centrifugo_proxy_errors, centrifugo_proxy_inflight_requests.
// One instance per process, shared by the loops' transports (relaxed atomics).
#pragma once

#include <string_view>

#include "core/metrics.hpp"
#include "proxy/proxy_call.hpp"

namespace gyre::proxy {

class proxy_metrics {
 public:
  explicit proxy_metrics(metrics::registry& r);
  struct children {
    metrics::histogram* duration;
    metrics::counter* errors;
    metrics::gauge* inflight;
  };
  // Label sets are bounded by the configured proxies and the call kinds.
  children for_call(std::string_view protocol, call_kind k, std::string_view name);

 private:
  metrics::family<metrics::histogram>& duration_;
  metrics::family<metrics::counter>& errors_;
  metrics::family<metrics::gauge>& inflight_;
};

}  // namespace gyre::proxy
