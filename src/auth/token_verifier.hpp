// token_verifier: turns a connection or subscription JWT into typed claims (Centrifugo's
// `client.token` and `client.subscription_token` options). Verification order: split and
// decode the JWS, check the signature (alg chosen by the header, keys from token_config,
// previous HMAC key as a fallback), read the claims (a claim of the wrong JSON type makes
// the token invalid), then `exp` (expired iff exp <= now), `nbf` (invalid unless nbf < now),
// audience, issuer, and the token-kind rules (no `channel` in a connection token; a
// non-empty `channel` in a subscription token).
//
// What must hold:
//  * Raw JSON claims (info, data, meta and their per-channel variants) are the exact bytes of
//    the token's value, whitespace-trimmed; b64info/b64data (standard base64), when non-empty,
//    replace them with the decoded bytes. Empty = absent.
//  * A JSON null claim is treated as absent.
//  * audience_regex / issuer_regex are Go-syntax patterns compiled by go_regex
//    (core/go_regex.hpp), the compile config validation uses: what `checkconfig` accepts
//    the verifier accepts, and it matches the same values. The claims reader is fuzzed by
//    tests/fuzz/token_claims_fuzz.cpp, whole tokens by jwt_fuzz.cpp.
//  * The verifier is immutable after create(): verify_* are const and safe to call from any
//    thread concurrently. Reload (SIGHUP) builds a new verifier and swaps it in. A moved-from
//    verifier may only be assigned to or destroyed.
//  * With `jwks_public_endpoint` set, only the keys of that JSON Web Key Set verify (static
//    keys are not used), looked up by the token's `kid` in a jwks_cache that never waits for
//    the network: a key set not fetched yet (or being refreshed for an unknown kid) is an
//    `internal` error, which clients treat as temporary and retry; a kid the fresh set lacks
//    is `invalid`. {{placeholders}} of the endpoint are filled from the named groups of
//    issuer_regex / audience_regex matched against iss / aud, only in the path or query and
//    only with 1..64 of [A-Za-z0-9_-] (docs/tokens.md, "JWKS").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/expected.hpp"
#include "auth/token_config.hpp"
#include "auth/token_error.hpp"
#include "core/clock.hpp"

namespace gyre::auth {

class jwks_cache;

// `override` object of a subscription: each field is `{"value": bool}` in the token.
struct subscription_override {
  std::optional<bool> presence;
  std::optional<bool> join_leave;
  std::optional<bool> force_push_join_leave;
  std::optional<bool> force_recovery;
  std::optional<bool> force_positioning;

  friend bool operator==(const subscription_override&, const subscription_override&) = default;
};

// One entry of a connection token's `subs` object.
struct sub_options {
  std::string info;  // raw bytes (JSON value verbatim or decoded b64info); empty = absent
  std::string data;  // raw bytes (JSON value verbatim or decoded b64data); empty = absent
  subscription_override overrides;

  friend bool operator==(const sub_options&, const sub_options&) = default;
};

struct connection_claims {
  std::string user;  // from `sub`, or from the configured user_id_claim (stringified)
  std::optional<int64_t> exp;
  std::optional<int64_t> iat;
  std::optional<int64_t> nbf;
  std::string jti;
  // Present = overrides `exp` for the connection lifetime; 0 = never expire.
  std::optional<int64_t> expire_at;
  std::string info;  // raw bytes; empty = absent
  std::vector<std::string> channels;
  std::map<std::string, sub_options> subs;
  std::string meta;  // raw JSON bytes; empty = absent
};

struct subscription_claims {
  std::string channel;  // never empty
  std::string user;     // from `sub` or user_id_claim
  std::string client;   // deprecated `client` claim
  std::optional<int64_t> exp;
  std::optional<int64_t> iat;
  std::optional<int64_t> nbf;
  std::string jti;
  std::optional<int64_t> expire_at;  // present = overrides `exp`; 0 = never expire
  std::string info;                  // raw bytes; empty = absent
  std::string data;                  // raw bytes; empty = absent
  subscription_override overrides;
};

class token_verifier {
 public:
  // Validates `config` (PEM keys, audience/issuer exclusivity, regex syntax, user_id_claim
  // format). On error returns a message starting with the offending key, prefixed by
  // `key_prefix` (e.g. "client.token.rsa_public_key: no PEM block found").
  // `jwks`: where the keys of config.jwks_public_endpoint come from (the application's
  // fetcher); without it JWKS tokens fail with an internal error.
  static expected<token_verifier, std::string> create(const token_config& config,
                                                      std::string_view key_prefix = "client.token",
                                                      std::shared_ptr<jwks_cache> jwks = nullptr);

  token_verifier(token_verifier&&) noexcept;
  token_verifier& operator=(token_verifier&&) noexcept;
  ~token_verifier();

  token_result<connection_claims> verify_connection_token(std::string_view token,
                                                          int64_t now_unix) const;
  token_result<subscription_claims> verify_subscription_token(std::string_view token,
                                                              int64_t now_unix) const;

  token_result<connection_claims> verify_connection_token(std::string_view token,
                                                          const clock& c) const {
    return verify_connection_token(token, c.now_unix());
  }
  token_result<subscription_claims> verify_subscription_token(std::string_view token,
                                                              const clock& c) const {
    return verify_subscription_token(token, c.now_unix());
  }

  const token_config& config() const;

  struct impl;

 private:
  explicit token_verifier(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace gyre::auth
