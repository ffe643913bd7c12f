// JSON Web Key Set reading; see jwk.hpp.
#include "auth/jwk.hpp"

#include <simdjson.h>

#include "core/base64.hpp"

namespace gyre::auth {

namespace {

// A string member, or nullopt when absent or not a string.
std::optional<std::string_view> str(simdjson::dom::object o, std::string_view name) {
  std::string_view v;
  if (o[name].get_string().get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

// A base64url member (JWK members have no padding; tolerated when present).
std::optional<std::string> bytes(simdjson::dom::object o, std::string_view name) {
  auto v = str(o, name);
  if (!v) return std::nullopt;
  return base64url_decode(*v);
}

expected<jwk, std::string> read_key(simdjson::dom::object o) {
  auto use = str(o, "use");
  if (!use || *use != "sig") return unexpected{std::string("use is not \"sig\"")};
  auto kid = str(o, "kid");
  if (!kid || kid->empty()) return unexpected{std::string("no kid")};
  auto kty = str(o, "kty");
  if (!kty) return unexpected{std::string("no kty")};
  expected<public_key, std::string> key = unexpected{std::string()};
  if (*kty == "RSA") {
    auto n = bytes(o, "n");
    auto e = bytes(o, "e");
    if (!n || !e) return unexpected{std::string("RSA key without base64url n and e")};
    key = public_key::from_rsa_components(*n, *e);
  } else if (*kty == "EC") {
    auto crv = str(o, "crv");
    auto x = bytes(o, "x");
    auto y = bytes(o, "y");
    if (!crv || !x || !y) return unexpected{std::string("EC key without crv, x and y")};
    key = public_key::from_ec_point(*crv, *x, *y);
  } else {
    return unexpected{"unsupported kty \"" + std::string(kty->substr(0, 16)) + "\""};
  }
  if (!key) return unexpected{key.error()};
  jwk k{std::string(*kid), std::nullopt, std::move(*key)};
  if (auto alg = str(o, "alg")) {
    k.alg = jwt_alg_from_name(*alg);
    if (!k.alg || is_hmac(*k.alg) ||
        (is_rsa(*k.alg) != (k.key.type() == public_key::key_type::rsa)) ||
        (is_ecdsa(*k.alg) && k.key.ec_alg() != k.alg))
      return unexpected{"alg \"" + std::string(alg->substr(0, 16)) + "\" does not fit the key"};
  }
  return k;
}

}  // namespace

expected<jwk_set, std::string> parse_jwk_set(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string doc(json);
  simdjson::dom::object root;
  if (parser.parse(doc).get_object().get(root) != simdjson::SUCCESS)
    return unexpected{std::string("not a JSON object")};
  simdjson::dom::array keys;
  if (root["keys"].get_array().get(keys) != simdjson::SUCCESS)
    return unexpected{std::string("no \"keys\" array")};
  if (keys.size() > max_jwks_keys)
    return unexpected{"more than " + std::to_string(max_jwks_keys) + " keys"};
  jwk_set set;
  for (simdjson::dom::element e : keys) {
    simdjson::dom::object o;
    expected<jwk, std::string> k = unexpected{std::string("a key is not a JSON object")};
    if (e.get_object().get(o) == simdjson::SUCCESS) k = read_key(o);
    if (k) {
      set.keys.push_back(std::move(*k));
    } else {
      if (set.skipped++ == 0) set.first_skip_reason = k.error();
    }
  }
  return set;
}

bool jwk_allows(const jwk& k, jwt_alg alg) {
  if (k.alg && *k.alg != alg) return false;
  if (k.key.type() == public_key::key_type::rsa) return is_rsa(alg);
  return k.key.ec_alg() == alg;
}

}  // namespace gyre::auth
