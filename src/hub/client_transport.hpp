// client_transport: what the protocol logic of a connection (client) needs from the
// transport that carries it. WebSocket implements it today; SSE/HTTP-streaming and the
// unidirectional transports implement it the same way.
//
// Threading: called only on the event loop that owns the connection.
#pragma once

#include <string_view>
#include <vector>

#include "core/error_codes.hpp"
#include "protocol/codec.hpp"

namespace gyre {

class client_transport {
 public:
  virtual ~client_transport() = default;
  // Short name for logs, metrics and proxies ("websocket", "sse", ...).
  virtual std::string_view name() const = 0;
  // Pushes are wrapped in Reply objects (bidirectional) or sent bare (unidirectional).
  virtual protocol::push_envelope envelope() const = 0;
  // The transport sends its own native pings (cf_ws_frame_ping_pong): no app-level ping.
  virtual bool native_pings() const { return false; }
  // Writes what the client queued in its outbox; never blocks. Whenever the outbox is
  // empty after a write and client::holding_back(), calls client::release_held() and
  // writes what that queued (conflation, docs/design/conflation.md).
  virtual void flush() = 0;
  // Drops queued output that was not started on the wire (the slow-client close): a
  // frame partly written stays, so that the stream remains well-formed for the close.
  virtual void discard_queued() = 0;
  // Ends the connection: flushes queued output unless the code is 3008 (slow), sends the
  // close frame / disconnect push, and releases the connection when the socket is done.
  virtual void close(disconnect d) = 0;
  // The client finished the commands it was waiting on: reading may resume.
  virtual void input_ready() = 0;
  // Deletes the connection. Called once, by the client, when the transport reported the
  // connection closed while engine callbacks were still in flight.
  virtual void destroy() = 0;
  // Emulation transports: the session id that /emulation requests name (connect result
  // `session`); "" for the others.
  virtual std::string_view session() const { return {}; }
  // The value of a header of the HTTP request that opened the connection ("" if absent).
  virtual std::string_view request_header(std::string_view name) const = 0;
  // The values of a header of that request kept for proxies (the names listed in any
  // proxy's http_headers, docs/proxy.md), in order; empty when absent.
  virtual std::vector<std::string_view> proxy_header(std::string_view name) const {
    (void)name;
    return {};
  }
};

}  // namespace gyre
