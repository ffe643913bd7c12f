// permessage-deflate (RFC 7692) for the server side of a WebSocket: negotiating the
// extension from the client's Sec-WebSocket-Extensions offer, inflating compressed client
// messages under a size limit, and compressing server messages into complete frames.
// docs/compression.md describes the behaviour and the options (websocket.compression,
// websocket.compression_min_size, websocket.compression_level).
//
// The server never uses context takeover (it always answers server_no_context_takeover),
// so one compressed frame of a publication is valid for every subscriber that negotiated
// the extension and is shared by all of them (prepared_event::deflated). The client may
// keep its context (then its connection keeps an inflate stream) unless it offered
// client_no_context_takeover (then the inflate state is freed after every message).
//
// Threading: negotiate_deflate and deflate_frame are thread-safe (deflate_frame uses a
// per-thread zlib stream); an inflater belongs to one connection and its event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "transport/ws_frame.hpp"

namespace gyre::ws {

// The outcome of a client's offer list.
struct deflate_agreement {
  bool enabled = false;
  // The client promised not to keep its compression context between messages.
  bool client_no_context_takeover = false;
  // The Sec-WebSocket-Extensions value of the 101 response (empty when not enabled).
  std::string response;
};

// Picks the first acceptable permessage-deflate offer of a Sec-WebSocket-Extensions value
// (several headers joined with ", "). An offer is declined (the next one is tried) when it
// has an unknown or repeated parameter, a parameter value that is not allowed, or asks
// for server_max_window_bits below 15 (the shared frames are compressed with a 32 KB
// window). Other extensions are ignored. Never fails the handshake: no acceptable offer
// means no compression.
deflate_agreement negotiate_deflate(std::string_view extensions);

// zlib's levels, plus -2 for Huffman-only coding, as websocket.compression_level takes.
inline constexpr int min_compression_level = -2;
inline constexpr int max_compression_level = 9;

// Compresses `payload` as one whole message with a fresh context (no context takeover)
// and writes the complete server frame (FIN, RSV1, `op`, length, compressed bytes) into
// `out`, replacing its contents. `level` is clamped to the range above. False (and `out`
// unspecified) when zlib has no memory for its state: send the message uncompressed.
bool deflate_frame(std::string_view payload, opcode op, int level, std::string& out);

// The inflate side of one connection. The zlib stream is allocated on the first compressed
// message only; with client_no_context_takeover it is freed again after every message, so
// an idle connection holds just this object.
class inflater {
 public:
  inflater(bool client_no_context_takeover, size_t max_size)
      : no_context_takeover_(client_no_context_takeover), max_size_(max_size) {}
  ~inflater();
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;

  enum class result : uint8_t { ok, too_big, bad_data };

  // Inflates one frame's payload of a compressed message and appends the output to `out`;
  // `fin` marks the message's last frame. Fails with too_big as soon as `out` would grow
  // past max_size() bytes (it never holds more than max_size() + 1), and with bad_data on
  // a corrupt stream. After a failure the inflater must not be used again.
  result feed(std::string_view payload, bool fin, std::string& out);

  size_t max_size() const { return max_size_; }
  // True while zlib state is allocated.
  bool holds_state() const { return stream_ != nullptr; }

 private:
  struct stream;
  result run(const char* data, size_t size, std::string& out);
  void release();

  stream* stream_ = nullptr;
  bool no_context_takeover_;
  size_t max_size_;
};

}  // namespace gyre::ws
