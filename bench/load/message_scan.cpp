// message_scan: classification, reply parsing and command encoding; see message_scan.hpp.
#include "load/message_scan.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>

namespace gyre::bench {

namespace {

// Parses the unsigned decimal at s[pos...]; false if there is none.
bool parse_uint(std::string_view s, size_t pos, uint64_t& v) {
  v = 0;
  size_t i = pos;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - pos < 19)
    v = v * 10 + static_cast<uint64_t>(s[i++] - '0');
  return i > pos;
}

// Protobuf field reader over a message: next field's number, wire type and value.
struct pb_reader {
  const uint8_t* p;
  const uint8_t* end;

  bool varint(uint64_t& v) {
    v = 0;
    for (unsigned s = 0; s < 64 && p < end; s += 7) {
      uint8_t b = *p++;
      v |= uint64_t(b & 0x7F) << s;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  // Returns false at the end or on malformed input.
  bool next(uint32_t& field, uint64_t& v, std::string_view& bytes, uint32_t& wire) {
    if (p >= end) return false;
    uint64_t tag;
    if (!varint(tag)) return false;
    field = static_cast<uint32_t>(tag >> 3);
    wire = static_cast<uint32_t>(tag & 7);
    switch (wire) {
      case 0:
        return varint(v);
      case 1:
        if (end - p < 8) return false;
        p += 8;
        return true;
      case 2: {
        uint64_t len;
        if (!varint(len) || len > static_cast<uint64_t>(end - p)) return false;
        bytes = std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
        p += len;
        return true;
      }
      case 5:
        if (end - p < 4) return false;
        p += 4;
        return true;
      default:
        return false;
    }
  }
};

pb_reader reader_of(std::string_view s) {
  auto* b = reinterpret_cast<const uint8_t*>(s.data());
  return pb_reader{b, b + s.size()};
}

void append_tag(std::string& out, uint32_t field, uint32_t wire) {
  append_varint(out, (uint64_t{field} << 3) | wire);
}

void append_bytes_field(std::string& out, uint32_t field, std::string_view v) {
  append_tag(out, field, 2);
  append_varint(out, v.size());
  out.append(v);
}

// Frames a Command {1: id, <field>: body} with its varint length.
void append_proto_command(std::string& out, uint32_t id, uint32_t field, std::string_view body) {
  std::string cmd;
  append_tag(cmd, 1, 0);
  append_varint(cmd, id);
  append_bytes_field(cmd, field, body);
  append_varint(out, cmd.size());
  out += cmd;
}

}  // namespace

msg_kind classify_json_line(std::string_view line) {
  if (line.starts_with("{\"push\":")) return msg_kind::push;
  if (line == "{}") return msg_kind::ping;
  if (line.starts_with("{\"id\":") || line.starts_with("{\"error\":")) return msg_kind::reply;
  return msg_kind::other;
}

msg_kind classify_proto_message(std::string_view msg) {
  if (msg.empty()) return msg_kind::ping;
  uint8_t b = static_cast<uint8_t>(msg[0]);
  if (b == 0x22) return msg_kind::push;
  if (b == 0x08 || b == 0x12) return msg_kind::reply;
  return msg_kind::other;
}

bool parse_json_reply(std::string_view line, reply_info& out) {
  out = reply_info{};
  uint64_t v = 0;
  if (line.starts_with("{\"id\":")) {
    if (!parse_uint(line, 6, v)) return false;
    out.id = static_cast<uint32_t>(v);
  }
  if (size_t e = line.find("\"error\":{\"code\":"); e != std::string_view::npos) {
    out.error = true;
    if (parse_uint(line, e + 16, v)) out.error_code = static_cast<uint32_t>(v);
    return true;
  }
  if (size_t c = line.find("\"connect\":{"); c != std::string_view::npos) {
    if (size_t pi = line.find("\"ping\":", c);
        pi != std::string_view::npos && parse_uint(line, pi + 7, v))
      out.ping = static_cast<uint32_t>(v);
    out.pong = line.find("\"pong\":true", c) != std::string_view::npos;
  }
  return true;
}

bool parse_proto_reply(std::string_view msg, reply_info& out) {
  out = reply_info{};
  pb_reader r = reader_of(msg);
  uint32_t field, wire;
  uint64_t v;
  std::string_view bytes;
  while (r.next(field, v, bytes, wire)) {
    if (field == 1 && wire == 0) {
      out.id = static_cast<uint32_t>(v);
    } else if (field == 2 && wire == 2) {  // Error {1: code}
      out.error = true;
      pb_reader er = reader_of(bytes);
      uint32_t f2, w2;
      uint64_t v2;
      std::string_view b2;
      while (er.next(f2, v2, b2, w2))
        if (f2 == 1 && w2 == 0) out.error_code = static_cast<uint32_t>(v2);
    } else if (field == 5 && wire == 2) {  // ConnectResult {7: ping, 8: pong}
      pb_reader cr = reader_of(bytes);
      uint32_t f2, w2;
      uint64_t v2;
      std::string_view b2;
      while (cr.next(f2, v2, b2, w2)) {
        if (f2 == 7 && w2 == 0) out.ping = static_cast<uint32_t>(v2);
        if (f2 == 8 && w2 == 0) out.pong = v2 != 0;
      }
    }
  }
  return r.p == r.end;
}

bool find_timestamp(std::string_view payload, uint64_t& ts) {
  size_t i = payload.find("\"ts\":");
  if (i == std::string_view::npos) return false;
  return parse_uint(payload, i + 5, ts);
}

void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void json_connect(std::string& out, uint32_t id, std::string_view token) {
  out += "{\"id\":";
  out += std::to_string(id);
  out += ",\"connect\":{";
  if (!token.empty()) {
    out += "\"token\":\"";
    out += token;  // base64url and dots: nothing to escape
    out += "\",";
  }
  out += "\"name\":\"gyre-bench\"}}";
}

void json_subscribe(std::string& out, uint32_t id, std::string_view channel) {
  out += "{\"id\":";
  out += std::to_string(id);
  out += ",\"subscribe\":{\"channel\":\"";
  out += channel;  // the tool's channel names need no escaping
  out += "\"}}";
}

void json_publish(std::string& out, uint32_t id, std::string_view channel, std::string_view data) {
  out += "{\"id\":";
  out += std::to_string(id);
  out += ",\"publish\":{\"channel\":\"";
  out += channel;
  out += "\",\"data\":";
  out += data;
  out += "}}";
}

void proto_connect(std::string& out, uint32_t id, std::string_view token) {
  std::string req;
  if (!token.empty()) append_bytes_field(req, 1, token);
  append_bytes_field(req, 4, "gyre-bench");
  append_proto_command(out, id, 4, req);
}

void proto_subscribe(std::string& out, uint32_t id, std::string_view channel) {
  std::string req;
  append_bytes_field(req, 1, channel);
  append_proto_command(out, id, 5, req);
}

void proto_publish(std::string& out, uint32_t id, std::string_view channel, std::string_view data) {
  std::string req;
  append_bytes_field(req, 1, channel);
  append_bytes_field(req, 2, data);
  append_proto_command(out, id, 7, req);
}

void make_payload(std::string& out, uint64_t ts_us, uint64_t seq, size_t size) {
  char head[64];
  int n =
      std::snprintf(head, sizeof head, "{\"ts\":%llu,\"seq\":%llu,\"pad\":\"",
                    static_cast<unsigned long long>(ts_us), static_cast<unsigned long long>(seq));
  out.assign(head, static_cast<size_t>(n));
  size_t fixed = out.size() + 2;  // closing "}
  if (size > fixed) out.append(size - fixed, 'x');
  out += "\"}";
}

std::string base64url(std::string_view bytes) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto u = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = u(i) << 16 | u(i + 1) << 8 | u(i + 2);
    out += abc[v >> 18];
    out += abc[(v >> 12) & 63];
    out += abc[(v >> 6) & 63];
    out += abc[v & 63];
  }
  if (bytes.size() - i == 1) {
    uint32_t v = u(i) << 16;
    out += abc[v >> 18];
    out += abc[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    uint32_t v = u(i) << 16 | u(i + 1) << 8;
    out += abc[v >> 18];
    out += abc[(v >> 12) & 63];
    out += abc[(v >> 6) & 63];
  }
  return out;
}

std::string make_hs256_token(std::string_view secret, std::string_view user, int64_t exp) {
  std::string claims = "{\"sub\":\"" + std::string(user) + "\"";
  if (exp > 0) claims += ",\"exp\":" + std::to_string(exp);
  claims += "}";
  std::string signing_input =
      base64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + base64url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &mac_len);
  return signing_input + "." +
         base64url(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

}  // namespace gyre::bench
