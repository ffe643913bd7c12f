// Test-only key material: RSA and EC key pairs generated at run time with OpenSSL (no keys
// are committed), PEM-encoded as private key (PKCS#8), PKIX public key and a self-signed
// X.509 certificate; plus a raw token builder for hand-crafted (malicious) tokens.
// Keys are generated once per process and cached.
#pragma once

#include <string>
#include <string_view>

namespace gyre::auth::test {

struct key_pems {
  std::string private_pem;
  std::string public_pem;
  std::string cert_pem;
};

const key_pems& rsa_2048();
const key_pems& rsa_other();                     // a second, unrelated RSA key
const key_pems& ec_key(std::string_view curve);  // "P-256", "P-384", "P-521", "secp256k1"

// HMAC-SHA256(key, data), raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

// b64url(header) "." b64url(payload) "." b64url(signature).
std::string raw_token(std::string_view header_json, std::string_view payload_json,
                      std::string_view signature);
// The "<b64 header>.<b64 payload>" part of raw_token().
std::string signing_input(std::string_view header_json, std::string_view payload_json);

}  // namespace gyre::auth::test
