// token_expiry: the one rule for when a connection or a subscription ends because of its
// token, used by connect, subscribe, refresh and sub_refresh alike. Design:
// docs/design/connection-state-machine.md ("Token expiry").
//
// Centrifugo's rule (its token verifier, for connection and subscription tokens): a
// present `expire_at` claim decides, and a value <= 0 means "never expires" even when
// `exp` is set; without `expire_at` the JWT `exp` decides; without both, never. The token
// verifier has already refused a token whose `exp` has passed.
//
// Threading: pure functions.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

namespace gyre {

// Unix seconds at which the connection / subscription expires; 0 = never.
constexpr int64_t effective_expiry(std::optional<int64_t> expire_at, std::optional<int64_t> exp) {
  if (expire_at) return *expire_at > 0 ? *expire_at : 0;
  return exp && *exp > 0 ? *exp : 0;
}

// Whether an expiry (0 = never) has been reached at `now` (Unix seconds).
constexpr bool expiry_reached(int64_t expire_at, int64_t now) {
  return expire_at > 0 && expire_at <= now;
}

// Seconds left until an expiry, as the `ttl` of connect / subscribe / refresh replies.
constexpr uint32_t ttl_until(int64_t expire_at, int64_t now) {
  return static_cast<uint32_t>(
      std::clamp<int64_t>(expire_at - now, 0, std::numeric_limits<uint32_t>::max()));
}

}  // namespace gyre
