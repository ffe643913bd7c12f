// proxy_call: what one backend proxy call carries, whatever transport takes it there
// (HTTP today; GRPC can implement proxy::transport later). Design: docs/proxy.md.
//
// A call is a `request` (the fields of Centrifugo's proxy request objects, for every call
// kind) and gives back an `outcome`: either a transport failure (network, timeout, a
// status other than 200, a body that is not a proxy response) or the backend's `reply`
// (its `disconnect`, `error` or `result`, in that precedence).
//
// Threading: a transport belongs to one event loop; call() and the callback run on it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/token_verifier.hpp"

namespace gyre::config {
struct proxy_config;
}

namespace gyre::proxy {

enum class call_kind : uint8_t { connect, refresh, subscribe, publish, sub_refresh, rpc };
inline constexpr size_t call_kind_count = 6;
// Centrifugo's name of the call kind (metric label `type`).
const char* kind_name(call_kind k);

using header_list = std::vector<std::pair<std::string, std::string>>;

// The request fields; which ones a kind sends is Centrifugo's (docs/proxy.md).
struct request {
  call_kind kind = call_kind::connect;
  std::string client;     // connection ID
  std::string transport;  // websocket, ...
  std::string protocol;   // json | protobuf
  bool binary = false;    // binary_encoding: payloads as b64data, encoding "binary"
  std::string user;
  std::string meta;  // raw JSON; sent when include_connection_meta and not empty
  std::string channel;
  std::string method;
  std::string data;  // raw payload (JSON on a JSON connection)
  std::string name, version;
  std::vector<std::string> channels;
};

// What the backend answered (HTTP 200 with a proxy response body, or a status mapped by
// http.status_to_code_transforms).
struct reply {
  // disconnect > error > result.
  std::optional<std::pair<uint32_t, std::string>> disconnect;  // code, reason
  struct error_t {
    uint32_t code = 0;
    std::string message;
    bool temporary = false;
  };
  std::optional<error_t> error;
  bool has_result = false;
  // result fields (the kind decides which are read)
  std::string user;
  int64_t expire_at = 0;
  std::optional<std::string> info;  // raw bytes (JSON verbatim or decoded b64info)
  std::optional<std::string> data;  // raw bytes; "null" kept verbatim for publish
  std::vector<std::string> channels;
  std::map<std::string, auth::sub_options> subs;
  std::string meta;  // raw JSON
  bool expired = false;
  bool skip_history = false;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string idempotency_key;
  bool delta = false;
  auth::subscription_override override_;
};

// How a call failed before the backend gave a usable answer.
enum class failure : uint8_t { none, unavailable, timeout, status, bad_response, unsupported };
const char* failure_name(failure f);

struct outcome {
  failure failed = failure::none;
  std::string detail;  // for logs
  reply answer;
};

using done_fn = std::function<void(outcome)>;

// The seam between the hub and a proxy transport. One instance per event loop.
class transport {
 public:
  virtual ~transport() = default;
  // Calls the backend `p` (named `name`, for metrics). `headers`: the connection's
  // forwarded headers (already selected for `p`). `done` runs later on this loop, never
  // inside call().
  virtual void call(const config::proxy_config& p, std::string_view name, const request& r,
                    header_list headers, done_fn done) = 0;
};

}  // namespace gyre::proxy
