// token_keys implementation; see token_keys.hpp.
#include "app/token_keys.hpp"

#include <map>
#include <mutex>

#include "app/jwks_http.hpp"
#include "auth/jwks_cache.hpp"
#include "auth/jwt.hpp"
#include "auth/token_verifier.hpp"
#include "config/config.hpp"
#include "core/json_writer.hpp"
#include "hub/node.hpp"

namespace gyre {

auth::token_config to_auth_config(const config::token_config& c, bool skip_signature_verify) {
  auth::token_config a;
  a.hmac_secret_key = c.hmac_secret_key_;
  a.hmac_previous_secret_key = c.hmac_previous_secret_key_;
  a.hmac_previous_secret_key_valid_until = c.hmac_previous_secret_key_valid_until_;
  a.rsa_public_key = c.rsa_public_key_;
  a.ecdsa_public_key = c.ecdsa_public_key_;
  a.audience = c.audience_;
  a.audience_regex = c.audience_regex_;
  a.issuer = c.issuer_;
  a.issuer_regex = c.issuer_regex_;
  a.user_id_claim = c.user_id_claim_;
  a.jwks_public_endpoint = c.jwks_public_endpoint_;
  a.insecure_skip_jwks_endpoint_safety_check = c.insecure_skip_jwks_endpoint_safety_check_;
  a.insecure_skip_token_signature_verify = skip_signature_verify;
  return a;
}

bool sign_hmac_token(const config::token_config& block, const std::string& user,
                     const std::string& channel, const std::string& info, int64_t ttl,
                     int64_t now_unix, std::string& token, std::string& error) {
  if (block.hmac_secret_key_.empty()) {
    error = "no HMAC secret key set in configuration (client.token.hmac_secret_key)";
    return false;
  }
  std::string payload;
  json_writer w(payload);
  w.begin_object().member("sub", user);
  if (!block.user_id_claim_.empty() && block.user_id_claim_ != "sub")
    w.member(block.user_id_claim_, user);
  if (!channel.empty()) w.member("channel", channel);
  if (!info.empty()) w.member_raw("info", info);
  w.member("iat", now_unix);
  if (ttl > 0) w.member("exp", now_unix + ttl);
  w.end_object();
  auto signer = auth::jwt_signer::hmac(auth::jwt_alg::hs256, block.hmac_secret_key_);
  if (!signer) {
    error = signer.error();
    return false;
  }
  auto signed_token = signer->sign(payload);
  if (!signed_token) {
    error = signed_token.error();
    return false;
  }
  token = std::move(signed_token.value());
  return true;
}

const config::token_config& subscription_token_block(const config::config& cfg) {
  if (cfg.client_.subscription_token_.enabled_) return cfg.client_.subscription_token_;
  return cfg.client_.token_;
}

std::shared_ptr<auth::jwks_cache> jwks_cache_for(const std::string& endpoint) {
  if (endpoint.empty()) return nullptr;
  // One cache per endpoint in the process: a reload that keeps the endpoint keeps its keys;
  // one that changes it starts a new cache (the old one ends with the last verifier).
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<auth::jwks_cache>> caches;
  std::lock_guard lock(mu);
  for (auto it = caches.begin(); it != caches.end();)
    it = it->second.expired() ? caches.erase(it) : std::next(it);
  if (auto c = caches[endpoint].lock()) return c;
  auto c = std::make_shared<auth::jwks_cache>(make_jwks_http_fetch());
  caches[endpoint] = c;
  return c;
}

std::string make_token_verifiers(const config::config& cfg, token_verifiers& out) {
  bool skip = cfg.client_.insecure_skip_token_signature_verify_;
  auto conn =
      auth::token_verifier::create(to_auth_config(cfg.client_.token_, skip), "client.token",
                                   jwks_cache_for(cfg.client_.token_.jwks_public_endpoint_));
  if (!conn) return conn.error();
  std::shared_ptr<const auth::token_verifier> sub;
  auto conn_ptr = std::make_shared<const auth::token_verifier>(std::move(conn.value()));
  if (cfg.client_.subscription_token_.enabled_) {
    auto s = auth::token_verifier::create(
        to_auth_config(cfg.client_.subscription_token_, skip), "client.subscription_token",
        jwks_cache_for(cfg.client_.subscription_token_.jwks_public_endpoint_));
    if (!s) return s.error();
    sub = std::make_shared<const auth::token_verifier>(std::move(s.value()));
  } else {
    sub = conn_ptr;
  }
  out.connection = std::move(conn_ptr);
  out.subscription = std::move(sub);
  return {};
}

std::string install_token_verifiers(node& n, const config::config& cfg) {
  token_verifiers v;
  if (std::string e = make_token_verifiers(cfg, v); !e.empty()) return e;
  n.set_verifiers(std::move(v.connection), std::move(v.subscription));
  return {};
}

}  // namespace gyre
