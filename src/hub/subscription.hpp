// subscription: one connection's subscription to one channel, as the fan-out sees it.
//
// Owned by its client; the shard's channel registry points to it while it is registered.
// Invariants: a registered subscription appears exactly once in its channel's subscriber
// list, at index `slot`. While `subscribing`, `extra` exists and holds the attempt number
// and the events buffered until the subscribe reply is written
// (docs/design/connection-state-machine.md); once subscribed, `extra` stays only when the
// subscription has channel info or a tags filter.
// Threading: touched only by the event loop that owns the client.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error_codes.hpp"
#include "core/publication.hpp"

namespace gyre {

class client;
class prepared_event;
namespace protocol {
class compiled_filter;
}

// Rarely used subscription data, allocated only when present.
struct subscription_extra {
  std::string chan_info;
  std::shared_ptr<const protocol::compiled_filter> filter;

  // ---- while subscribing ----
  uint32_t attempt = 0;     // which subscribe of the client this is (client::find_attempt)
  bool overflowed = false;  // the buffer reached its limit: continuity is lost after the reply
  // A server-side unsubscribe (API, expiry) that arrived while subscribing: applied right
  // after the reply, which the SDK must see first.
  std::optional<unsubscribe_code> unsubscribe_after;
  // Events received while subscribing, merged after the subscribe reply.
  std::vector<std::shared_ptr<const prepared_event>> pending;

  bool needed_when_subscribed() const { return !chan_info.empty() || filter; }
};

struct subscription {
  enum class phase : uint8_t {
    subscribing,  // registered, reply not yet sent: events are buffered
    subscribed,   // live delivery
    closing,      // being removed; receives nothing
  };

  client* owner = nullptr;
  const std::string* channel = nullptr;  // the registry's key, stable while registered
  uint32_t slot = 0;                     // index in the channel's subscriber list
  phase state = phase::subscribing;

  bool server_side : 1 = false;  // from token/API/personal channel, not a client subscribe
  bool positioned : 1 = false;   // track offsets, detect gaps
  bool recoverable : 1 = false;
  bool push_join_leave : 1 = false;  // deliver join/leave pushes
  bool emit_presence : 1 = false;    // keep presence for this subscriber
  bool emit_join_leave : 1 = false;  // announce this subscriber's join/leave to the channel
  bool delta : 1 = false;            // fossil delta negotiated
  bool delta_ready : 1 = false;      // client holds a base (got a publication since subscribe)
  bool broken : 1 = false;           // lost continuity: to be unsubscribed (insufficient state)
  bool joined : 1 = false;           // its join was announced: the removal announces a leave
  // Namespace option gyre_conflation: while the connection is behind, only the latest
  // publication is kept for it (hub/conflation.hpp).
  bool conflate : 1 = false;
  // Its expiry is extended by the sub_refresh proxy (docs/proxy.md), at expire_at.
  bool proxy_refresh : 1 = false;

  uint64_t offset = 0;  // last offset delivered (positioned)
  std::string epoch;
  int64_t expire_at = 0;    // unix seconds, 0 = never (subscription token expiry)
  int64_t last_pub_ms = 0;  // for the periodic position check
  std::unique_ptr<subscription_extra> extra;

  subscription_extra& ensure_extra() {
    if (!extra) extra = std::make_unique<subscription_extra>();
    return *extra;
  }
  const std::string& chan_info() const {
    static const std::string none;
    return extra ? extra->chan_info : none;
  }
  const protocol::compiled_filter* filter() const { return extra ? extra->filter.get() : nullptr; }
};

}  // namespace gyre
