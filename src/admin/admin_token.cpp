// admin_token implementation (Centrifugo's securecookie format); see admin_token.hpp.
#include "admin/admin_token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

#include "core/base64.hpp"

namespace gyre::admin {

namespace {

constexpr std::string_view cookie_name = "token";
// gob's encoding of the top-level Go string "authorized": message length 13, type id of
// string (6, as a signed varint: 12), the 0 that precedes a non-struct value, the string
// length 10 and its bytes.
constexpr std::string_view gob_authorized{
    "\x0d\x0c\x00\x0a"
    "authorized",
    14};

std::string mac_of(std::string_view secret, std::string_view signed_part) {
  std::string input(cookie_name);
  input += '|';
  input.append(signed_part);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

// Go's base64.URLEncoding: the URL alphabet with padding.
std::string url_padded(std::string_view bytes) {
  std::string s = base64url_encode(bytes);
  while (s.size() % 4 != 0) s += '=';
  return s;
}

}  // namespace

std::string issue_admin_token(std::string_view secret, int64_t now_unix) {
  std::string signed_part = std::to_string(now_unix) + "|" + url_padded(gob_authorized);
  return url_padded(signed_part + "|" + mac_of(secret, signed_part));
}

bool verify_admin_token(std::string_view secret, std::string_view token, int64_t now_unix) {
  if (secret.empty() || token.empty() || token.size() > max_admin_token_size) return false;
  // Go's decoder wants the padding: a token without it is not Centrifugo's.
  if (token.size() % 4 != 0) return false;
  std::optional<std::string> raw = base64url_decode(token);
  if (!raw) return false;
  std::string_view b = *raw;
  // "issued|value|mac": the MAC is the rest after the second '|' (it may hold '|' bytes).
  size_t p1 = b.find('|');
  if (p1 == std::string_view::npos || p1 == 0 || p1 > 19) return false;
  size_t p2 = b.find('|', p1 + 1);
  if (p2 == std::string_view::npos) return false;
  std::string_view issued = b.substr(0, p1);
  std::string_view value = b.substr(p1 + 1, p2 - p1 - 1);
  std::string_view mac = b.substr(p2 + 1);
  std::string want = mac_of(secret, b.substr(0, p2));
  if (mac.size() != want.size() || CRYPTO_memcmp(mac.data(), want.data(), want.size()) != 0)
    return false;
  int64_t at = 0;
  auto [end, ec] = std::from_chars(issued.data(), issued.data() + issued.size(), at);
  if (ec != std::errc() || end != issued.data() + issued.size() || at < 0) return false;
  if (at > now_unix + 60) return false;
  if (now_unix - at > max_admin_token_age.count()) return false;
  std::optional<std::string> decoded = base64url_decode(value);
  return decoded && *decoded == gob_authorized;
}

}  // namespace gyre::admin
