// HTTP request/response values and the handler interface that api/ (and app/) implement
// for plain HTTP endpoints (/api, /health, /metrics). No Beast or Asio types here, so
// handlers can be written and tested without including them.
//
// A request reaches its handler in two steps: admit() sees the head (method, path, query,
// headers; no body yet) and either refuses the request or says how large a body it takes;
// only then does the transport read the body (413 above the limit) and call handle(). So a
// request with a wrong API key is answered 401 without its body ever being buffered.
//
// Threading: a handler may answer from any thread by calling the reply function once;
// the transport moves the response back to the connection's event loop. admit() runs on
// the connection's thread and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ascii.hpp"

namespace gyre {

class event_loop;

// ASCII case-insensitive equality (header names, auth schemes).

struct http_request {
  std::string method;                                        // "GET", "POST", ...
  std::string path;                                          // without the query string
  std::string query;                                         // after '?', undecoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;                                          // empty in admit()
  std::string remote_address;
  unsigned version = 11;  // HTTP/1.x minor version times 10 plus 10: 10 or 11

  // First value of a header (name compared case-insensitively), "" when absent.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // Percent-decoded value of a query parameter, "" when absent.
  std::string query_param(std::string_view name) const;
};

struct http_response {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static http_response json(std::string body, unsigned status = 200) {
    http_response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::move(body);
    return r;
  }
  static http_response text(unsigned status, std::string body) {
    http_response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    r.body = std::move(body);
    return r;
  }
};

using http_reply = std::function<void(http_response)>;

// What a handler decides from a request head.
struct http_admission {
  std::optional<http_response> refusal;  // set: answer this, do not read the body
  uint64_t body_limit = 0;               // else: the largest body it takes (0 = none)

  static http_admission accept(uint64_t body_limit) { return {std::nullopt, body_limit}; }
  static http_admission refuse(http_response r) { return {std::move(r), 0}; }
};

class http_handler {
 public:
  virtual ~http_handler() = default;
  // Called with the head of the request (`req.body` empty) before its body is read. The
  // default takes requests without a body (health, metrics).
  virtual http_admission admit(const http_request& head) {
    (void)head;
    return http_admission::accept(0);
  }
  // Called with the whole request once admit() accepted it and its body was read.
  virtual void handle(http_request req, http_reply reply) = 0;
  // Streaming transports (docs/transports.md) take the connection over instead of
  // answering: once admit() accepted the request and its body was read, the server calls
  // adopt() on the thread of `home` (the event loop that accepted the connection) with
  // the socket, non-blocking and no longer owned by the server; handle() is not called.
  virtual bool takes_connection() const { return false; }
  virtual void adopt(event_loop& home, int fd, http_request req) {
    (void)home;
    (void)fd;
    (void)req;
  }
};

// Decodes %XX and '+' (as space) of a URL query component.
std::string url_decode(std::string_view s);

}  // namespace gyre
