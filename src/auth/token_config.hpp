// Settings of one token verifier: mirrors the `client.token` block (and, with the same keys,
// `client.subscription_token`) of the config (docs/config.md), plus the top-level client flag
// `client.insecure_skip_token_signature_verify`. Plain data: validation happens in
// token_verifier::create(), which names the offending key on error.
#pragma once

#include <cstdint>
#include <string>

namespace gyre::auth {

struct token_config {
  std::string hmac_secret_key;                       // raw bytes; empty = HS* disabled
  std::string hmac_previous_secret_key;              // accepted for HS* after the current key fails
  int64_t hmac_previous_secret_key_valid_until = 0;  // unix seconds; 0 = no deadline
  std::string rsa_public_key;    // PEM: PKIX "PUBLIC KEY" or X.509 certificate; enables RS*
  std::string ecdsa_public_key;  // PEM: PKIX or certificate; enables the ES* of its curve
  std::string audience;          // `aud` must contain it
  std::string audience_regex;    // some `aud` must match it (anywhere, as Go's MatchString; anchor
                                 // with ^$) (not with `audience`)
  std::string issuer;            // `iss` must equal it
  std::string issuer_regex;   // `iss` must match it (anywhere, as Go's MatchString; anchor with ^$)
                              // (not with `issuer`)
  std::string user_id_claim;  // take the user from this claim instead of `sub`; ^[a-zA-Z_]+$
  std::string jwks_public_endpoint;  // stored; JWKS verification is not implemented yet
  bool insecure_skip_jwks_endpoint_safety_check = false;  // stored for JWKS; unused now
  bool insecure_skip_token_signature_verify = false;      // testing only: claims still checked

  friend bool operator==(const token_config&, const token_config&) = default;
};

}  // namespace gyre::auth
