// server_frames: the client side of the WebSocket frame layer for gyre-bench. It reads the
// frames a server sends (RFC 6455 §5.1: never masked) as a byte stream, piece by piece,
// without ever holding a whole frame: the load tool reads 64 KB at a time from thousands
// of sockets, and Gyre coalesces up to 1 MB of pushes into one frame, so buffering whole
// frames per connection would cost up to a megabyte each.
//
// server_frame_reader::feed(bytes, sink) decodes what it can and calls, in stream order:
//   sink.on_data(const char* p, size_t n)  payload bytes of data frames (text, binary,
//                                          continuation), in as many pieces as they arrive
//   sink.on_message_end()                   after the last byte of a message (FIN frame)
//   sink.on_control(opcode, payload)        ping / pong / close, whole (<= 125 bytes)
// Its whole state is the partial header (<= 10 bytes), the partial control payload
// (<= 125 bytes) and two counters. A masked frame, a reserved opcode or RSV bit, or a
// control frame over 125 bytes stops the reader for good (error()).
//
// (The server's own ws::frame_parser in src/transport requires masked frames and whole
// frames in one buffer, which is right for a server and wrong for this client.)
//
// Threading: one reader per connection, used by the thread that owns the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace gyre::bench {

enum class ws_op : uint8_t {
  continuation = 0,
  text = 1,
  binary = 2,
  close = 8,
  ping = 9,
  pong = 10
};

enum class frame_read_error : uint8_t {
  none,
  masked,
  reserved_bits,
  bad_opcode,
  control_too_long,
  bad_length
};

class server_frame_reader {
 public:
  // Returns false once the stream is invalid (see error()); bytes after the error are
  // not examined.
  template <typename Sink>
  bool feed(const char* p, size_t n, Sink& sink) {
    if (error_ != frame_read_error::none) return false;
    const char* end = p + n;
    while (p < end) {
      if (!in_payload_) {
        // Header: parse in place when the whole header is here, else gather it.
        size_t avail = static_cast<size_t>(end - p);
        if (hdr_have_ == 0 && avail >= 2) {
          size_t hl = header_length(static_cast<uint8_t>(p[1]));
          if (avail >= hl) {
            if (!start_frame(reinterpret_cast<const uint8_t*>(p), hl, sink)) return false;
            p += hl;
            continue;
          }
        }
        hdr_[hdr_have_++] = static_cast<uint8_t>(*p++);
        if (hdr_have_ >= 2 && hdr_have_ == header_length(hdr_[1])) {
          uint8_t hl = hdr_have_;
          hdr_have_ = 0;
          if (!start_frame(hdr_, hl, sink)) return false;
        }
        continue;
      }
      size_t take = static_cast<size_t>(end - p);
      if (take > left_) take = static_cast<size_t>(left_);
      if (control_) {
        std::memcpy(ctl_ + ctl_have_, p, take);
        ctl_have_ = static_cast<uint8_t>(ctl_have_ + take);
      } else {
        sink.on_data(p, take);
      }
      p += take;
      left_ -= take;
      if (left_ == 0) finish_frame(sink);
    }
    return true;
  }

  frame_read_error error() const { return error_; }
  // permessage-deflate was negotiated: RSV1 on a message's first frame marks it
  // compressed (compressed() is then true until its last frame ends).
  void allow_compression(bool on) { allow_rsv1_ = on; }
  bool compressed() const { return compressed_; }
  // True between frames (no partial header or payload pending).
  bool at_frame_boundary() const { return !in_payload_ && hdr_have_ == 0; }

 private:
  static size_t header_length(uint8_t b1) {
    uint8_t len7 = b1 & 0x7F;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
  }

  template <typename Sink>
  bool start_frame(const uint8_t* h, size_t hl, Sink& sink) {
    const uint8_t b0 = h[0], b1 = h[1];
    if (b1 & 0x80) return fail(frame_read_error::masked);
    if (b0 & (allow_rsv1_ ? 0x30 : 0x70)) return fail(frame_read_error::reserved_bits);
    const uint8_t op = b0 & 0x0F;
    if (op == 1 || op == 2) compressed_ = (b0 & 0x40) != 0;
    if (!((0x0707u >> op) & 1u)) return fail(frame_read_error::bad_opcode);
    uint64_t len = b1 & 0x7F;
    if (len == 126) {
      len = (uint64_t{h[2]} << 8) | h[3];
    } else if (len == 127) {
      len = 0;
      for (size_t i = 0; i < 8; ++i) len = (len << 8) | h[2 + i];
      if (len >> 63) return fail(frame_read_error::bad_length);
    }
    (void)hl;
    fin_ = (b0 & 0x80) != 0;
    control_ = (op & 0x8) != 0;
    if (control_) {
      if (len > 125 || !fin_) return fail(frame_read_error::control_too_long);
      ctl_op_ = static_cast<ws_op>(op);
      ctl_have_ = 0;
    }
    left_ = len;
    in_payload_ = true;
    if (len == 0) finish_frame(sink);
    return true;
  }

  template <typename Sink>
  void finish_frame(Sink& sink) {
    in_payload_ = false;
    if (control_) {
      sink.on_control(ctl_op_, std::string_view(ctl_, ctl_have_));
      ctl_have_ = 0;
    } else if (fin_) {
      sink.on_message_end();
    }
  }

  bool fail(frame_read_error e) {
    error_ = e;
    return false;
  }

  uint64_t left_ = 0;  // payload bytes of the current frame still to come
  uint8_t hdr_[14];
  uint8_t hdr_have_ = 0;
  bool in_payload_ = false;
  bool fin_ = false;
  bool control_ = false;
  bool allow_rsv1_ = false;
  bool compressed_ = false;
  ws_op ctl_op_ = ws_op::ping;
  frame_read_error error_ = frame_read_error::none;
  uint8_t ctl_have_ = 0;
  char ctl_[125];
};

}  // namespace gyre::bench
