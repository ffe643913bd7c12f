// Connection and subscription JWT verification; see token_verifier.hpp for the contract.
// Claims are read in one simdjson On-Demand pass (so raw JSON values keep their exact bytes)
// after a DOM parse has validated the whole payload (On-Demand skips unread values without
// fully validating them, and raw values are forwarded to other clients verbatim).
// Parsers are thread_local: verify_* may run on many threads, never re-entrantly.
#include "auth/token_verifier.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <utility>

#include "auth/jwks_cache.hpp"
#include "auth/jwt.hpp"
#include "core/base64.hpp"
#include "core/go_regex.hpp"

namespace gyre::auth {

namespace {

bool valid_user_id_claim(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')) return false;
  }
  return true;
}

// ---- claims ----

enum class token_kind { connection, subscription };

// Everything either token kind may carry, as read from the payload.
struct raw_claims {
  std::string user;  // from sub or user_id_claim, filled after reading
  std::string sub;
  std::optional<int64_t> exp;
  std::optional<int64_t> iat;
  std::optional<int64_t> nbf;
  std::string jti;
  std::vector<std::string> aud;
  std::optional<std::string> iss;
  std::optional<int64_t> expire_at;
  std::string info;
  std::string b64info;
  std::string data;
  std::string b64data;
  std::string meta;
  std::vector<std::string> channels;
  std::map<std::string, sub_options> subs;
  bool has_channel = false;
  std::string channel;
  std::string client;
  subscription_override overrides;
};

namespace od = simdjson::ondemand;

using reason = std::optional<std::string>;  // nullopt = fine, else why the token is invalid

std::string type_error(std::string_view claim) {
  return "claim " + std::string(claim) + " has a wrong type";
}

bool is_null(od::value& v) {
  od::json_type t;
  return v.type().get(t) == simdjson::SUCCESS && t == od::json_type::null;
}

// Calls fn(key, value) for each member of `o` in order; stops at the first reason fn returns.
// `what` names the object in the error for a malformed member.
template <typename Fn>
reason for_each_member(od::object& o, std::string_view what, Fn&& fn) {
  for (auto member : o) {
    od::field field;
    std::string_view key;
    if (std::move(member).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return type_error(what);
    }
    if (reason r = fn(key, field.value())) return r;
  }
  return std::nullopt;
}

reason read_string(od::value& v, std::string_view claim, std::string& out) {
  if (is_null(v)) {
    out.clear();
    return std::nullopt;
  }
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return type_error(claim);
  out.assign(s);
  return std::nullopt;
}

// NumericDate: integer seconds; a fractional value is truncated toward zero.
reason read_numeric_date(od::value& v, std::string_view claim, std::optional<int64_t>& out) {
  out.reset();
  if (is_null(v)) return std::nullopt;
  od::number_type nt;
  if (v.get_number_type().get(nt) != simdjson::SUCCESS) return type_error(claim);
  if (nt == od::number_type::floating_point_number) {
    double d = 0;
    if (v.get_double().get(d) != simdjson::SUCCESS) return type_error(claim);
    if (!std::isfinite(d) || d >= 9.2e18 || d <= -9.2e18)
      return "claim " + std::string(claim) + " out of range";
    out = static_cast<int64_t>(d);
    return std::nullopt;
  }
  int64_t i = 0;
  if (v.get_int64().get(i) != simdjson::SUCCESS)
    return "claim " + std::string(claim) + " out of range";
  out = i;
  return std::nullopt;
}

// expire_at is a plain int64 in Centrifugo's claims: a fraction is a type error.
reason read_int64(od::value& v, std::string_view claim, std::optional<int64_t>& out) {
  out.reset();
  if (is_null(v)) return std::nullopt;
  int64_t i = 0;
  if (v.get_int64().get(i) != simdjson::SUCCESS) return type_error(claim);
  out = i;
  return std::nullopt;
}

// The exact JSON text of any value, whitespace-trimmed. null reads as absent (empty).
reason read_raw(od::value& v, std::string_view claim, std::string& out) {
  out.clear();
  od::json_type t;
  if (v.type().get(t) != simdjson::SUCCESS) return type_error(claim);
  std::string_view raw;
  if (t == od::json_type::object) {
    od::object o;
    if (v.get_object().get(o) != simdjson::SUCCESS || o.raw_json().get(raw) != simdjson::SUCCESS) {
      return type_error(claim);
    }
  } else if (t == od::json_type::array) {
    od::array a;
    if (v.get_array().get(a) != simdjson::SUCCESS || a.raw_json().get(raw) != simdjson::SUCCESS) {
      return type_error(claim);
    }
  } else if (t == od::json_type::null) {
    return std::nullopt;
  } else {
    raw = v.raw_json_token();
  }
  out.assign(simdjson::trim(raw));
  return std::nullopt;
}

reason read_string_array(od::value& v, std::string_view claim, std::vector<std::string>& out) {
  out.clear();
  if (is_null(v)) return std::nullopt;
  od::array arr;
  if (v.get_array().get(arr) != simdjson::SUCCESS) return type_error(claim);
  for (auto item : arr) {
    std::string_view s;
    if (item.get_string().get(s) != simdjson::SUCCESS) return type_error(claim);
    out.emplace_back(s);
  }
  return std::nullopt;
}

// `aud`: a string or an array of strings.
reason read_audience(od::value& v, std::vector<std::string>& out) {
  out.clear();
  od::json_type t;
  if (v.type().get(t) != simdjson::SUCCESS) return type_error("aud");
  if (t == od::json_type::string) {
    std::string_view s;
    if (v.get_string().get(s) != simdjson::SUCCESS) return type_error("aud");
    out.emplace_back(s);
    return std::nullopt;
  }
  return read_string_array(v, "aud", out);
}

// `{"value": bool}`; null = not set; an object without `value` means false.
reason read_bool_value(od::value& v, std::string_view claim, std::optional<bool>& out) {
  out.reset();
  if (is_null(v)) return std::nullopt;
  od::object o;
  if (v.get_object().get(o) != simdjson::SUCCESS) return type_error(claim);
  bool value = false;
  reason r = for_each_member(o, claim, [&](std::string_view key, od::value& v) -> reason {
    if (key != "value") return std::nullopt;
    if (is_null(v)) {
      value = false;
    } else if (v.get_bool().get(value) != simdjson::SUCCESS) {
      return type_error(claim);
    }
    return std::nullopt;
  });
  if (r) return r;
  out = value;
  return std::nullopt;
}

reason read_override(od::value& v, subscription_override& out) {
  out = {};
  if (is_null(v)) return std::nullopt;
  od::object o;
  if (v.get_object().get(o) != simdjson::SUCCESS) return type_error("override");
  return for_each_member(o, "override", [&](std::string_view key, od::value& v) -> reason {
    if (key == "presence") return read_bool_value(v, "override.presence", out.presence);
    if (key == "join_leave") return read_bool_value(v, "override.join_leave", out.join_leave);
    if (key == "force_push_join_leave") {
      return read_bool_value(v, "override.force_push_join_leave", out.force_push_join_leave);
    }
    if (key == "force_recovery") {
      return read_bool_value(v, "override.force_recovery", out.force_recovery);
    }
    if (key == "force_positioning") {
      return read_bool_value(v, "override.force_positioning", out.force_positioning);
    }
    return std::nullopt;
  });
}

// b64 (standard base64) wins over the raw value when non-empty.
reason pick_bytes(std::string& raw, const std::string& b64, std::string_view claim) {
  if (b64.empty()) return std::nullopt;
  auto decoded = base64_decode(b64);
  if (!decoded) return "claim " + std::string(claim) + " is not valid base64";
  raw = std::move(*decoded);
  return std::nullopt;
}

reason read_sub_options(od::value& v, sub_options& out) {
  out = {};
  if (is_null(v)) return std::nullopt;
  od::object o;
  if (v.get_object().get(o) != simdjson::SUCCESS) return type_error("subs");
  std::string b64info;
  std::string b64data;
  reason r = for_each_member(o, "subs", [&](std::string_view key, od::value& v) -> reason {
    if (key == "info") return read_raw(v, "subs.info", out.info);
    if (key == "b64info") return read_string(v, "subs.b64info", b64info);
    if (key == "data") return read_raw(v, "subs.data", out.data);
    if (key == "b64data") return read_string(v, "subs.b64data", b64data);
    if (key == "override") return read_override(v, out.overrides);
    return std::nullopt;
  });
  if (r) return r;
  if (auto r = pick_bytes(out.info, b64info, "subs.b64info")) return r;
  if (auto r = pick_bytes(out.data, b64data, "subs.b64data")) return r;
  return std::nullopt;
}

reason read_subs(od::value& v, std::map<std::string, sub_options>& out) {
  out.clear();
  if (is_null(v)) return std::nullopt;
  od::object o;
  if (v.get_object().get(o) != simdjson::SUCCESS) return type_error("subs");
  return for_each_member(o, "subs", [&](std::string_view key, od::value& options) -> reason {
    std::string channel(key);  // copy: key points into the parser's scratch buffer
    sub_options opts;
    if (reason r = read_sub_options(options, opts)) return r;
    out.insert_or_assign(std::move(channel), std::move(opts));
    return std::nullopt;
  });
}

// One pass over the payload object, reading the claims of `kind`. Unknown claims are skipped.
// A repeated claim: the last one wins (as with Go's encoding/json).
reason read_claims(od::object& obj, token_kind kind, raw_claims& c) {
  const bool conn = kind == token_kind::connection;
  return for_each_member(obj, "payload", [&](std::string_view key, od::value& v) -> reason {
    reason r;
    if (key == "sub") {
      r = read_string(v, key, c.sub);
    } else if (key == "exp") {
      r = read_numeric_date(v, key, c.exp);
    } else if (key == "iat") {
      r = read_numeric_date(v, key, c.iat);
    } else if (key == "nbf") {
      r = read_numeric_date(v, key, c.nbf);
    } else if (key == "jti") {
      r = read_string(v, key, c.jti);
    } else if (key == "aud") {
      r = read_audience(v, c.aud);
    } else if (key == "iss") {
      c.iss.reset();
      if (!is_null(v)) {
        std::string iss;
        r = read_string(v, key, iss);
        c.iss = std::move(iss);
      }
    } else if (key == "expire_at") {
      r = read_int64(v, key, c.expire_at);
    } else if (key == "info") {
      r = read_raw(v, key, c.info);
    } else if (key == "b64info") {
      r = read_string(v, key, c.b64info);
    } else if (key == "channel") {
      c.has_channel = !is_null(v);
      r = read_string(v, key, c.channel);
    } else if (conn && key == "channels") {
      r = read_string_array(v, key, c.channels);
    } else if (conn && key == "subs") {
      r = read_subs(v, c.subs);
    } else if (conn && key == "meta") {
      r = read_raw(v, key, c.meta);
    } else if (!conn && key == "client") {
      r = read_string(v, key, c.client);
    } else if (!conn && key == "data") {
      r = read_raw(v, key, c.data);
    } else if (!conn && key == "b64data") {
      r = read_string(v, key, c.b64data);
    } else if (!conn && key == "override") {
      r = read_override(v, c.overrides);
    }
    return r;
  });
}

// Go's fmt.Sprint of a JSON number decoded as float64: integers below 1e21 in plain digits,
// otherwise the shortest form, with an exponent when very large or small.
std::string format_double(double d) {
  char buf[64];
  std::to_chars_result res;
  double mag = std::fabs(d);
  if (d == std::trunc(d) && mag < 1e21) {
    res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed, 0);
  } else if (mag >= 1e21 || (mag != 0 && mag < 1e-4)) {
    res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  } else {
    res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  }
  return std::string(buf, res.ptr);
}

// The configured user_id_claim, stringified. Absent or null = anonymous ("").
reason read_custom_user(const simdjson::dom::object& obj, const std::string& claim,
                        std::string& user) {
  user.clear();
  simdjson::dom::element found;
  bool have = false;
  for (auto field : obj) {  // last occurrence wins
    if (field.key == claim) {
      found = field.value;
      have = true;
    }
  }
  if (!have) return std::nullopt;
  switch (found.type()) {
    case simdjson::dom::element_type::STRING:
      user.assign(std::string_view(found.get_string().value_unsafe()));
      return std::nullopt;
    case simdjson::dom::element_type::INT64:
      user = std::to_string(found.get_int64().value_unsafe());
      return std::nullopt;
    case simdjson::dom::element_type::UINT64:
      user = std::to_string(found.get_uint64().value_unsafe());
      return std::nullopt;
    case simdjson::dom::element_type::DOUBLE:
      user = format_double(found.get_double().value_unsafe());
      return std::nullopt;
    case simdjson::dom::element_type::BOOL:
      user = found.get_bool().value_unsafe() ? "true" : "false";
      return std::nullopt;
    case simdjson::dom::element_type::NULL_VALUE:
      return std::nullopt;
    default:
      return "claim " + claim + " (user_id_claim) must be a string or a number";
  }
}

simdjson::dom::parser& dom_parser() {
  thread_local simdjson::dom::parser p;
  return p;
}

simdjson::ondemand::parser& ondemand_parser() {
  thread_local simdjson::ondemand::parser p;
  return p;
}

}  // namespace

// ---- verifier ----

// A jwks_public_endpoint cut at its {{placeholders}}: literal text and placeholder names
// alternate, starting with text.
struct jwks_template {
  std::vector<std::string> parts;
  bool has_placeholders() const { return parts.size() > 1; }
};

namespace {

// Cuts `url` at its placeholders. A placeholder in the scheme, host or port is refused: a
// token must never choose which host Gyre fetches keys from.
expected<jwks_template, std::string> parse_jwks_template(const std::string& url) {
  jwks_template t;
  size_t authority = url.find("://");
  size_t path_start = authority == std::string::npos ? 0 : url.find_first_of("/?#", authority + 3);
  if (path_start == std::string::npos) path_start = url.size();
  size_t pos = 0;
  std::string text;
  while (pos < url.size()) {
    size_t open = url.find("{{", pos);
    if (open == std::string::npos) break;
    size_t close = url.find("}}", open + 2);
    if (close == std::string::npos) return unexpected{std::string("unterminated {{ placeholder")};
    if (open < path_start)
      return unexpected{std::string(
          "placeholders are only allowed in the path or query, not in the scheme, host or port")};
    std::string name = url.substr(open + 2, close - open - 2);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    t.parts.push_back(text + url.substr(pos, open - pos));
    text.clear();
    t.parts.push_back(std::move(name));
    pos = close + 2;
  }
  t.parts.push_back(url.substr(pos));
  return t;
}

// A placeholder's value: 1..64 of [A-Za-z0-9_-], so that it stays one path segment (no
// '/', '.', '%', '?', '#', ':' or '@').
bool valid_placeholder_value(std::string_view v) {
  if (v.empty() || v.size() > 64) return false;
  for (char c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

struct token_verifier::impl {
  token_config config;
  jwt_keys keys;
  std::optional<go_regex> audience_re;  // Go syntax, compiled once (see core/go_regex.hpp)
  std::optional<go_regex> issuer_re;
  std::shared_ptr<jwks_cache> jwks;  // with jwks_public_endpoint
  jwks_template jwks_url;

  token_result<raw_claims> verify(std::string_view token, int64_t now, token_kind kind) const;
  token_result<std::monostate> check_signature(const jws_token& jws, int64_t now) const;
  token_result<std::monostate> check_jwks(const jws_token& jws) const;
  token_result<std::string> resolve_jwks_url(const jws_token& jws) const;
};

token_verifier::token_verifier(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
token_verifier::token_verifier(token_verifier&&) noexcept = default;
token_verifier& token_verifier::operator=(token_verifier&&) noexcept = default;
token_verifier::~token_verifier() = default;

const token_config& token_verifier::config() const {
  return impl_->config;
}

expected<token_verifier, std::string> token_verifier::create(const token_config& config,
                                                             std::string_view key_prefix,
                                                             std::shared_ptr<jwks_cache> jwks) {
  auto fail = [&](std::string_view key, std::string_view what) {
    std::string msg(key_prefix);
    if (!msg.empty()) msg.push_back('.');
    msg.append(key).append(": ").append(what);
    return unexpected{std::move(msg)};
  };
  auto p = std::make_unique<impl>();
  p->config = config;
  p->keys.hmac_secret = config.hmac_secret_key;
  if (!config.rsa_public_key.empty()) {
    auto key = public_key::from_pem(config.rsa_public_key);
    if (!key) return fail("rsa_public_key", key.error());
    if (key->type() != public_key::key_type::rsa) return fail("rsa_public_key", "not an RSA key");
    p->keys.rsa = std::move(*key);
  }
  if (!config.ecdsa_public_key.empty()) {
    auto key = public_key::from_pem(config.ecdsa_public_key);
    if (!key) return fail("ecdsa_public_key", key.error());
    if (key->type() != public_key::key_type::ec) return fail("ecdsa_public_key", "not an EC key");
    p->keys.ec = std::move(*key);
  }
  if (!config.audience.empty() && !config.audience_regex.empty()) {
    return fail("audience_regex", "can not be used together with audience");
  }
  if (!config.issuer.empty() && !config.issuer_regex.empty()) {
    return fail("issuer_regex", "can not be used together with issuer");
  }
  if (!config.audience_regex.empty()) {
    go_regex re(config.audience_regex);
    if (!re.ok()) return fail("audience_regex", re.error());
    p->audience_re = std::move(re);
  }
  if (!config.issuer_regex.empty()) {
    go_regex re(config.issuer_regex);
    if (!re.ok()) return fail("issuer_regex", re.error());
    p->issuer_re = std::move(re);
  }
  if (!config.user_id_claim.empty() && !valid_user_id_claim(config.user_id_claim)) {
    return fail("user_id_claim", "must match ^[a-zA-Z_]+$");
  }
  if (!config.jwks_public_endpoint.empty()) {
    auto t = parse_jwks_template(config.jwks_public_endpoint);
    if (!t) return fail("jwks_public_endpoint", t.error());
    for (size_t i = 1; i < t->parts.size(); i += 2) {
      const std::string& name = t->parts[i];
      bool known = (p->issuer_re && p->issuer_re->named_groups().count(name)) ||
                   (p->audience_re && p->audience_re->named_groups().count(name));
      if (!known)
        return fail("jwks_public_endpoint", "placeholder {{" + name +
                                                "}} has no named group in issuer_regex or "
                                                "audience_regex");
    }
    p->jwks_url = std::move(*t);
    p->jwks = std::move(jwks);
    if (p->jwks && !p->jwks_url.has_placeholders()) p->jwks->prefetch(p->jwks_url.parts[0]);
  }
  return token_verifier(std::move(p));
}

token_result<std::monostate> token_verifier::impl::check_signature(const jws_token& jws,
                                                                   int64_t now) const {
  if (config.insecure_skip_token_signature_verify) return std::monostate{};
  if (!config.jwks_public_endpoint.empty()) return check_jwks(jws);
  auto res = verify_jws(jws, keys);
  if (res) return res;
  // Key rotation: tokens signed with the previous HMAC secret stay valid until the deadline.
  const auto& prev = config.hmac_previous_secret_key;
  auto alg = jwt_alg_from_name(jws.alg);
  if (!prev.empty() && alg && is_hmac(*alg)) {
    int64_t until = config.hmac_previous_secret_key_valid_until;
    if ((until == 0 || now <= until) && verify_hmac(*alg, prev, jws.signing_input, jws.signature)) {
      return std::monostate{};
    }
  }
  return res;
}

token_result<std::string> token_verifier::impl::resolve_jwks_url(const jws_token& jws) const {
  if (!jwks_url.has_placeholders()) return jwks_url.parts[0];
  // iss and aud, read before the signature is checked (they only pick a path segment,
  // from values the regex groups allow).
  simdjson::padded_string payload(jws.payload);
  simdjson::dom::object obj;
  if (dom_parser().parse(payload).get_object().get(obj) != simdjson::SUCCESS)
    return token_invalid("payload is not a JSON object");
  std::string_view iss;
  bool has_iss = obj["iss"].get_string().get(iss) == simdjson::SUCCESS;
  std::vector<std::string_view> auds;
  std::string_view one;
  simdjson::dom::array arr;
  if (obj["aud"].get_string().get(one) == simdjson::SUCCESS) {
    auds.push_back(one);
  } else if (obj["aud"].get_array().get(arr) == simdjson::SUCCESS) {
    for (auto e : arr)
      if (e.get_string().get(one) == simdjson::SUCCESS) auds.push_back(one);
  }
  std::string url;
  for (size_t i = 0; i < jwks_url.parts.size(); ++i) {
    if (i % 2 == 0) {
      url += jwks_url.parts[i];
      continue;
    }
    const std::string& name = jwks_url.parts[i];
    std::optional<std::string> v;
    if (issuer_re && has_iss && issuer_re->named_groups().count(name))
      v = issuer_re->named_group(iss, name);
    if (!v && audience_re && audience_re->named_groups().count(name))
      for (auto a : auds)
        if ((v = audience_re->named_group(a, name))) break;
    if (!v) return token_invalid("JWKS URL placeholder {{" + name + "}} not found in iss/aud");
    if (!valid_placeholder_value(*v))
      return token_invalid("JWKS URL placeholder {{" + name +
                           "}}: value is not 1 to 64 of [A-Za-z0-9_-]");
    url += *v;
  }
  return url;
}

token_result<std::monostate> token_verifier::impl::check_jwks(const jws_token& jws) const {
  if (!jwks) return token_internal("JWKS keys cannot be fetched here");
  if (jws.kid.empty()) return token_invalid("token has no kid (required with a JWKS endpoint)");
  auto alg = jwt_alg_from_name(jws.alg);
  if (!alg) return token_invalid("unknown JWT algorithm");
  if (is_hmac(*alg)) return token_invalid("disabled JWT algorithm");
  auto url = resolve_jwks_url(jws);
  if (!url) return unexpected{std::move(url).error()};
  auto r = jwks->lookup(*url, jws.kid);
  switch (r.st) {
    case jwks_cache::status::found:
      if (!jwk_allows(*r.key, *alg))
        return token_invalid("the JWK of this kid does not allow " + jws.alg);
      if (!verify_signature(*alg, r.key->key, jws.signing_input, jws.signature))
        return token_invalid("signature mismatch");
      return std::monostate{};
    case jwks_cache::status::unknown:
      return token_invalid(std::move(r.why));
    case jwks_cache::status::not_ready:
      break;
  }
  return token_internal(std::move(r.why));
}

token_result<raw_claims> token_verifier::impl::verify(std::string_view token, int64_t now,
                                                      token_kind kind) const {
  auto jws = parse_jws(token);
  if (!jws) return unexpected{std::move(jws).error()};
  if (auto sig = check_signature(*jws, now); !sig) return unexpected{std::move(sig).error()};

  simdjson::padded_string payload(jws->payload);
  simdjson::dom::object dom_obj;
  if (dom_parser().parse(payload).get_object().get(dom_obj) != simdjson::SUCCESS) {
    return token_invalid("payload is not a JSON object");
  }
  raw_claims c;
  if (!config.user_id_claim.empty()) {
    if (auto r = read_custom_user(dom_obj, config.user_id_claim, c.user)) return token_invalid(*r);
  }
  od::document doc;
  od::object obj;
  if (ondemand_parser().iterate(payload).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(obj) != simdjson::SUCCESS) {
    return token_invalid("payload is not a JSON object");
  }
  if (auto r = read_claims(obj, kind, c)) return token_invalid(*r);
  if (config.user_id_claim.empty()) c.user = c.sub;

  if (c.exp && *c.exp <= now) return token_expired("token expired at " + std::to_string(*c.exp));
  if (c.nbf && !(*c.nbf < now))
    return token_invalid("token not valid before " + std::to_string(*c.nbf));

  if (!config.audience.empty()) {
    bool ok = false;
    for (const auto& a : c.aud) ok = ok || a == config.audience;
    if (!ok) return token_invalid("audience mismatch");
  }
  if (audience_re) {
    bool ok = false;
    for (const auto& a : c.aud) ok = ok || audience_re->matches(a);
    if (!ok) return token_invalid("audience does not match audience_regex");
  }
  if (!config.issuer.empty() && (!c.iss || *c.iss != config.issuer)) {
    return token_invalid("issuer mismatch");
  }
  if (issuer_re && (!c.iss || !issuer_re->matches(*c.iss))) {
    return token_invalid("issuer does not match issuer_regex");
  }

  if (auto r = pick_bytes(c.info, c.b64info, "b64info")) return token_invalid(*r);
  if (kind == token_kind::connection) {
    if (c.has_channel) return token_invalid("connection token must not contain a channel claim");
  } else {
    if (c.channel.empty()) return token_invalid("subscription token has no channel claim");
    if (auto r = pick_bytes(c.data, c.b64data, "b64data")) return token_invalid(*r);
  }
  return c;
}

token_result<connection_claims> token_verifier::verify_connection_token(std::string_view token,
                                                                        int64_t now_unix) const {
  connection_claims out;
  auto c = impl_->verify(token, now_unix, token_kind::connection);
  if (!c) return unexpected{std::move(c).error()};
  out.user = std::move(c->user);
  out.exp = c->exp;
  out.iat = c->iat;
  out.nbf = c->nbf;
  out.jti = std::move(c->jti);
  out.expire_at = c->expire_at;
  out.info = std::move(c->info);
  out.channels = std::move(c->channels);
  out.subs = std::move(c->subs);
  out.meta = std::move(c->meta);
  return out;
}

token_result<subscription_claims> token_verifier::verify_subscription_token(
    std::string_view token, int64_t now_unix) const {
  subscription_claims out;
  auto c = impl_->verify(token, now_unix, token_kind::subscription);
  if (!c) return unexpected{std::move(c).error()};
  out.channel = std::move(c->channel);
  out.client = std::move(c->client);
  out.user = std::move(c->user);
  out.exp = c->exp;
  out.iat = c->iat;
  out.nbf = c->nbf;
  out.jti = std::move(c->jti);
  out.expire_at = c->expire_at;
  out.info = std::move(c->info);
  out.data = std::move(c->data);
  out.overrides = c->overrides;
  return out;
}

}  // namespace gyre::auth
