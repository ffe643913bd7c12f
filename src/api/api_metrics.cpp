// api_metrics: see api_metrics.hpp.
#include "api/api_metrics.hpp"

#include <string>

namespace gyre {

namespace {

constexpr size_t num_protocols = 2;

std::string_view name_of(api_protocol p) {
  return p == api_protocol::grpc ? "grpc" : "http";
}

}  // namespace

api_metrics::api_metrics(metrics::registry& r)
    : duration_(r.add_histogram("centrifugo_api_command_duration_seconds_histogram",
                                "Server API command duration.", {"protocol", "method"},
                                metrics::default_latency_buckets())),
      errors_(r.add_counter("centrifugo_api_command_errors_total", "Server API command errors.",
                            {"protocol", "method", "error"})) {
  r.add_summary_view(
      "centrifugo_api_command_duration_seconds",
      "Server API command duration summary (quantiles estimated from the histogram).", duration_,
      {0.5, 0.99, 0.999});
  const size_t n = num_protocols * api_executor::methods().size();
  durations_ = std::make_unique<std::atomic<metrics::histogram*>[]>(n);
  for (size_t i = 0; i < n; ++i) durations_[i].store(nullptr);
}

metrics::histogram& api_metrics::duration(api_protocol p, const api_method& m) {
  const size_t method = static_cast<size_t>(&m - api_executor::methods().data());
  auto& slot = durations_[static_cast<size_t>(p) * api_executor::methods().size() + method];
  metrics::histogram* h = slot.load(std::memory_order_acquire);
  if (!h) {
    h = &duration_.with({std::string(name_of(p)), std::string(m.name)});
    slot.store(h, std::memory_order_release);
  }
  return *h;
}

void api_metrics::error(api_protocol p, std::string_view method, std::string_view error) {
  errors_.with({std::string(name_of(p)), std::string(method), std::string(error)}).inc();
}

}  // namespace gyre
