// HTTP request/response values and the handler interface that api/ (and app/) implement
// for plain HTTP endpoints (/api, /health, /metrics). No Beast or Asio types here, so
// handlers can be written and tested without including them.
//
// Threading: a handler may answer from any thread by calling the reply function once;
// the transport moves the response back to the connection's event loop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gyre {

struct http_request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  std::string query;   // after '?', undecoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_address;

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

class http_handler {
 public:
  virtual ~http_handler() = default;
  virtual void handle(http_request req, http_reply reply) = 0;
};

// Decodes %XX and '+' (as space) of a URL query component.
std::string url_decode(std::string_view s);

}  // namespace gyre
