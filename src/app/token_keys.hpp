// token_keys: turns the `client.token` / `client.subscription_token` config blocks into
// token verifiers (and signers for the CLI), so that the server, gentoken and checktoken
// read the keys the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "auth/token_config.hpp"

namespace gyre {

namespace auth {
class token_verifier;
}
class node;
namespace config {
struct config;
struct token_config;
}  // namespace config

auth::token_config to_auth_config(const config::token_config& c, bool skip_signature_verify);
// The key block that signs/verifies subscription tokens.
const config::token_config& subscription_token_block(const config::config& cfg);

// Signs an HS256 test token with `block`'s HMAC key (CLI gentoken/gensubtoken, the admin
// token actions): claims sub (and user_id_claim), channel when not empty, info (raw JSON
// object) when not empty, iat = now_unix, exp when ttl > 0. False with `error` set when the
// block has no HMAC key.
bool sign_hmac_token(const config::token_config& block, const std::string& user,
                     const std::string& channel, const std::string& info, int64_t ttl,
                     int64_t now_unix, std::string& token, std::string& error);

namespace auth {
class jwks_cache;
}
// The key cache of a JWKS endpoint ("" = none), shared by every verifier of that endpoint
// in the process (kept across reloads that keep the endpoint).
std::shared_ptr<auth::jwks_cache> jwks_cache_for(const std::string& endpoint);

struct token_verifiers {
  std::shared_ptr<const auth::token_verifier> connection;
  std::shared_ptr<const auth::token_verifier> subscription;  // = connection unless separate
};

// Builds both verifiers from `cfg` into `out`. Returns an error naming the key, or "" on
// success.
std::string make_token_verifiers(const config::config& cfg, token_verifiers& out);

// The same, installed in `n` (start-up).
std::string install_token_verifiers(node& n, const config::config& cfg);

}  // namespace gyre
