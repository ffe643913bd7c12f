// http_client: an asynchronous HTTP/1.1 client (Beast on Asio) for backend proxy calls.
//
// One instance per event loop, used only on that loop's thread: nothing crosses threads and
// a connect storm spreads over the loops. Per backend host:port it keeps a pool of
// keep-alive connections (at most max_idle idle ones) and opens at most max_active
// connections at once; further calls wait for a free connection, still bounded by their
// own deadline. Each call has one deadline (the proxy's `timeout`) over everything: the
// wait, name resolution, connect, write and read. The response is bounded (status line and
// headers by Beast's default limit, the body by `max_response`). A request that fails on a
// reused connection before any response byte arrived (the backend closed it while idle)
// is retried once on a new connection.
//
// Plain http:// only. Beast stays out of this header (builds are slow).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace gyre::proxy {

// An http:// URL split for the client.
struct http_target {
  std::string host;
  std::string port = "80";
  std::string path = "/";
  bool tls = false;  // https:// (not supported by this client)
};
// nullopt when `url` is not an http:// or https:// URL.
std::optional<http_target> parse_http_url(std::string_view url);

struct http_request_spec {
  http_target target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // added in this order
  std::chrono::milliseconds timeout{1000};
  size_t max_response = 1 << 20;
};

struct http_result {
  enum class error { none, unavailable, timeout, too_large };
  error err = error::none;
  std::string detail;
  unsigned status = 0;
  std::string body;
};

class http_client {
 public:
  explicit http_client(boost::asio::io_context& io, size_t max_idle = 64, size_t max_active = 512);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // `done` runs later on the io_context's thread, never inside post().
  void post(http_request_spec spec, std::function<void(http_result)> done);

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace gyre::proxy
