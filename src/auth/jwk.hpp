// jwk: reads a JSON Web Key Set (RFC 7517), the document a `jwks_public_endpoint` serves,
// into the keys a token verifier may use (docs/tokens.md, "JWKS").
//
// Kept, as Centrifugo keeps them: keys with `"use": "sig"` and a `kid`, of `kty` "RSA"
// (members n, e) or "EC" (crv P-256 / P-384 / P-521, members x, y); an `alg`, when given,
// must be an algorithm of the key's family (RS256/384/512, or the ES* of the curve).
// Skipped, counted in `skipped` with the first reason: other uses, other key types (OKP /
// Ed25519 is not supported), keys without kid, keys whose members do not make a valid key.
// A document that is not a JSON object with a `keys` array is an error; so is a set with
// more than max_jwks_keys keys.
//
// What must hold: any bytes give a result or an error, never an exception.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/expected.hpp"
#include "auth/jwt.hpp"

namespace gyre::auth {

inline constexpr size_t max_jwks_keys = 256;

struct jwk {
  std::string kid;
  std::optional<jwt_alg> alg;  // the key's `alg`, if it names one
  public_key key;
};

struct jwk_set {
  std::vector<jwk> keys;
  size_t skipped = 0;
  std::string first_skip_reason;  // empty when nothing was skipped
};

expected<jwk_set, std::string> parse_jwk_set(std::string_view json);

// Whether a token signed with `alg` may be checked with `k` (its family, its curve, its
// own alg when it names one).
bool jwk_allows(const jwk& k, jwt_alg alg);

}  // namespace gyre::auth
