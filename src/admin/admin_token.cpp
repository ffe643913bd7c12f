// admin_token implementation; see admin_token.hpp.
#include "admin/admin_token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

#include "core/base64.hpp"

namespace gyre::admin {

namespace {

constexpr std::string_view version = "v1";

std::string mac_of(std::string_view secret, std::string_view issued) {
  std::string input = "gyre admin token v1|";
  input.append(issued);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(out), len));
}

}  // namespace

std::string issue_admin_token(std::string_view secret, int64_t now_unix) {
  std::string issued = std::to_string(now_unix);
  return std::string(version) + "." + issued + "." + mac_of(secret, issued);
}

bool verify_admin_token(std::string_view secret, std::string_view token, int64_t now_unix) {
  if (secret.empty() || token.size() > 256) return false;
  if (!token.starts_with(version) || token.size() <= version.size() || token[version.size()] != '.')
    return false;
  std::string_view rest = token.substr(version.size() + 1);
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 19) return false;
  std::string_view issued = rest.substr(0, dot);
  std::string_view mac = rest.substr(dot + 1);
  int64_t at = 0;
  auto [end, ec] = std::from_chars(issued.data(), issued.data() + issued.size(), at);
  if (ec != std::errc() || end != issued.data() + issued.size() || at < 0) return false;
  std::string want = mac_of(secret, issued);
  if (mac.size() != want.size() || CRYPTO_memcmp(mac.data(), want.data(), want.size()) != 0)
    return false;
  if (at > now_unix + 60) return false;
  return now_unix - at <= max_admin_token_age.count();
}

}  // namespace gyre::admin
