// Protocol error codes, disconnect codes and unsubscribe codes of the Centrifugo client
// protocol (spec: client-protocol.md §5). These values travel on the wire: never renumber.
// A `protocol_error` is an ordinary reply error (the connection stays); a `disconnect`
// closes the connection with the given code, and the code range tells the SDK whether to
// reconnect.
#pragma once

#include <cstdint>
#include <string_view>

namespace gyre {

struct protocol_error {
  uint32_t code = 0;
  std::string_view message;
  bool temporary = false;

  explicit operator bool() const { return code != 0; }
  friend bool operator==(const protocol_error& a, const protocol_error& b) {
    return a.code == b.code;
  }
};

namespace errors {
inline constexpr protocol_error none{0, "", false};
inline constexpr protocol_error internal{100, "internal server error", true};
inline constexpr protocol_error unauthorized{101, "unauthorized", false};
inline constexpr protocol_error unknown_channel{102, "unknown channel", false};
inline constexpr protocol_error permission_denied{103, "permission denied", false};
inline constexpr protocol_error method_not_found{104, "method not found", false};
inline constexpr protocol_error already_subscribed{105, "already subscribed", false};
inline constexpr protocol_error limit_exceeded{106, "limit exceeded", false};
inline constexpr protocol_error bad_request{107, "bad request", false};
inline constexpr protocol_error not_available{108, "not available", false};
inline constexpr protocol_error token_expired{109, "token expired", false};
inline constexpr protocol_error expired{110, "expired", false};
inline constexpr protocol_error too_many_requests{111, "too many requests", true};
inline constexpr protocol_error unrecoverable_position{112, "unrecoverable position", false};
inline constexpr protocol_error concurrent_pagination{113, "concurrent pagination", true};
inline constexpr protocol_error conflict{113, "conflict", false};  // server API name of 113
}  // namespace errors

struct disconnect {
  uint32_t code = 0;
  std::string_view reason;

  explicit operator bool() const { return code != 0; }
  // The SDK reconnects for 3000-3499, 4000-4499 and >= 5000; it stops for the rest.
  bool reconnect() const {
    return (code >= 3000 && code < 3500) || (code >= 4000 && code < 4500) || code >= 5000;
  }
  friend bool operator==(const disconnect& a, const disconnect& b) { return a.code == b.code; }
};

namespace disconnects {
inline constexpr disconnect connection_closed{3000, "connection closed"};
inline constexpr disconnect shutdown{3001, "shutdown"};
inline constexpr disconnect server_error{3004, "internal server error"};
inline constexpr disconnect expired{3005, "connection expired"};
inline constexpr disconnect subscription_expired{3006, "subscription expired"};
inline constexpr disconnect slow{3008, "slow"};
inline constexpr disconnect write_error{3009, "write error"};
inline constexpr disconnect insufficient_state{3010, "insufficient state"};
inline constexpr disconnect force_reconnect{3011, "force reconnect"};
inline constexpr disconnect no_pong{3012, "no pong"};
inline constexpr disconnect too_many_requests{3013, "too many requests"};
inline constexpr disconnect state_invalidated{3014, "state invalidated"};
inline constexpr disconnect invalid_token{3500, "invalid token"};
inline constexpr disconnect bad_request{3501, "bad request"};
inline constexpr disconnect stale{3502, "stale"};
inline constexpr disconnect force_no_reconnect{3503, "force disconnect"};
inline constexpr disconnect connection_limit{3504, "connection limit"};
inline constexpr disconnect channel_limit{3505, "channel limit"};
inline constexpr disconnect inappropriate_protocol{3506, "inappropriate protocol"};
inline constexpr disconnect permission_denied{3507, "permission denied"};
inline constexpr disconnect not_available{3508, "not available"};
inline constexpr disconnect too_many_errors{3509, "too many errors"};
}  // namespace disconnects

// Codes of the Unsubscribe push. < 2500: terminal; >= 2500: the SDK resubscribes.
struct unsubscribe_code {
  uint32_t code = 0;
  std::string_view reason;
};

namespace unsubscribes {
inline constexpr unsubscribe_code server{2000, "server unsubscribe"};
inline constexpr unsubscribe_code insufficient_state{2500, "insufficient state"};
inline constexpr unsubscribe_code expired{2501, "subscription expired"};
inline constexpr unsubscribe_code state_invalidated{2502, "state invalidated"};
}  // namespace unsubscribes

}  // namespace gyre
