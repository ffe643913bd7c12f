// stream_endpoint: the streaming transports' HTTP side; see stream_endpoint.hpp.
#include "transport/stream_endpoint.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include "core/log.hpp"
#include "protocol/uni_connect.hpp"
#include "transport/cors.hpp"
#include "transport/event_loop.hpp"

namespace gyre {

namespace {

bool octet_stream(const http_request& req) {
  std::string_view ct = req.header("content-type");
  return ct.substr(0, ct.find(';')) == "application/octet-stream";
}

// Writes a short refusal on a socket the server no longer owns and closes it. The request
// was read whole, so nothing unread makes the close a reset.
void refuse_on_socket(int fd, unsigned status, std::string_view reason, std::string_view body,
                      const cors::header_list& cors) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  for (const auto& [k, v] : cors) out += k + ": " + v + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  out += body;
  // Non-blocking: a fresh socket's send buffer takes a few hundred bytes at once.
  ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  (void)n;
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

}  // namespace

bool stream_endpoint::uni() const {
  return opts_.kind == stream_kind::uni_http_stream || opts_.kind == stream_kind::uni_sse;
}
bool stream_endpoint::sse() const {
  return opts_.kind == stream_kind::sse || opts_.kind == stream_kind::uni_sse;
}

http_admission stream_endpoint::admit(const http_request& head) {
  if (auto refusal = cors::check_origin(
          head, opts_.allowed_origins ? opts_.allowed_origins() : std::vector<std::string>{}))
    return http_admission::refuse(std::move(*refusal));
  const std::string_view methods = sse() ? "GET, POST, OPTIONS" : "POST, OPTIONS";
  if (head.method == "OPTIONS") return http_admission::refuse(cors::preflight(head, methods));
  const bool get_ok = sse();
  if (head.method != "POST" && !(get_ok && head.method == "GET")) {
    http_response r = http_response::text(405, "method not allowed\n");
    r.headers.emplace_back("Allow", std::string(methods));
    for (auto& h : cors::headers_for(head)) r.headers.push_back(std::move(h));
    return http_admission::refuse(std::move(r));
  }
  if (head.method == "GET") {
    // The bidirectional SSE transport cannot connect without its command batch.
    if (!uni() && head.query_param("cf_connect").empty()) {
      http_response r = http_response::text(400, "missing cf_connect query parameter\n");
      for (auto& h : cors::headers_for(head)) r.headers.push_back(std::move(h));
      return http_admission::refuse(std::move(r));
    }
    return http_admission::accept(0);
  }
  return http_admission::accept(opts_.max_request_body_size);
}

void stream_endpoint::handle(http_request, http_reply reply) {
  // Not called: the connection is adopted instead (takes_connection).
  reply(http_response::text(500, "internal error\n"));
}

void stream_endpoint::adopt(event_loop& home, int fd, http_request req) {
  stream_start st;
  st.kind = opts_.kind;
  st.chunked = req.version >= 11;
  st.connect = req.method == "GET" ? req.query_param("cf_connect") : std::move(req.body);
  auto cors_fields = cors::headers_for(req);
  if (uni()) {
    protocol::connect_request probe;
    if (!protocol::decode_uni_connect(st.connect, probe))
      return refuse_on_socket(fd, 400, "Bad Request", "malformed ConnectRequest\n", cors_fields);
  } else if (st.connect.empty()) {
    return refuse_on_socket(fd, 400, "Bad Request", "empty connect request\n", cors_fields);
  }
  if (opts_.kind == stream_kind::http_stream && octet_stream(req))
    st.encoding = protocol::encoding::protobuf;
  for (size_t i = 0; i < opts_.loops.size(); ++i)
    if (opts_.loops[i] == &home) st.loop_index = static_cast<uint32_t>(i);
  if (!opts_.user_id_http_header.empty()) {
    st.user_id_header = opts_.user_id_http_header;
    st.user_id_value = std::string(req.header(opts_.user_id_http_header));
  }
  std::string& h = st.head;
  h = req.version >= 11 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.0 200 OK\r\n";
  if (sse())
    h += "Content-Type: text/event-stream; charset=utf-8\r\n";
  else if (st.encoding == protocol::encoding::protobuf)
    h += "Content-Type: application/octet-stream\r\n";
  else
    h += "Content-Type: application/json\r\n";
  h += "Cache-Control: private, no-cache, no-store, must-revalidate, max-age=0\r\n";
  h += "Pragma: no-cache\r\nExpire: 0\r\nX-Accel-Buffering: no\r\n";
  for (const auto& [k, v] : cors_fields) h += k + ": " + v + "\r\n";
  // The connection ends with the stream (the socket is not reused for another request).
  h += "Connection: close\r\n";
  if (st.chunked) h += "Transfer-Encoding: chunked\r\n";
  h += "\r\n";
  if (sse()) h += st.chunked ? "2\r\n\r\n\r\n" : "\r\n";  // the body starts with "\r\n"
  stream_connection::start(home.hub(), home.sockets(), fd, std::move(st));
}

}  // namespace gyre
