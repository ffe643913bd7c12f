// WebSocket frame parser and writers; see ws_frame.hpp for the contract.
//
// Frame layout (RFC 6455 §5.2):
//   byte 0: FIN | RSV1 RSV2 RSV3 | opcode(4)
//   byte 1: MASK | len7   (len7 126: 16-bit length follows; 127: 64-bit length follows)
//   [extended length, big-endian] [masking key, 4 bytes if MASK] [payload]
#include "transport/ws_frame.hpp"

#include <bit>
#include <cassert>
#include <cstring>

namespace gyre::ws {

namespace {

constexpr uint8_t fin_bit = 0x80;
constexpr uint8_t rsv_bits = 0x70;
constexpr uint8_t opcode_bits = 0x0F;
constexpr uint8_t mask_bit = 0x80;
constexpr uint8_t len7_bits = 0x7F;

// Opcodes 0-2 (data) and 8-10 (control); 3-7 and 11-15 are reserved.
bool is_known_opcode(uint8_t op) {
  return (0x0707u >> op) & 1u;
}

bool is_control(uint8_t op) {
  return (op & 0x8) != 0;
}

uint64_t read_be(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Writes byte 0, the length bytes and (for clients) the mask bit. Returns the size.
size_t write_header(char* out, opcode op, uint64_t len, bool fin, bool masked) {
  const uint8_t mask = masked ? mask_bit : 0;
  out[0] = static_cast<char>((fin ? fin_bit : 0) | static_cast<uint8_t>(op));
  if (len < 126) {
    out[1] = static_cast<char>(mask | len);
    return 2;
  }
  if (len <= 0xFFFF) {
    out[1] = static_cast<char>(mask | 126);
    out[2] = static_cast<char>(len >> 8);
    out[3] = static_cast<char>(len);
    return 4;
  }
  out[1] = static_cast<char>(mask | 127);
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<char>(len >> (56 - 8 * i));
  return 10;
}

size_t write_control_frame(char* out, opcode op, std::string_view payload) {
  assert(payload.size() <= max_control_payload);
  if (payload.size() > max_control_payload) payload = payload.substr(0, max_control_payload);
  size_t n = write_header(out, op, payload.size(), true, false);
  if (!payload.empty()) std::memcpy(out + n, payload.data(), payload.size());
  return n + payload.size();
}

}  // namespace

uint16_t close_code_for(frame_error e) {
  switch (e) {
    case frame_error::none:
      return 0;
    case frame_error::message_too_big:
      return close_code::message_too_big;
    case frame_error::invalid_utf8:
    case frame_error::invalid_close_reason:
      return close_code::invalid_payload;
    default:
      return close_code::protocol_error;
  }
}

std::string_view describe(frame_error e) {
  switch (e) {
    case frame_error::none:
      return "no error";
    case frame_error::unmasked_frame:
      return "unmasked client frame";
    case frame_error::reserved_bits:
      return "reserved bits set";
    case frame_error::compressed_bit:
      return "compressed bit (RSV1) on a control or continuation frame";
    case frame_error::unknown_opcode:
      return "unknown opcode";
    case frame_error::fragmented_control:
      return "fragmented control frame";
    case frame_error::control_too_long:
      return "control frame payload over 125 bytes";
    case frame_error::bad_length:
      return "invalid 64-bit payload length";
    case frame_error::unexpected_continuation:
      return "continuation frame without a message";
    case frame_error::expected_continuation:
      return "data frame inside a fragmented message";
    case frame_error::bad_close_payload:
      return "1-byte close payload";
    case frame_error::bad_close_code:
      return "invalid close code";
    case frame_error::message_too_big:
      return "message too big";
    case frame_error::invalid_utf8:
      return "invalid UTF-8 in text message";
    case frame_error::invalid_close_reason:
      return "invalid UTF-8 in close reason";
  }
  return "unknown error";
}

// --- Parser ---------------------------------------------------------------------------

size_t frame_parser::decode(std::span<char> buf, frame_event& ev, size_t& need) {
  const size_t avail = buf.size();
  if (avail < 2) {
    need = 2;
    return 0;
  }
  const char* p = buf.data();
  const uint8_t b0 = static_cast<uint8_t>(p[0]);
  const uint8_t b1 = static_cast<uint8_t>(p[1]);
  const uint8_t op = b0 & opcode_bits;
  const bool fin = (b0 & fin_bit) != 0;
  const uint8_t len7 = b1 & len7_bits;

  // Everything decidable from the first two bytes.
  constexpr uint8_t rsv1_bit = 0x40;
  const bool rsv1 = (b0 & rsv1_bit) != 0;
  if ((b0 & rsv_bits & ~rsv1_bit) || (rsv1 && !compression_))
    return fail(frame_error::reserved_bits);
  if (!is_known_opcode(op)) return fail(frame_error::unknown_opcode);
  const bool control = is_control(op);
  if (rsv1 && (control || op == static_cast<uint8_t>(opcode::continuation)))
    return fail(frame_error::compressed_bit);
  if (control) {
    if (!fin) return fail(frame_error::fragmented_control);
    if (len7 > max_control_payload) return fail(frame_error::control_too_long);
    if (op == static_cast<uint8_t>(opcode::close) && len7 == 1)
      return fail(frame_error::bad_close_payload);
  } else if (op == static_cast<uint8_t>(opcode::continuation)) {
    if (!in_fragmented_message()) return fail(frame_error::unexpected_continuation);
  } else if (in_fragmented_message()) {
    return fail(frame_error::expected_continuation);
  }
  if (!(b1 & mask_bit)) return fail(frame_error::unmasked_frame);

  const size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  const size_t header = 2 + ext + 4;
  if (avail < header) {
    need = header;
    return 0;
  }
  uint64_t len = ext ? read_be(p + 2, ext) : len7;
  // Non-minimal encodings (126 + a length < 126, ...) are accepted, as parsers do in practice.
  if (len >> 63) return fail(frame_error::bad_length);
  if (!control && len > max_message_size_ - message_size_)
    return fail(frame_error::message_too_big);

  // len <= max_message_size_ (or 125), so this cannot overflow and `need` stays bounded.
  const size_t total = header + static_cast<size_t>(len);
  if (avail < total) {
    need = total;
    return 0;
  }

  // The frame is complete: only now touch its bytes, so an incomplete tail stays intact.
  masking_key key;
  std::memcpy(key.data(), p + 2 + ext, 4);
  char* payload = buf.data() + header;
  apply_mask(payload, static_cast<size_t>(len), key);
  std::string_view data(payload, static_cast<size_t>(len));
  // A payload that fails validation is masked back: bytes past `consumed` stay untouched
  // on every path.
  auto fail_payload = [&](frame_error e) {
    apply_mask(payload, static_cast<size_t>(len), key);
    return fail(e);
  };

  switch (static_cast<opcode>(op)) {
    case opcode::text:
    case opcode::binary:
      ev.op = static_cast<opcode>(op);
      ev.compressed = rsv1;
      if (fin) {
        if (ev.op == opcode::text && !rsv1 && !is_valid_utf8(data))
          return fail_payload(frame_error::invalid_utf8);
        ev.type = event_type::message;
      } else {
        message_compressed_ = rsv1;
        if (ev.op == opcode::text && !rsv1) {
          utf8_.reset();
          if (!utf8_.feed(data)) return fail_payload(frame_error::invalid_utf8);
        }
        message_op_ = ev.op;
        message_size_ = static_cast<uint32_t>(len);
        ev.type = event_type::fragment;
      }
      ev.fin = fin;
      break;
    case opcode::continuation:
      ev.op = message_op_;
      ev.compressed = message_compressed_;
      if (ev.op == opcode::text && !message_compressed_) {
        if (!utf8_.feed(data) || (fin && !utf8_.complete()))
          return fail_payload(frame_error::invalid_utf8);
      }
      if (fin) {
        message_op_ = opcode::continuation;
        message_size_ = 0;
      } else {
        message_size_ += static_cast<uint32_t>(len);
      }
      ev.type = event_type::fragment;
      ev.fin = fin;
      break;
    case opcode::ping:
      ev.type = event_type::ping;
      break;
    case opcode::pong:
      ev.type = event_type::pong;
      break;
    case opcode::close: {
      close_info ci = parse_close_payload(data);
      if (ci.error != frame_error::none) return fail_payload(ci.error);
      ev.type = event_type::close;
      ev.code = ci.code;
      data = ci.reason;
      state_ = state::closed;
      break;
    }
  }
  ev.payload = data;
  return total;
}

// --- Masking --------------------------------------------------------------------------

void apply_mask(char* data, size_t size, masking_key key, size_t offset) {
  // An 8-byte key whose first byte in memory applies to data[0]. Loading the 4 key bytes
  // with memcpy keeps memory order; rotating by whole bytes moves key[offset % 4] to the
  // lowest address (the least significant byte on little-endian machines).
  uint32_t k4;
  std::memcpy(&k4, key.data(), 4);
  if (const unsigned shift = 8 * static_cast<unsigned>(offset & 3)) {
    if constexpr (std::endian::native == std::endian::little)
      k4 = std::rotr(k4, static_cast<int>(shift));
    else
      k4 = std::rotl(k4, static_cast<int>(shift));
  }
  const uint64_t k8 = uint64_t{k4} << 32 | k4;
  size_t i = 0;
  // Four independent words per iteration; the compiler turns this into vector XORs.
  for (; i + 32 <= size; i += 32) {
    uint64_t w[4];
    std::memcpy(w, data + i, 32);
    w[0] ^= k8;
    w[1] ^= k8;
    w[2] ^= k8;
    w[3] ^= k8;
    std::memcpy(data + i, w, 32);
  }
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, data + i, 8);
    w ^= k8;
    std::memcpy(data + i, &w, 8);
  }
  if (i < size) {  // 1-7 bytes left; i is a multiple of 8, so the key phase is unchanged
    uint64_t w = 0;
    std::memcpy(&w, data + i, size - i);
    w ^= k8;
    std::memcpy(data + i, &w, size - i);
  }
}

// --- Close payloads -------------------------------------------------------------------

bool is_valid_close_code(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;  // registered (3xxx) and private (4xxx)
  switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014:  // IANA: service restart, try again later, bad gateway
      return true;
    default:  // 1004 reserved; 1005, 1006, 1015 are local-only; the rest is unassigned
      return false;
  }
}

close_info parse_close_payload(std::string_view payload) {
  close_info ci;
  if (payload.empty()) {  // no status code: 1005 semantics
    ci.reason = payload;  // empty, but still pointing into the frame
    return ci;
  }
  if (payload.size() == 1) {
    ci.error = frame_error::bad_close_payload;
    return ci;
  }
  ci.code = static_cast<uint16_t>(read_be(payload.data(), 2));
  if (!is_valid_close_code(ci.code)) {
    ci.error = frame_error::bad_close_code;
    return ci;
  }
  ci.reason = payload.substr(2);
  if (!is_valid_utf8(ci.reason)) ci.error = frame_error::invalid_close_reason;
  return ci;
}

std::string_view utf8_prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  // Back off continuation bytes: s[n] must start a character (at most 3 steps for UTF-8).
  for (int steps = 0; n > 0 && steps < 3 && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80; ++steps)
    --n;
  return s.substr(0, n);
}

// --- Writers --------------------------------------------------------------------------

size_t write_frame_header(char* out, opcode op, uint64_t payload_len, bool fin) {
  return write_header(out, op, payload_len, fin, false);
}

size_t write_close_frame(char* out, uint16_t code, std::string_view reason) {
  if (code == 0 || code == close_code::no_status)
    return write_control_frame(out, opcode::close, {});
  assert(is_valid_close_code(code));  // 1006, 1015, ... must never be sent
  reason = utf8_prefix(reason, max_close_reason);
  if (!is_valid_utf8(reason)) reason = {};
  char body[2 + max_close_reason];
  body[0] = static_cast<char>(code >> 8);
  body[1] = static_cast<char>(code);
  if (!reason.empty()) std::memcpy(body + 2, reason.data(), reason.size());
  return write_control_frame(out, opcode::close, std::string_view(body, 2 + reason.size()));
}

size_t write_ping_frame(char* out, std::string_view payload) {
  return write_control_frame(out, opcode::ping, payload);
}

size_t write_pong_frame(char* out, std::string_view payload) {
  return write_control_frame(out, opcode::pong, payload);
}

size_t write_client_frame(char* out, opcode op, std::string_view payload, masking_key key,
                          bool fin) {
  size_t n = write_header(out, op, payload.size(), fin, true);
  std::memcpy(out + n, key.data(), 4);
  n += 4;
  if (!payload.empty()) {
    std::memcpy(out + n, payload.data(), payload.size());
    apply_mask(out + n, payload.size(), key);
  }
  return n + payload.size();
}

void append_client_frame(std::string& out, opcode op, std::string_view payload, masking_key key,
                         bool fin) {
  const size_t old = out.size();
  out.resize(old + payload.size() + max_client_header_size);
  out.resize(old + write_client_frame(out.data() + old, op, payload, key, fin));
}

}  // namespace gyre::ws
