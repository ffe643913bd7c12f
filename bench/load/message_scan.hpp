// message_scan: how gyre-bench finds and counts protocol messages in the payload stream of
// a WebSocket connection, without decoding them (client-protocol.md §1.3):
//   - JSON: every Reply is one line; the server ends each with '\n'. A line starting with
//     {"push": is a push, {} is a server ping, {"id": is a reply to a command.
//   - Protobuf: every Reply is prefixed with its length as a varint. A Reply whose first
//     byte is 0x22 (field 4, push) is a push, an empty one is a ping, 0x08 (field 1, id)
//     starts a reply to a command.
//   - Raw (Nchan): every data message is one message.
// Splitters hand each message to a callback as a view into the read buffer when it lies
// within one read, and copy it into a per-connection carry string only when it straddles
// two reads; the carry keeps its capacity, so the receive path allocates nothing once the
// carry has grown to the longest message seen. Only sampled pushes are parsed (for the
// publish timestamp they carry), and replies (rare: connect, subscribe, publish).
//
// Also the command encoders the tool needs (connect, subscribe, publish, pong) for both
// encodings, and the HS256 token maker.
//
// Threading: splitters belong to one connection; the free functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace gyre::bench {

// Longest message a splitter will gather (a bigger one is a protocol error for the tool).
inline constexpr size_t max_carry = 16u << 20;

enum class msg_kind : uint8_t { push, ping, reply, other };

struct reply_info {
  uint32_t id = 0;
  bool error = false;
  uint32_t error_code = 0;
  uint32_t ping = 0;  // connect result: server ping interval, seconds
  bool pong = false;  // connect result: the client must answer pings
};

msg_kind classify_json_line(std::string_view line);
msg_kind classify_proto_message(std::string_view msg);
bool parse_json_reply(std::string_view line, reply_info& out);
bool parse_proto_reply(std::string_view msg, reply_info& out);
// Finds "ts":<digits> in a payload (the publish timestamp, microseconds).
bool find_timestamp(std::string_view payload, uint64_t& ts);

// ---- splitters -----------------------------------------------------------------------

class json_line_splitter {
 public:
  // on_line(std::string_view line) without the '\n'. Returns false on overflow.
  template <typename F>
  bool feed(const char* p, size_t n, F&& on_line) {
    const char* end = p + n;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      if (!nl) {
        if (carry_.size() + static_cast<size_t>(end - p) > max_carry) return false;
        carry_.append(p, end);
        return true;
      }
      if (carry_.empty()) {
        on_line(std::string_view(p, static_cast<size_t>(nl - p)));
      } else {
        carry_.append(p, nl);
        on_line(std::string_view(carry_));
        carry_.clear();
      }
      p = nl + 1;
    }
    return true;
  }
  // End of a WebSocket message: a last line without '\n' is complete too.
  template <typename F>
  void end_message(F&& on_line) {
    if (!carry_.empty()) {
      on_line(std::string_view(carry_));
      carry_.clear();
    }
  }
  void reset() { carry_.clear(); }

 private:
  std::string carry_;
};

class varint_splitter {
 public:
  // on_message(std::string_view msg). Returns false on a malformed or oversized length.
  template <typename F>
  bool feed(const char* p, size_t n, F&& on_message) {
    const char* end = p + n;
    while (p < end) {
      if (in_body_) {
        size_t take = static_cast<size_t>(end - p);
        if (take > body_left_) take = static_cast<size_t>(body_left_);
        carry_.append(p, take);
        p += take;
        body_left_ -= take;
        if (body_left_ == 0) {
          in_body_ = false;
          on_message(std::string_view(carry_));
          carry_.clear();
        }
        continue;
      }
      if (shift_ == 0) {
        // Fast path: a whole length and body within this piece, used in place.
        uint64_t len = 0;
        unsigned s = 0;
        const char* q = p;
        bool done = false;
        while (q < end && s < 64) {
          uint8_t b = static_cast<uint8_t>(*q++);
          len |= uint64_t(b & 0x7F) << s;
          s += 7;
          if (!(b & 0x80)) {
            done = true;
            break;
          }
        }
        if (done && len <= static_cast<uint64_t>(end - q)) {
          on_message(std::string_view(q, static_cast<size_t>(len)));
          p = q + len;
          continue;
        }
      }
      // Slow path: one length byte at a time, then gather the body.
      uint8_t b = static_cast<uint8_t>(*p++);
      len_ |= uint64_t(b & 0x7F) << shift_;
      shift_ += 7;
      if (b & 0x80) {
        if (shift_ >= 64) return false;
        continue;
      }
      shift_ = 0;
      if (len_ > max_carry) return false;
      body_left_ = len_;
      len_ = 0;
      if (body_left_ == 0) {
        on_message(std::string_view());
      } else {
        in_body_ = true;
        carry_.clear();
      }
    }
    return true;
  }
  // End of a WebSocket message: a message must not continue into the next one.
  bool end_message() { return !in_body_ && shift_ == 0; }
  void reset() {
    carry_.clear();
    in_body_ = false;
    shift_ = 0;
    len_ = 0;
    body_left_ = 0;
  }

 private:
  std::string carry_;
  uint64_t len_ = 0;
  uint64_t body_left_ = 0;
  unsigned shift_ = 0;
  bool in_body_ = false;
};

// Raw mode: every data message counts; its first bytes are kept for the timestamp.
class raw_message_head {
 public:
  void feed(const char* p, size_t n) {
    size_t take = n < sizeof head_ - have_ ? n : sizeof head_ - have_;
    std::memcpy(head_ + have_, p, take);
    have_ += take;
  }
  std::string_view head() const { return std::string_view(head_, have_); }
  void reset() { have_ = 0; }

 private:
  char head_[48];
  size_t have_ = 0;
};

// ---- command encoders ----------------------------------------------------------------
// Each appends one complete command framed for its encoding (JSON: the object; a '\n' is
// added between commands by the caller; Protobuf: varint length + Command).

void append_varint(std::string& out, uint64_t v);
void json_connect(std::string& out, uint32_t id, std::string_view token);
void json_subscribe(std::string& out, uint32_t id, std::string_view channel);
void json_publish(std::string& out, uint32_t id, std::string_view channel, std::string_view data);
void proto_connect(std::string& out, uint32_t id, std::string_view token);
void proto_subscribe(std::string& out, uint32_t id, std::string_view channel);
void proto_publish(std::string& out, uint32_t id, std::string_view channel, std::string_view data);

// The publication payload: {"ts":<us>,"seq":<n>,"pad":"xxx"} padded to `size` bytes
// (never shorter than the fields it must carry). Overwrites `out`.
void make_payload(std::string& out, uint64_t ts_us, uint64_t seq, size_t size);

// An HS256 JWT with claims {"sub": user, "exp": exp} (exp 0 = none).
std::string make_hs256_token(std::string_view secret, std::string_view user, int64_t exp);
std::string base64url(std::string_view bytes);

}  // namespace gyre::bench
