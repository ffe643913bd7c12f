// WebSocket opening handshake; see ws_handshake.hpp.
#include "transport/ws_handshake.hpp"

#include <openssl/evp.h>

#include <string>

#include "core/base64.hpp"

namespace gyre::ws {

namespace {

// RFC 6455 §1.3: appended to the client key before hashing.
constexpr std::string_view accept_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Calls f(token) for each trimmed, non-empty element of a comma-separated list until f
// returns true; returns whether it did.
template <typename F>
bool any_token(std::string_view list, F&& f) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view token = trim(list.substr(0, comma));
    if (!token.empty() && f(token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool has_token_ci(std::string_view list, std::string_view token) {
  return any_token(list, [&](std::string_view t) { return iequals(t, token); });
}

std::string_view status_text(unsigned status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

}  // namespace

std::string_view describe(handshake_error e) {
  switch (e) {
    case handshake_error::none:
      return "ok";
    case handshake_error::bad_method:
      return "websocket upgrade requires GET";
    case handshake_error::bad_http_version:
      return "websocket upgrade requires HTTP/1.1";
    case handshake_error::no_upgrade:
      return "missing Upgrade: websocket";
    case handshake_error::no_connection_upgrade:
      return "missing Connection: upgrade";
    case handshake_error::no_version:
      return "missing Sec-WebSocket-Version";
    case handshake_error::bad_version:
      return "unsupported Sec-WebSocket-Version";
    case handshake_error::bad_key:
      return "invalid Sec-WebSocket-Key";
  }
  return "bad handshake";
}

unsigned http_status_for(handshake_error e) {
  switch (e) {
    case handshake_error::none:
      return 0;
    case handshake_error::bad_version:
      return 426;
    default:
      return 400;
  }
}

handshake_error validate_upgrade(const upgrade_request& req) {
  if (req.method != "GET") return handshake_error::bad_method;
  if (req.http_version < 11) return handshake_error::bad_http_version;
  if (!has_token_ci(req.upgrade, "websocket")) return handshake_error::no_upgrade;
  if (!has_token_ci(req.connection, "upgrade")) return handshake_error::no_connection_upgrade;
  std::string_view version = trim(req.version);
  if (version.empty()) return handshake_error::no_version;
  if (version != "13") return handshake_error::bad_version;
  std::string_view key = trim(req.key);
  if (key.size() != 24) return handshake_error::bad_key;  // base64 of 16 bytes, padded
  auto raw = base64_decode(key);
  if (!raw || raw->size() != 16) return handshake_error::bad_key;
  return handshake_error::none;
}

std::string compute_accept_key(std::string_view key) {
  key = trim(key);
  std::string input;
  input.reserve(key.size() + accept_guid.size());
  input.append(key).append(accept_guid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1 ||
      digest_len != 20)
    return {};
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), digest_len));
}

std::string_view select_subprotocol(std::string_view offered,
                                    std::span<const std::string_view> supported) {
  std::string_view chosen;
  any_token(offered, [&](std::string_view t) {
    for (std::string_view s : supported) {
      if (t == s) {
        chosen = s;
        return true;
      }
    }
    return false;
  });
  return chosen;
}

std::string render_switching_protocols(std::string_view accept_key, std::string_view subprotocol,
                                       std::string_view extensions) {
  std::string out;
  out.reserve(160);
  out.append(
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ");
  out.append(accept_key).append("\r\n");
  if (!subprotocol.empty())
    out.append("Sec-WebSocket-Protocol: ").append(subprotocol).append("\r\n");
  if (!extensions.empty())
    out.append("Sec-WebSocket-Extensions: ").append(extensions).append("\r\n");
  out.append("\r\n");
  return out;
}

std::string render_http_error(unsigned status, std::string_view body) {
  std::string out;
  out.reserve(200 + body.size());
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
  out.append(status_text(status)).append("\r\n");
  if (status == 426) {
    // RFC 9110 §15.5.22: a 426 names the protocol to upgrade to, listed in Connection.
    out.append(
        "Upgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Connection: Upgrade, close\r\n");
  } else {
    out.append("Connection: close\r\n");
  }
  out.append("Content-Type: text/plain; charset=utf-8\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out.append(body);
  return out;
}

std::string render_handshake_error(handshake_error e) {
  return render_http_error(http_status_for(e), describe(e));
}

}  // namespace gyre::ws
