// stream_connection: one client connection carried by a streaming HTTP response: the
// bidirectional emulation transports (http_stream, sse: commands arrive through
// /emulation, emulation_handler) and the unidirectional ones (uni_http_stream, uni_sse:
// the request carries a ConnectRequest, nothing follows). See docs/transports.md.
//
// The request (head and body) was read by the HTTP listener, which hands the socket over
// (http_handler::adopt). From then on the connection lives on its event loop like a
// WebSocket one (ws_connection): registered edge-triggered in the loop's poller, written
// with one writev per flush straight from the shared chunks of the client's outbox
// (publications encoded once and shared), bounded by client.queue_max_size (a slow client
// is closed with 3008, docs/design/flow-control.md).
//
// Framing of the response body (HTTP/1.1 chunked transfer coding; HTTP/1.0: until close):
//  * http_stream, uni_http_stream: the encoded messages as they are (JSON: each followed
//    by '\n'; Protobuf: varint length prefixes), one HTTP chunk per write.
//  * sse, uni_sse: `data: <json>\n\n` per message; the body starts with "\r\n".
// A write that the socket takes only partly leaves its unwritten bytes (framing included)
// in `pending_`, at most one write's worth; everything else stays in the outbox.
//
// The end: a Disconnect push (connection_closed excepted), the last chunk, then the write
// side is shut down and the socket closed when the peer closes (or the client's close
// timer fires). The peer sends nothing after its request; what it does send is read and
// dropped, one bounded read per turn.
//
// Sessions (emulation): each bidirectional connection has a session id, the connect
// result's `session`, made of a random part and the index of its event loop. The loop
// keeps its sessions in a map (loop-local, no lock); deliver() finds the connection.
//
// Threading: everything runs on the connection's event loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hub/client.hpp"
#include "hub/client_transport.hpp"
#include "transport/poller.hpp"

namespace gyre {

class shard;

enum class stream_kind : uint8_t { http_stream, sse, uni_http_stream, uni_sse };

struct stream_start {
  stream_kind kind = stream_kind::http_stream;
  protocol::encoding encoding = protocol::encoding::json;
  bool chunked = true;  // HTTP/1.1: chunked transfer coding; HTTP/1.0: body until close
  std::string head;     // the response head (status line and fields, CORS included)
  // The connect: a command batch (bidirectional) or a ConnectRequest (unidirectional).
  std::string connect;
  uint32_t loop_index = 0;  // for the session id
  std::string user_id_header;
  std::string user_id_value;
};

class stream_connection final : public client_transport, public poll_target {
 public:
  // Takes over `fd` (connected, non-blocking) and starts the response.
  static void start(shard& s, poller& p, int fd, stream_start st);

  // Emulation: runs `commands` (a command batch in the session's encoding) on the session's
  // connection. On the session's loop only. Returns false when the session is unknown here.
  enum class delivery : uint8_t { delivered, unknown_session, overloaded };
  static delivery deliver(std::string_view session, std::string_view commands);
  // The loop index a session id names, or -1 when it is not one of ours.
  static int64_t loop_of_session(std::string_view session);

  // client_transport
  std::string_view name() const override;
  protocol::push_envelope envelope() const override {
    return uni() ? protocol::push_envelope::bare : protocol::push_envelope::reply;
  }
  void flush() override { write_some(); }
  void close(disconnect d) override;
  void discard_queued() override;
  void destroy() override;
  void input_ready() override;
  std::string_view session() const override { return {session_, session_len_}; }
  std::string_view request_header(std::string_view name) const override;

  // poll_target
  void on_poll(uint32_t events) override;
  void on_again() override;

  ~stream_connection() override;

 private:
  stream_connection(shard& s, poller& p, int fd, const stream_start& st);

  bool uni() const {
    return kind_ == stream_kind::uni_http_stream || kind_ == stream_kind::uni_sse;
  }
  bool sse() const { return kind_ == stream_kind::sse || kind_ == stream_kind::uni_sse; }
  void queue_raw(std::string_view bytes);
  void write_some();
  // Writes pending_; false when the socket would block (or failed).
  bool write_pending();
  void read_and_drop();
  void resume();
  void hard_close();
  void try_destroy();

  shard& shard_;
  poller& poller_;
  stream_kind kind_;  // before client_: the client asks envelope() while it is constructed
  client client_;
  std::unique_ptr<std::string> pending_;  // unwritten bytes of a partial write
  struct header_value {
    std::string name, value;
  };
  std::unique_ptr<header_value> user_header_;  // client.user_id_http_header
  int fd_;
  // The emulation session id ("" for unidirectional connections), inline: a heap string
  // and the map's copy of it would cost more than these bytes.
  char session_[46];
  uint8_t session_len_ = 0;
  bool chunked_;
  bool write_blocked_ = false;
  bool closing_ = false;    // the disconnect push is queued: end the body after it
  bool ended_ = false;      // the last chunk is queued / written
  bool shut_down_ = false;  // write side shut down
  bool socket_closed_ = false;
  bool client_done_ = false;
  bool turn_asked_ = false;  // poller::again() asked: commands wait for a turn
};

}  // namespace gyre
