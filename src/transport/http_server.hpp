// http_server: the HTTP/1.1 listener of Gyre. One acceptor per event loop on the same
// port (SO_REUSEPORT): the kernel spreads new connections over the loops and each
// connection stays on the loop that accepted it.
//
// Requests are parsed with Beast, strictly (http_framing: a request whose body length is
// ambiguous is refused and its connection closed). A WebSocket upgrade on the client
// endpoint becomes a ws_connection (origin check, subprotocol selection, handshake); other
// paths go to the registered http_handlers (/api, /health, /metrics, ...), which see the
// head of a request before its body is read (http_handler::admit). Keep-alive is
// supported. See docs/design/http-server.md.
//
// A connection starts on the loop that accepted it. With requests_ios set (one requests
// thread per core), a keep-alive connection that sent a plain HTTP request (API, health,
// metrics) moves to one of them after the first response (round robin): its next requests
// are read and answered on that thread, never queued behind a loop's fan-out (a single API
// publisher is not slowed by the subscribers), and the API uses every core. A request whose
// handler answers at once (a publish on the memory engine) is answered on the thread that
// read it, in the same call. See docs/design/api-threading.md.
//
// Threading: start()/stop() from the main thread; sessions run on their loop or on a
// requests thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "transport/http_types.hpp"

namespace boost::asio {
class io_context;
}

namespace gyre {

class event_loop;

struct http_route {
  std::string path;
  bool prefix = false;  // also matches path + "/..."
  std::shared_ptr<http_handler> handler;
};

struct http_server_options {
  std::string address;  // "" = all interfaces
  uint16_t port = 8000;
  bool websocket_enabled = true;
  std::string websocket_path = "/connection/websocket";
  uint32_t websocket_message_size_limit = 65536;
  // websocket.compression: permessage-deflate is negotiated when the client offers it;
  // incoming messages inflate to at most websocket_decompressed_size_limit bytes.
  bool websocket_compression = false;
  uint32_t websocket_decompressed_size_limit = 655360;
  // client.allowed_origins, read at each upgrade (a reload may change it): globs; "*" =
  // any; empty = only requests without Origin. Unset = only requests without Origin.
  std::function<std::vector<std::string>()> allowed_origins;
  std::string user_id_http_header;
  // The header names any proxy forwards (their http_headers), read at each upgrade: the
  // connection keeps those headers for its proxy calls (docs/proxy.md).
  std::function<std::vector<std::string>()> proxy_header_names;
  // uni_websocket (docs/transports.md): the path ("" = off) and its connection options
  // (ws_connection_options: message size, join_push_messages, disconnect push).
  std::string uni_websocket_path;
  uint32_t uni_websocket_message_size_limit = 65536;
  bool uni_websocket_join_push_messages = false;
  bool uni_websocket_disconnect_push = true;
  uint32_t max_header_size = 16 * 1024;  // request line + header fields; 431 above
  std::vector<http_route> routes;
  std::vector<boost::asio::io_context*> requests_ios;  // see above; empty = stay on the loop
  // Asked on a requests thread before reading a connection's next request: while it says
  // true, the session waits 1 ms and asks again, reading nothing (the peer's requests stay
  // in the kernel). The app sets it to "an event loop's inbox is backlogged", so that API
  // publishers are paced by the fan-out (docs/design/flow-control.md). Any thread.
  std::function<bool()> postpone_reading;
};

class http_server {
 public:
  http_server(std::vector<event_loop*> loops, http_server_options opts);
  ~http_server();

  // Binds and starts accepting. Returns an error message naming the address and the
  // cause on failure ("" on success). Binds at once even while connections of a previous
  // run are in TIME_WAIT on the port; fails while another process listens on it.
  std::string start();
  // Stops accepting new connections; existing ones continue.
  void stop();
  uint16_t bound_port() const { return bound_port_; }

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
  uint16_t bound_port_ = 0;
};

// Whether a request with this Origin header may open a client connection.
bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin);

}  // namespace gyre
