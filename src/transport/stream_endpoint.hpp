// stream_endpoint: the HTTP endpoint of one streaming client transport (http_stream, sse,
// uni_http_stream, uni_sse; docs/transports.md). It checks the request head (method,
// Origin, CORS preflight, body limit), then takes the connection over
// (http_handler::adopt): the response head is built here and the connection becomes a
// stream_connection on the event loop that accepted it.
//
// Requests: http_stream and uni_http_stream take POST (the body is the connect command
// batch / the ConnectRequest); sse and uni_sse take GET with the `cf_connect` query
// parameter, or POST with it as the body. Other methods: 405; OPTIONS: the CORS preflight.
// http_stream speaks Protobuf when the request's Content-Type is application/octet-stream.
// A unidirectional ConnectRequest that is not valid JSON is answered 400 before any
// streaming starts.
//
// Threading: admit() on the connection's thread, adopt() on the accepting loop.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "transport/http_types.hpp"
#include "transport/stream_connection.hpp"

namespace gyre {

struct stream_endpoint_options {
  stream_kind kind = stream_kind::http_stream;
  uint64_t max_request_body_size = 65536;                     // <transport>.max_request_body_size
  std::function<std::vector<std::string>()> allowed_origins;  // client.allowed_origins, live
  std::string user_id_http_header;                            // client.user_id_http_header
  std::vector<event_loop*> loops;                             // to number the sessions
};

class stream_endpoint final : public http_handler {
 public:
  explicit stream_endpoint(stream_endpoint_options opts) : opts_(std::move(opts)) {}

  http_admission admit(const http_request& head) override;
  void handle(http_request req, http_reply reply) override;
  bool takes_connection() const override { return true; }
  void adopt(event_loop& home, int fd, http_request req) override;

 private:
  bool uni() const;
  bool sse() const;
  stream_endpoint_options opts_;
};

}  // namespace gyre
