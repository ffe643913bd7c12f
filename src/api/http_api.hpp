// http_api: the server HTTP API: POST {prefix}/{method}, POST {prefix}/batch and the
// legacy POST {prefix} stream of {"method","params"} commands that cent.js's pipeline()
// uses. Authenticates with X-API-Key, `Authorization: apikey` or the api_key query
// parameter; maps errors to the envelope or, in transport error mode, to HTTP statuses.
//
// What must hold (docs/design/server-api.md):
//  * The method, the key and the path are checked from the request head (admit), before
//    the body is read: a wrong key costs a 401, never a buffered body.
//  * A body is at most max_request_body_size bytes (413 from the transport); a legacy
//    request holds at most api_limits::max_batch_commands commands (413); replies stay
//    within api_limits::max_response_size (see executor.hpp).
//  * Refusals a peer can repeat at will (401, limits) are logged through log::limited.
//
// Tracing (opentelemetry.api, docs/tracing.md): a request that passed admit() gets a span
// named after its path, a child of the request's W3C `traceparent` when it has a valid
// one; a batch's and the legacy endpoint's commands get child spans. The response carries
// the span's identity in a `traceresponse` header.
//
// Threading: admit() and handle() run on the connection's thread; replies go through the
// transport's reply function, which posts back to the connection's thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/api_metrics.hpp"
#include "api/executor.hpp"
#include "transport/http_types.hpp"

namespace gyre {

namespace tracing {
class tracer;
struct span;
}  // namespace tracing

struct http_api_options {
  std::string prefix = "/api";
  std::string key;
  bool insecure = false;
  bool transport_error_mode = false;
  uint64_t max_request_body_size = 16 * 1024 * 1024;  // gyre.http_api.max_request_body_size
  // opentelemetry.enabled and opentelemetry.api: a span per request (docs/tracing.md);
  // nullptr: none.
  tracing::tracer* tracer = nullptr;
};

class http_api final : public http_handler {
 public:
  http_api(api_executor& exec, http_api_options opts, api_metrics& metrics);
  http_admission admit(const http_request& head) override;
  void handle(http_request req, http_reply reply) override;

 private:
  bool authorized(const http_request& req) const;
  // What a path under the prefix names: a served method, nullptr for the legacy endpoint,
  // nullopt for nothing (404).
  std::optional<const api_method*> route_of(std::string_view path) const;
  // `trace`: the request's span while tracing (alive until `reply` is called), else null.
  void handle_method(const api_method& m, http_request req, http_reply reply, tracing::span* trace);

  api_executor& exec_;
  http_api_options opts_;
  api_metrics& metrics_;
};

// The legacy endpoint (POST {prefix} with a stream of {"id","method","params"} commands):
// runs the commands of `req.body` in order and replies one JSON line per command; 400 for a
// malformed body, 413 beyond api_limits::max_batch_commands. Also what the admin API
// (POST {admin prefix}/admin/api) runs, after its own authentication. With `trace` (the
// request's span while tracing, alive until `reply` is called; `tracer` its tracer), each
// command gets a child span.
void run_legacy_api(api_executor& exec, http_request req, http_reply reply,
                    tracing::tracer* tracer = nullptr, tracing::span* trace = nullptr);

// HTTP status for an API error code in transport error mode.
unsigned http_status_for_api_error(uint32_t code);

}  // namespace gyre
