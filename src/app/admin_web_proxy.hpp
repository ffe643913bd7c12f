// admin_web_proxy: `admin.web_proxy_address` — the admin UI's files are taken from a
// development server (e.g. a UI dev server at http://localhost:3000) instead of the
// embedded bundle, by proxying the UI's GET and HEAD requests to it.
//
// Bounds: one thread of its own does the requests (libcurl), one at a time, so no event
// loop or requests thread ever waits for the dev server; at most max_pending requests wait
// (more are answered 503 at once); each request takes at most `timeout` and a response body
// at most max_body bytes (else 502). The target is the configured address plus the
// request's path (below the admin prefix) and query: the request cannot change the host.
// Only the status, the Content-Type and the body are passed back; no redirect is followed.
//
// Threading: get() from any thread; the reply is called on the proxy's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "transport/http_types.hpp"

namespace gyre {

class admin_web_proxy {
 public:
  // `base`: http(s)://host[:port][/path], validated by the caller (valid_base()).
  explicit admin_web_proxy(std::string base,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10),
                           size_t max_body = 16 << 20, size_t max_pending = 32);
  ~admin_web_proxy();
  admin_web_proxy(const admin_web_proxy&) = delete;
  admin_web_proxy& operator=(const admin_web_proxy&) = delete;

  // Whether `address` is an http:// or https:// URL with a host.
  static bool valid_base(const std::string& address);

  // `target`: "/path?query" below the admin prefix.
  void get(std::string target, http_reply reply);

 private:
  void run();
  http_response fetch(const std::string& target);

  std::string base_;
  std::chrono::milliseconds timeout_;
  size_t max_body_;
  size_t max_pending_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::deque<std::pair<std::string, http_reply>> queue_;
  std::thread thread_;
};

}  // namespace gyre
