// WebSocket (RFC 6455) frame layer for the server side of a connection: an incremental
// frame parser and frame writers. No I/O and no buffers of its own: bytes in, events and
// bytes out. Beast's websocket::stream is not used because it costs ~3 KB per connection;
// this parser's whole per-connection state is sizeof(frame_parser) == 32 bytes.
//
// Parser contract (frame_parser::parse):
//   - The caller owns the read buffer and passes the bytes read so far as a mutable span.
//     The parser decodes every *complete* frame at the front of it, unmasks each payload
//     in place and reports one event per frame to the handler. Event payloads are views
//     into the caller's buffer, valid until the caller reuses or moves those bytes (that
//     is, only during the handler call unless the caller keeps the buffer intact).
//   - parse_result::consumed counts the bytes of the frames reported. The bytes from
//     `consumed` on are an incomplete frame (or unparsed bytes after a pause); the parser
//     never modifies them and keeps no pointer to them. The caller keeps that tail (moves
//     it to the front of its buffer or into a side buffer) and calls parse() again with the
//     tail followed by the new bytes. parse_result::need is the size the tail must reach
//     before the next call can make progress: the whole frame's size once its header is
//     known (at most max_frame_size()), else the size of the header so far known.
//     A caller can therefore size a side buffer only while a partial frame is pending.
//   - Every header check (masking, RSV bits, opcode, control-frame rules, fragmentation
//     order, the message size limit) runs as soon as the header bytes are present, before
//     the payload arrives: an oversized message fails with 1009 after 2-14 bytes.
//   - Unfragmented data frames arrive as one `message` event whose payload is the whole
//     message, zero-copy. A fragmented message arrives as `fragment` events (the first
//     carries text/binary, `fin` marks the last); the caller appends the pieces to its own
//     message buffer, since earlier pieces may have been overwritten by then. Control
//     frames (ping, pong, close) may arrive between fragments. The size limit applies to
//     the sum of the fragments; text is UTF-8-validated incrementally across fragments.
//   - A close frame is the last event: the parser then reports `closed` and consumes
//     nothing more. A protocol error stops parsing for good: parse_result::error names it
//     and close_code() gives the code to send (1002, 1007 or 1009); consumed stops at the
//     start of the offending frame.
//
// A session's read handler, in outline:
//   used_ += n;                                     // bytes just read into buf_
//   auto r = parser_.parse({buf_, used_}, [&](const ws::frame_event& e) { ... });
//   if (r.status == ws::parse_status::failed) close_with(r.close_code());
//   std::memmove(buf_, buf_ + r.consumed, used_ - r.consumed);  // keep the tail
//   used_ -= r.consumed;
//   if (r.need > capacity_) grow_to(r.need);      // only while a big frame is pending
//
// Threading: a frame_parser belongs to one connection and is used from its event loop
// only. The free functions are pure and thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/utf8.hpp"

namespace gyre::ws {

enum class opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// Close status codes (RFC 6455 §7.4.1) that the server sends or reports.
namespace close_code {
inline constexpr uint16_t normal = 1000;
inline constexpr uint16_t going_away = 1001;
inline constexpr uint16_t protocol_error = 1002;
inline constexpr uint16_t unsupported_data = 1003;
inline constexpr uint16_t no_status = 1005;  // never on the wire: "close frame had no body"
inline constexpr uint16_t abnormal = 1006;   // never on the wire: "no close frame at all"
inline constexpr uint16_t invalid_payload = 1007;
inline constexpr uint16_t policy_violation = 1008;
inline constexpr uint16_t message_too_big = 1009;
inline constexpr uint16_t internal_error = 1011;
}  // namespace close_code

// Incoming message limit: Centrifugo's default (client-protocol.md §1.2). Exceeding it
// closes with 1009, which the JS SDK treats as terminal, so keep it generous.
inline constexpr uint32_t default_max_message_size = 65536;
inline constexpr size_t max_control_payload = 125;
inline constexpr size_t max_close_reason = 123;       // 125 minus the 2-byte code
inline constexpr size_t max_server_header_size = 10;  // server frames are never masked
inline constexpr size_t max_client_header_size = 14;  // + 4-byte masking key
inline constexpr size_t max_close_frame_size = 2 + max_control_payload;
inline constexpr size_t max_control_frame_size = 2 + max_control_payload;

// Why the parser stopped. Each maps to the close code the server sends (close_code()).
enum class frame_error : uint8_t {
  none,
  unmasked_frame,           // 1002: client frames must be masked
  reserved_bits,            // 1002: RSV1-3 set, no extension was negotiated
  compressed_bit,           // 1002: RSV1 on a control or continuation frame (permessage-deflate)
  unknown_opcode,           // 1002
  fragmented_control,       // 1002: control frame without FIN
  control_too_long,         // 1002: control payload > 125 bytes
  bad_length,               // 1002: 64-bit length with the most significant bit set
  unexpected_continuation,  // 1002: continuation frame without a message in progress
  expected_continuation,    // 1002: new data frame while a fragmented message is open
  bad_close_payload,        // 1002: 1-byte close payload
  bad_close_code,           // 1002: close code that may not be sent (1005, 999, 5000, ...)
  message_too_big,          // 1009: message exceeds max_message_size
  invalid_utf8,             // 1007: text message is not UTF-8
  invalid_close_reason,     // 1007: close reason is not UTF-8
};

uint16_t close_code_for(frame_error e);
std::string_view describe(frame_error e);

enum class event_type : uint8_t {
  message,   // a whole data message in one frame
  fragment,  // one frame of a fragmented data message; `fin` on the last one
  ping,      // payload <= 125 bytes; answer with a pong carrying the same payload
  pong,
  close,  // `code` (no_status when the frame had no body) and `payload` = reason
};

struct frame_event {
  event_type type = event_type::message;
  opcode op = opcode::binary;  // message/fragment: text or binary (never continuation)
  bool fin = true;             // fragment: last piece of the message; true otherwise
  // message/fragment: the message is compressed (permessage-deflate, RSV1 on its first
  // frame): the payload is deflate data, not yet UTF-8-checked; the caller inflates it.
  bool compressed = false;
  uint16_t code = 0;         // close: received status code, validated
  std::string_view payload;  // unmasked, into the caller's buffer
};

enum class parse_status : uint8_t {
  need_more,  // all complete frames consumed; the tail (maybe empty) is a partial frame
  paused,     // the handler returned false; the tail is unparsed
  closed,     // a close frame was reported (now or earlier); bytes after it are ignored
  failed,     // protocol error; see `error`; the connection must be closed
};

struct parse_result {
  size_t consumed = 0;  // bytes of buf handled; buf[consumed..] belongs to the caller
  size_t need = 0;      // need_more: bytes the tail must reach (> tail size), 0 if no tail
  parse_status status = parse_status::need_more;
  frame_error error = frame_error::none;
  uint16_t close_code() const { return ws::close_code_for(error); }
};

class frame_parser {
 public:
  explicit frame_parser(uint32_t max_message_size = default_max_message_size)
      : max_message_size_(max_message_size) {}

  // Decodes the complete frames at the front of `buf` (see the contract at the top).
  // `on_event` is called as `on_event(const frame_event&)` once per frame, synchronously;
  // it may return bool, false pausing the parse after that frame. It must not call
  // parse() on the same parser.
  template <typename Handler>
  parse_result parse(std::span<char> buf, Handler&& on_event);

  // permessage-deflate was negotiated: RSV1 on the first frame of a data message marks
  // it compressed (ws_deflate.hpp); on any other frame it stays a protocol error.
  void allow_compression(bool on) { compression_ = on; }
  bool compression() const { return compression_; }

  // True between the first and the last fragment of a message.
  bool in_fragmented_message() const { return message_op_ != opcode::continuation; }
  bool closed() const { return state_ == state::closed; }
  bool failed() const { return state_ == state::failed; }
  uint32_t max_message_size() const { return max_message_size_; }
  // The largest frame that can be pending, so the largest `need`: a whole message or a
  // 125-byte control frame, plus the longest header.
  size_t max_frame_size() const {
    return (max_message_size_ > max_control_payload ? max_message_size_ : max_control_payload) +
           max_client_header_size;
  }

 private:
  enum class state : uint8_t { open, closed, failed };

  // Decodes the frame at the front of buf. Returns its size (> 0) with `ev` filled, or 0
  // with `need` set (incomplete) or with the parser failed.
  size_t decode(std::span<char> buf, frame_event& ev, size_t& need);
  size_t fail(frame_error e) {
    state_ = state::failed;
    error_ = e;
    return 0;
  }

  utf8_validator utf8_;  // fragmented text message: validation so far
  uint32_t max_message_size_;
  uint32_t message_size_ = 0;                 // fragmented message: payload bytes so far
  opcode message_op_ = opcode::continuation;  // fragmented message: text/binary, else none
  state state_ = state::open;
  frame_error error_ = frame_error::none;
  bool compression_ = false;
  bool message_compressed_ = false;  // fragmented message: its first frame had RSV1
};

template <typename Handler>
parse_result frame_parser::parse(std::span<char> buf, Handler&& on_event) {
  parse_result r;
  for (;;) {
    if (state_ == state::closed) {
      r.status = parse_status::closed;
      return r;
    }
    if (state_ == state::failed) {
      r.status = parse_status::failed;
      r.error = error_;
      return r;
    }
    if (r.consumed == buf.size()) return r;  // need_more, nothing pending
    frame_event ev;
    size_t need = 0;
    size_t n = decode(buf.subspan(r.consumed), ev, need);
    if (n == 0) {
      if (state_ != state::open) continue;  // failed: reported above
      r.need = need;
      return r;
    }
    r.consumed += n;
    if constexpr (std::is_same_v<std::invoke_result_t<Handler&, const frame_event&>, void>) {
      on_event(static_cast<const frame_event&>(ev));
    } else {
      if (!on_event(static_cast<const frame_event&>(ev)) && state_ == state::open) {
        r.status = parse_status::paused;
        return r;
      }
    }
  }
}

// --- Masking -------------------------------------------------------------------------

using masking_key = std::array<uint8_t, 4>;

// XORs data with the key, in place; `offset` is the position of data[0] in the payload
// (so a payload may be masked in pieces). Eight bytes at a time, alignment-safe.
void apply_mask(char* data, size_t size, masking_key key, size_t offset = 0);

// --- Close payloads ------------------------------------------------------------------

// May a peer send this code in a close frame? 1000-1003, 1007-1014 and 3000-4999 are
// valid; 1004-1006, 1015, 1016-2999, < 1000 and >= 5000 are not.
bool is_valid_close_code(uint16_t code);

struct close_info {
  uint16_t code = close_code::no_status;  // no_status for an empty payload
  std::string_view reason;
  frame_error error = frame_error::none;  // bad_close_payload/_code, invalid_close_reason
};

// Validates a received (unmasked) close payload: empty (1005 semantics), or a valid code
// followed by a UTF-8 reason. A 1-byte payload is invalid.
close_info parse_close_payload(std::string_view payload);

// The longest prefix of `s` of at most `max` bytes that does not split a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view s, size_t max);

// --- Server frames (never masked) ----------------------------------------------------

constexpr size_t frame_header_size(uint64_t payload_len) {
  return payload_len < 126 ? 2 : payload_len <= 0xFFFF ? 4 : 10;
}

// Writes the header of an unmasked frame to `out` (at least max_server_header_size
// bytes) and returns its size. The payload is written separately (the connection
// gather-writes [header][payload pieces...]), so only its length is needed. Lengths
// use the minimal encoding. For a fragmented message pass fin = false and, after the
// first frame, opcode::continuation.
size_t write_frame_header(char* out, opcode op, uint64_t payload_len, bool fin = true);

// Whole control frames into `out` (at least max_control_frame_size bytes); return size.
// The close body is the code and `reason` cut to 123 bytes on a character boundary;
// an invalid UTF-8 reason is dropped, and no_status (or 0) writes an empty body.
size_t write_close_frame(char* out, uint16_t code, std::string_view reason = {});
// Payloads longer than 125 bytes are a caller bug; they are cut to 125 bytes.
size_t write_ping_frame(char* out, std::string_view payload = {});
size_t write_pong_frame(char* out, std::string_view payload);

// --- Client frames (masked): for tests and the load-test client ----------------------

// Writes a complete masked frame: header, key, masked payload. `out` needs
// payload.size() + max_client_header_size bytes. Returns the frame size.
size_t write_client_frame(char* out, opcode op, std::string_view payload, masking_key key,
                          bool fin = true);
// Same, appended to a string.
void append_client_frame(std::string& out, opcode op, std::string_view payload, masking_key key,
                         bool fin = true);

}  // namespace gyre::ws
