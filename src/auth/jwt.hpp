// Compact JWS (RFC 7515) parsing, signing and signature verification for the JWT algorithms
// Centrifugo accepts with static keys (`client.token.hmac_secret_key`, `rsa_public_key`,
// `ecdsa_public_key`): HS256/384/512, RS256/384/512, ES256/384/512. Claims are not interpreted here
// (see token_verifier.hpp).
//
// What must hold:
//  * `alg: none`, unknown algorithms and algorithms whose key type is not configured never
//    verify. The key type decides the algorithm family: an RSA public key is never used as an
//    HMAC secret (the classic RS/HS confusion attack), and an EC key only verifies the one
//    ES* algorithm matching its curve (P-256 -> ES256, P-384 -> ES384, P-521 -> ES512).
//  * HMAC signatures are compared in constant time.
//  * JWS ECDSA signatures are the raw big-endian r||s (RFC 7518 §3.4), not DER.
//  * No exceptions escape; malformed input of any size or content yields an error.
// Thread safety: public_key, private_key, jwt_keys and jwt_signer are immutable after
// creation and may be used from many threads at once. OpenSSL types stay inside jwt.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/expected.hpp"
#include "auth/token_error.hpp"

namespace gyre::auth {

enum class jwt_alg : uint8_t { hs256, hs384, hs512, rs256, rs384, rs512, es256, es384, es512 };

// "HS256" -> jwt_alg::hs256 etc.; nullopt for anything else (including "none").
std::optional<jwt_alg> jwt_alg_from_name(std::string_view name);
std::string_view jwt_alg_name(jwt_alg alg);
bool is_hmac(jwt_alg alg);
bool is_rsa(jwt_alg alg);
bool is_ecdsa(jwt_alg alg);

// Longest token accepted. Far above any real token (and above the default client message
// size), it only bounds the work and memory a hostile client can cause.
inline constexpr size_t max_jwt_size = 1 << 20;

// A compact JWS split and decoded, signature NOT yet verified.
struct jws_token {
  std::string header;         // decoded header JSON
  std::string payload;        // decoded payload JSON (the claims; not validated here)
  std::string signature;      // decoded signature bytes
  std::string signing_input;  // "<b64 header>.<b64 payload>", the bytes that were signed
  std::string alg;            // header "alg" as written (may be unknown or "none")
  std::string kid;            // header "kid", empty if absent
};

// Splits `token` into three base64url segments (no padding), decodes them and reads the
// header. Fails (invalid) on: wrong segment count, bad base64url, a header that is not a JSON
// object, a missing or non-string `alg`, a `crit` header (no extensions are understood), or
// a token longer than max_jwt_size. The payload is only required to be non-empty.
token_result<jws_token> parse_jws(std::string_view token);

// An RSA or EC public key read from PEM.
class public_key {
 public:
  enum class key_type : uint8_t { rsa, ec };

  // Accepts the first PEM block of `pem`, holding either a PKIX SubjectPublicKeyInfo
  // ("PUBLIC KEY") or an X.509 certificate (its key is used). EC keys must be on P-256,
  // P-384 or P-521. The error says what is wrong, e.g. "no PEM block found".
  static expected<public_key, std::string> from_pem(std::string_view pem);

  // A key from the members of a JSON Web Key (RFC 7518), already base64url-decoded: an
  // RSA modulus `n` and exponent `e` (big-endian, 2048..8192 bits, e at most 8 bytes), or an
  // EC point on `crv` "P-256" / "P-384" / "P-521" with coordinates `x` and `y` of exactly
  // the curve's size, checked to lie on the curve.
  static expected<public_key, std::string> from_rsa_components(std::string_view n,
                                                               std::string_view e);
  static expected<public_key, std::string> from_ec_point(std::string_view crv, std::string_view x,
                                                         std::string_view y);
  key_type type() const;
  // For EC keys, the single algorithm the curve allows; nullopt for RSA.
  std::optional<jwt_alg> ec_alg() const;

 private:
  struct impl;
  friend bool verify_signature(jwt_alg, const public_key&, std::string_view, std::string_view);
  friend struct key_adopter;
  explicit public_key(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}
  std::shared_ptr<const impl> impl_;  // shared: copies are cheap, the key is immutable
};

// An RSA or EC private key read from PEM (PKCS#8 "PRIVATE KEY" or the traditional
// "RSA PRIVATE KEY" / "EC PRIVATE KEY"), for signing tokens (CLI gentoken, tests).
class private_key {
 public:
  static expected<private_key, std::string> from_pem(std::string_view pem);

  public_key::key_type type() const;
  std::optional<jwt_alg> ec_alg() const;

 private:
  struct impl;
  friend class jwt_signer;
  explicit private_key(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}
  std::shared_ptr<const impl> impl_;
};

// Static verification keys; any subset may be configured. The token's `alg` picks the key.
struct jwt_keys {
  std::string hmac_secret;        // raw bytes of the configured string; empty = HS* disabled
  std::optional<public_key> rsa;  // enables RS256/384/512
  std::optional<public_key> ec;   // enables the one ES* of its curve
};

// Checks the signature of `token` with `keys`. Errors (all `invalid`) name the cause:
// "alg none is not allowed", "unknown JWT algorithm", "disabled JWT algorithm",
// "signature mismatch".
token_result<std::monostate> verify_jws(const jws_token& token, const jwt_keys& keys);

// Lower-level checks, true iff the signature is valid for that exact algorithm and key.
bool verify_hmac(jwt_alg alg, std::string_view secret, std::string_view signing_input,
                 std::string_view signature);
bool verify_signature(jwt_alg alg, const public_key& key, std::string_view signing_input,
                      std::string_view signature);

// Produces compact JWS tokens with header {"alg":..,"typ":"JWT"[,"kid":..]}.
class jwt_signer {
 public:
  // HS256/384/512 with the raw bytes of `secret` (must be non-empty).
  static expected<jwt_signer, std::string> hmac(jwt_alg alg, std::string secret);
  // RS* with an RSA key, or the ES* matching the EC key's curve.
  static expected<jwt_signer, std::string> with_key(jwt_alg alg, private_key key);

  // Signs `payload_json` verbatim (the caller provides a JSON object).
  expected<std::string, std::string> sign(std::string_view payload_json,
                                          std::string_view kid = {}) const;

  jwt_alg alg() const { return alg_; }

 private:
  jwt_signer(jwt_alg alg, std::string secret, std::optional<private_key> key)
      : alg_(alg), secret_(std::move(secret)), key_(std::move(key)) {}
  jwt_alg alg_;
  std::string secret_;
  std::optional<private_key> key_;
};

}  // namespace gyre::auth
