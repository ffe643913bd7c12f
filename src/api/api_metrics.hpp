// api_metrics: the server API's metrics, shared by its front ends (HTTP: http_api, GRPC:
// grpc_api_server): centrifugo_api_command_duration_seconds_histogram (and its summary
// view centrifugo_api_command_duration_seconds) and centrifugo_api_command_errors_total,
// labelled by protocol ("http", "grpc") and method. Created once per server: a second
// family of the same name would be exposed twice.
//
// Threading: any thread. A method's histogram is looked up in its family once per protocol
// (the family's lookup takes a lock that every API thread would share).
#pragma once

#include <atomic>
#include <memory>
#include <string_view>

#include "api/executor.hpp"
#include "core/metrics.hpp"

namespace gyre {

enum class api_protocol : uint8_t { http = 0, grpc = 1 };

class api_metrics {
 public:
  explicit api_metrics(metrics::registry& r);

  // The duration histogram of method `m` (an entry of api_executor::methods()).
  metrics::histogram& duration(api_protocol p, const api_method& m);
  // Counts an error of `method`: a numeric API error code or a word (unmarshal, ...).
  void error(api_protocol p, std::string_view method, std::string_view error);

 private:
  metrics::family<metrics::histogram>& duration_;
  metrics::family<metrics::counter>& errors_;
  std::unique_ptr<std::atomic<metrics::histogram*>[]> durations_;  // [protocol][method]
};

}  // namespace gyre
