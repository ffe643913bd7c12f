// http_api: the server HTTP API (server-api.md §1-§4, §9): POST {prefix}/{method},
// POST {prefix}/batch and the legacy POST {prefix} stream of {"method","params"} commands
// that cent.js's pipeline() uses. Authenticates with X-API-Key, `Authorization: apikey`
// or the api_key query parameter; maps errors to the envelope or, in transport error mode,
// to HTTP statuses.
//
// Threading: handle() may run on any loop; replies go through the transport's reply
// function, which posts back to the connection's loop.
#pragma once

#include <memory>
#include <string>

#include "api/executor.hpp"
#include "core/metrics.hpp"
#include "transport/http_types.hpp"

namespace gyre {

struct http_api_options {
  std::string prefix = "/api";
  std::string key;
  bool insecure = false;
  bool transport_error_mode = false;
};

class http_api final : public http_handler {
 public:
  http_api(api_executor& exec, http_api_options opts, metrics::registry& metrics);
  void handle(http_request req, http_reply reply) override;

 private:
  bool authorized(const http_request& req) const;
  void handle_method(const std::string& method, http_request req, http_reply reply);
  void handle_legacy(http_request req, http_reply reply);

  api_executor& exec_;
  http_api_options opts_;
  metrics::family<metrics::histogram>& duration_;
  metrics::family<metrics::counter>& errors_;
};

// HTTP status for an API error code in transport error mode.
unsigned http_status_for_api_error(uint32_t code);

}  // namespace gyre
