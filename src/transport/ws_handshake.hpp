// WebSocket opening handshake (RFC 6455 §4.2) as pure functions over header values:
// validate the client's upgrade request, compute Sec-WebSocket-Accept, pick a
// subprotocol, render the 101 response or an HTTP error response. No HTTP parser types
// here: the transport parses the request (Beast) and passes header values as views.
// Checking Origin is the caller's policy (it answers 403 through render_http_error).
// Threading: pure functions, thread-safe.
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

namespace gyre::ws {

// Header values of the upgrade request; empty = header absent. When a header occurs
// more than once, pass the values joined with ", " (RFC 9110 §5.3).
struct upgrade_request {
  std::string_view method;      // "GET"
  unsigned http_version = 11;   // 10 = HTTP/1.0, 11 = HTTP/1.1
  std::string_view upgrade;     // must contain the token "websocket"
  std::string_view connection;  // must contain the token "upgrade"
  std::string_view version;     // Sec-WebSocket-Version: must be "13"
  std::string_view key;         // Sec-WebSocket-Key: base64 of 16 bytes
  std::string_view protocols;   // Sec-WebSocket-Protocol: offered subprotocols, may be empty
};

enum class handshake_error {
  none,
  bad_method,             // 400 (405 would invite a non-GET retry; browsers only send GET)
  bad_http_version,       // 400: HTTP/1.1 or later is required
  no_upgrade,             // 400: Upgrade lacks "websocket" (426 is for version mismatch only)
  no_connection_upgrade,  // 400
  no_version,             // 400
  bad_version,            // 426 with Sec-WebSocket-Version: 13
  bad_key,                // 400
};

std::string_view describe(handshake_error e);
unsigned http_status_for(handshake_error e);  // 0 for none

handshake_error validate_upgrade(const upgrade_request& req);

// Sec-WebSocket-Accept for a client key: base64(SHA-1(key + GUID)), 28 characters.
// Leading/trailing whitespace of `key` is ignored. Empty only if SHA-1 is unavailable.
std::string compute_accept_key(std::string_view key);

// The subprotocols Gyre speaks (client-protocol.md §1.2).
inline constexpr std::array<std::string_view, 2> supported_subprotocols = {"centrifuge-json",
                                                                           "centrifuge-protobuf"};

// The first protocol of the client's comma-separated `offered` list that is in
// `supported` (matched exactly, tokens are case-sensitive), or empty for none. The
// result is a view into `supported`. A client that offers protocols and gets none back
// aborts the handshake, so the caller may want to reject rather than answer without one.
std::string_view select_subprotocol(
    std::string_view offered, std::span<const std::string_view> supported = supported_subprotocols);

// "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection, Sec-WebSocket-Accept and,
// if `subprotocol` is not empty, Sec-WebSocket-Protocol, and if `extensions` is not
// empty, Sec-WebSocket-Extensions (ws_deflate.hpp); ends with the blank line.
std::string render_switching_protocols(std::string_view accept_key,
                                       std::string_view subprotocol = {},
                                       std::string_view extensions = {});

// A complete HTTP/1.1 error response with a text/plain body and Connection: close.
// 426 also carries Sec-WebSocket-Version: 13 and Upgrade: websocket. `body` is sent
// verbatim (Content-Length frames it).
std::string render_http_error(unsigned status, std::string_view body);
// The response for a failed validate_upgrade().
std::string render_handshake_error(handshake_error e);

}  // namespace gyre::ws
