// jwks_cache: the keys of a `jwks_public_endpoint` (docs/tokens.md, "JWKS"), fetched off the
// event loops and looked up by token verifiers without ever waiting for the network.
//
// One cache serves one endpoint template; its entries are the resolved URLs (one unless the
// template has {{placeholders}}), at most max_urls of them. A lookup (any thread, a short
// critical section) answers at once:
//   found      - the key of that kid in the URL's current set;
//   unknown    - the kid is missing from a set whose fetch started after a lookup first
//                missed that kid (the token is invalid: the endpoint really lacks it);
//   not_ready  - no set yet, the last fetch failed, or the kid is missing from a set
//                fetched before the first miss: a refresh of the URL is queued and the
//                caller answers with a temporary error, so that the client retries.
// So a key rotated in at the endpoint is found by the first token that uses it, at the
// price of one retry. Fetches of one URL start at least refresh_interval apart (a stream of
// made-up kids costs at most one fetch per interval); misses are remembered for at most
// max_missed kids per URL (beyond, they are forgotten and cost one more retry). A set
// older than ttl (1 h, Centrifugo's cache time) keeps answering while a refresh is queued.
// The fetch thread (one per cache) runs `fetch` for queued URLs one at a time: `fetch` is
// bounded by its supplier (time and size, app/jwks_http.hpp); a failed fetch keeps the
// previous set. Two attempts per fetch, as Centrifugo.
//
// Threading: lookup()/prefetch() from any thread; the destructor never waits for a fetch
// in progress (the thread finishes it and exits; it is joined later, at the latest at
// process exit).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "auth/jwk.hpp"

namespace gyre::auth {

struct jwks_fetch_result {
  bool ok = false;
  std::string body;   // the response body when ok
  std::string error;  // why not, when !ok (e.g. "HTTP status 500", "timeout")
};
// A blocking GET of `url`, bounded in time and size by whoever supplies it.
using jwks_fetch = std::function<jwks_fetch_result(const std::string& url)>;

struct jwks_options {
  std::chrono::seconds ttl{3600};
  std::chrono::milliseconds refresh_interval{1000};
  size_t max_urls = 64;
  size_t max_missed = 1024;
  std::function<int64_t()> now_ms;  // steady milliseconds; unset = the steady clock
};

class jwks_cache {
 public:
  jwks_cache(jwks_fetch fetch, jwks_options opts = {});
  ~jwks_cache();
  jwks_cache(const jwks_cache&) = delete;
  jwks_cache& operator=(const jwks_cache&) = delete;

  enum class status { found, unknown, not_ready };
  struct lookup_result {
    status st = status::not_ready;
    std::optional<jwk> key;
    std::string why;  // for unknown / not_ready
  };
  lookup_result lookup(const std::string& url, std::string_view kid);
  // Queues a fetch of `url` now (start-up), unless one is queued or running.
  void prefetch(const std::string& url);

  // Tests: the number of fetches completed (successful or not).
  uint64_t fetches() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
  std::thread thread_;  // handed to a reaper by the destructor, never waited for there
};

}  // namespace gyre::auth
