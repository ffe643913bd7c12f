// ws_connection: one bidirectional WebSocket connection (/connection/websocket): the TCP
// socket, the project's lean frame parser, and the client protocol state machine.
//
// Read path: the connection waits for readability without a buffer; when data arrives it
// reads into the loop's shared read buffer, parses every complete frame in place and hands
// each message to the client. Only an incomplete trailing frame (or what a turn did not
// get to) is copied into a per-connection buffer, and only until it is processed, so an
// idle connection holds no read buffer at all.
//
// Flow control (docs/design/flow-control.md): reading happens in turns. A turn reads at
// most one buffer (gyre.read_budget_bytes, at least one whole message) and runs at most
// gyre.read_budget_commands commands; input left over waits for another turn, which the
// poller gives after every other ready connection (poller::again). Between turns the
// connection is in one of four states: armed (the socket was emptied; the next readiness
// edge starts a turn), scheduled (a turn is promised), engine (a command waits for an
// engine; client_transport::input_ready resumes) or held (its queue is over
// client.queue_max_size: nothing is read until writes bring it back under the limit, and
// the shard disconnects it with 3008 if that takes longer than websocket.write_timeout).
// Pongs are coalesced: while one is queued and not started, a newer ping rewrites it
// (RFC 6455 allows answering only the latest ping), so pings cannot pile up pongs.
//
// Write path: everything the client queued (replies, pushes shared with other
// subscribers, pings) is coalesced into as few WebSocket frames as possible and written
// with one writev per flush: [header][chunk][chunk]... straight from the shared buffers.
// When the socket would block, the rest waits for writability; the client's queue limit
// (client.queue_max_size) bounds what can pile up. Once everything is written, a client that
// fell behind in a gyre_conflation namespace is asked for what it held back
// (client::release_held, docs/design/conflation.md), which is written next.
//
// Readiness: the socket is registered once, edge-triggered, in the loop's poller (not in
// Asio), so an idle connection holds no reactor state and no pending operation.
//
// Lifetime: the object is retired through the poller once the socket is closed and the
// client has no engine callback in flight.
//
// Threading: everything runs on the connection's event loop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hub/client.hpp"
#include "hub/client_transport.hpp"
#include "transport/poller.hpp"
#include "transport/ws_deflate.hpp"
#include "transport/ws_frame.hpp"

namespace gyre {

class shard;

struct ws_connection_options {
  uint32_t max_message_size = 65536;
  // Header whose value identifies the user (client.user_id_http_header), captured from the
  // upgrade request; empty when not configured.
  std::string user_id_header;
  std::string user_id_value;
  // Headers of the upgrade request kept for proxies (the names of the proxies'
  // http_headers, docs/proxy.md): name as configured, value; one entry per value.
  std::vector<std::pair<std::string, std::string>> proxy_headers;
  // uni_websocket (docs/transports.md): bare pushes, the first message (or `connect` when
  // set, from the cf_connect query parameter) is the ConnectRequest, later ones are dropped.
  bool unidirectional = false;
  bool join_push_messages = false;  // uni_websocket.join_push_messages
  bool disconnect_push = true;      // not uni_websocket.disable_disconnect_push
  std::optional<std::string> connect;
  // permessage-deflate was negotiated (transport/ws_deflate.hpp, docs/compression.md).
  bool deflate = false;
  bool client_no_context_takeover = false;
  uint32_t max_decompressed_size = 655360;  // websocket.decompressed_message_size_limit
};

class ws_connection final : public client_transport, public poll_target {
 public:
  // Takes over a connected, non-blocking socket whose HTTP upgrade request was accepted.
  // `handshake` is the 101 response to write first; `leftover` are bytes the client sent
  // after its request.
  static void start(shard& s, poller& p, int fd, protocol::encoding enc, std::string handshake,
                    std::string leftover, ws_connection_options opts);

  // client_transport
  std::string_view name() const override { return uni_ ? "uni_websocket" : "websocket"; }
  protocol::push_envelope envelope() const override {
    return uni_ ? protocol::push_envelope::bare : protocol::push_envelope::reply;
  }
  void flush() override;
  void close(disconnect d) override;
  void discard_queued() override;
  void destroy() override;
  void input_ready() override;
  std::string_view request_header(std::string_view name) const override;
  std::vector<std::string_view> proxy_header(std::string_view name) const override;

  // poll_target
  void on_poll(uint32_t events) override;
  void on_again() override;

  ~ws_connection() override;

 private:
  ws_connection(shard& s, poller& p, int fd, protocol::encoding enc, ws_connection_options opts);

  // One read turn (see the top of this file).
  void on_turn();
  // Parses buf[0, len); returns false if the connection ended. `paused`: the client
  // stopped taking input before every complete frame was processed.
  bool process_input(char* buf, size_t len, bool& paused);
  // A complete message: commands for the client, or uni_websocket's ConnectRequest.
  void deliver(std::string_view message);
  // After a turn: which state to wait in. `input_left`: the socket (or partial_) may hold
  // bytes that no readiness edge will announce.
  void settle(bool input_left);
  void schedule_turn();
  void hold();
  void write_some();
  void hard_close();
  void try_destroy();
  out_chunk* queue_control_frame(std::string_view frame);
  // Inflates a piece of a compressed message into `out`; on failure closes the connection
  // (1009 over the size limit, 1007 for corrupt data) and returns false.
  bool inflate(std::string_view payload, bool fin, std::string& out);
  // Fails the connection with a close frame carrying `code` (a protocol error).
  void fail_with(uint16_t code);

  enum class reading : uint8_t { armed, scheduled, engine, held };

  shard& shard_;
  poller& poller_;
  bool uni_ = false;  // uni_websocket; before client_, which asks envelope() when constructed
  client client_;
  ws::frame_parser parser_;
  std::unique_ptr<std::string> partial_;         // incomplete frame bytes between reads
  std::unique_ptr<std::string> message_;         // fragmented message being assembled
  std::unique_ptr<ws_connection_options> opts_;  // only when there is something to keep
  std::unique_ptr<ws::inflater> inflater_;       // only when permessage-deflate is on
  out_chunk* pending_pong_ = nullptr;            // queued pong not started on the wire yet
  // Current outgoing data frame: header bytes left to write and payload bytes left.
  char header_[ws::max_server_header_size];
  uint8_t header_len_ = 0;
  uint8_t header_sent_ = 0;
  uint32_t frame_left_ = 0;  // payload (or raw chunk) bytes of the current frame not written
  int fd_;
  bool in_frame_ = false;
  bool write_blocked_ = false;  // the socket is full: wait for an EPOLLOUT edge
  reading read_state_ = reading::armed;
  bool closing_ = false;  // close frame queued: flush it, then shut down writes
  bool close_sent_ = false;
  bool socket_closed_ = false;
  bool client_done_ = false;  // the client allowed destruction
  bool uni_join_ = false;     // uni_websocket.join_push_messages
  bool uni_disconnect_push_ = false;
  bool uni_connected_ = false;  // the ConnectRequest arrived: later messages are dropped
  // >0 while a handler of this connection runs: hard_close() inside it must not delete the
  // object under the handler's feet; the handler calls try_destroy() on its way out.
  protocol::encoding encoding_;
};

}  // namespace gyre
