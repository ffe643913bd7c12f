// libFuzzer target for the JWT claims reader (auth/token_verifier.cpp). The input is the
// token's payload JSON itself: the target signs it with HS256 and a fixed key, so every
// input gets past the signature check and reaches the claims reader (a fuzzer cannot forge
// an HMAC). Each payload is verified as a connection and as a subscription token by
// verifiers with different settings. Oracles beyond "no crash, no sanitizer report":
//   - the signed token and the same token under insecure_skip_token_signature_verify give
//     the same outcome (the signature step does not change what the claims say);
//   - an accepted payload is one JSON object (json_syntax, an independent checker);
//   - raw claims (info, data, meta; without b64 variants in the payload) are JSON values;
//   - round trip: the accepted claims written back as a payload (by code below that shares
//     nothing with the reader) verify again to exactly the same claims;
//   - settings only narrow: a verifier with user_id_claim or audience/issuer regexes
//     accepts a subset of what the plain one accepts, with the same claims (but the user).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"
#include "auth/token_verifier.hpp"
#include "core/base64.hpp"
#include "core/json_writer.hpp"
#include "json_syntax.hpp"

using namespace gyre::auth;

namespace {

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

constexpr int64_t now = 1'700'000'000;
constexpr std::string_view key = "fuzz-hmac-key";

struct verifiers {
  token_verifier plain;
  token_verifier insecure;
  token_verifier custom_user;
  token_verifier patterns;
};

token_verifier make(const token_config& c) {
  auto v = token_verifier::create(c);
  CHECK(v.has_value());
  return std::move(v).value();
}

const verifiers& all() {
  static const verifiers v = [] {
    token_config plain;
    plain.hmac_secret_key = std::string(key);
    token_config insecure;
    insecure.insecure_skip_token_signature_verify = true;
    token_config custom = plain;
    custom.user_id_claim = "uid";
    token_config patterns = plain;
    patterns.audience_regex = R"((?i)^gyre-(?P<env>[a-z0-9]+)$)";
    patterns.issuer_regex = R"(^https://(?<tenant>[a-z]+)\.example\.com$)";
    return verifiers{make(plain), make(insecure), make(custom), make(patterns)};
  }();
  return v;
}

std::string sign(std::string_view payload) {
  static const jwt_signer signer = jwt_signer::hmac(jwt_alg::hs256, std::string(key)).value();
  auto t = signer.sign(payload);
  CHECK(t.has_value());
  return std::move(t).value();
}

// ---- outcome comparison ----

bool same(const subscription_override& a, const subscription_override& b) {
  return a == b;
}

bool same(const connection_claims& a, const connection_claims& b, bool with_user = true) {
  return (!with_user || a.user == b.user) && a.exp == b.exp && a.iat == b.iat && a.nbf == b.nbf &&
         a.jti == b.jti && a.expire_at == b.expire_at && a.info == b.info &&
         a.channels == b.channels && a.subs == b.subs && a.meta == b.meta;
}

bool same(const subscription_claims& a, const subscription_claims& b, bool with_user = true) {
  return (!with_user || a.user == b.user) && a.channel == b.channel && a.client == b.client &&
         a.exp == b.exp && a.iat == b.iat && a.nbf == b.nbf && a.jti == b.jti &&
         a.expire_at == b.expire_at && a.info == b.info && a.data == b.data &&
         same(a.overrides, b.overrides);
}

template <typename R>
bool same_outcome(const R& a, const R& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return a.error().code == b.error().code && a.error().reason == b.error().reason;
  return same(*a, *b);
}

// ---- writing claims back as a payload (independent of the reader) ----

class payload_writer {
 public:
  void str(std::string_view k, std::string_view v) {
    name(k);
    quoted(v);
  }
  void num(std::string_view k, const std::optional<int64_t>& v) {
    if (!v) return;
    name(k);
    out_ += std::to_string(*v);
  }
  void bytes(std::string_view k, std::string_view v) {  // as standard base64
    if (!v.empty()) str(k, gyre::base64_encode(v));
  }
  void raw(std::string_view k, std::string_view json) {
    if (json.empty()) return;
    name(k);
    out_ += json;
  }
  void overrides(const subscription_override& o) {
    name("override");
    out_ += '{';
    bool first = true;
    auto one = [&](std::string_view k, const std::optional<bool>& v) {
      if (!v) return;
      if (!first) out_ += ',';
      first = false;
      quoted(k);
      out_ += *v ? ":{\"value\":true}" : ":{\"value\":false}";
    };
    one("presence", o.presence);
    one("join_leave", o.join_leave);
    one("force_push_join_leave", o.force_push_join_leave);
    one("force_recovery", o.force_recovery);
    one("force_positioning", o.force_positioning);
    out_ += '}';
  }
  void open(std::string_view k) {
    name(k);
    out_ += '{';
    first_ = true;
  }
  void close() {
    out_ += '}';
    first_ = false;
  }
  void list(std::string_view k, const std::vector<std::string>& items) {
    name(k);
    out_ += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out_ += ',';
      quoted(items[i]);
    }
    out_ += ']';
  }
  std::string done() { return out_ + '}'; }

 private:
  void name(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    quoted(k);
    out_ += ':';
  }
  void quoted(std::string_view s) {
    out_ += '"';
    gyre::json_writer::escape_into(out_, s);
    out_ += '"';
  }
  std::string out_ = "{";
  bool first_ = true;
};

std::string payload_of(const connection_claims& c) {
  payload_writer w;
  w.str("sub", c.user);
  w.num("exp", c.exp);
  w.num("iat", c.iat);
  w.num("nbf", c.nbf);
  w.str("jti", c.jti);
  w.num("expire_at", c.expire_at);
  w.bytes("b64info", c.info);
  w.list("channels", c.channels);
  w.open("subs");
  for (const auto& [channel, opts] : c.subs) {
    w.open(channel);
    w.bytes("b64info", opts.info);
    w.bytes("b64data", opts.data);
    w.overrides(opts.overrides);
    w.close();
  }
  w.close();
  w.raw("meta", c.meta);
  return w.done();
}

std::string payload_of(const subscription_claims& c) {
  payload_writer w;
  w.str("channel", c.channel);
  w.str("sub", c.user);
  w.str("client", c.client);
  w.num("exp", c.exp);
  w.num("iat", c.iat);
  w.num("nbf", c.nbf);
  w.str("jti", c.jti);
  w.num("expire_at", c.expire_at);
  w.bytes("b64info", c.info);
  w.bytes("b64data", c.data);
  w.overrides(c.overrides);
  return w.done();
}

// ---- per-kind checks ----

// A raw claim is one JSON value with the whitespace around it trimmed.
bool raw_json_ok(const std::string& raw) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  return raw.empty() ||
         (gyre::fuzz::json_syntax::valid(raw) && !ws(raw.front()) && !ws(raw.back()));
}

void check_raw(const connection_claims& c, bool b64_in_payload) {
  CHECK(raw_json_ok(c.meta));  // meta has no b64 variant
  if (b64_in_payload) return;
  CHECK(raw_json_ok(c.info));
  for (const auto& [ch, o] : c.subs) CHECK(raw_json_ok(o.info) && raw_json_ok(o.data));
}

void check_raw(const subscription_claims& c, bool b64_in_payload) {
  CHECK(!c.channel.empty());
  if (b64_in_payload) return;
  CHECK(raw_json_ok(c.info) && raw_json_ok(c.data));
}

template <typename Verify>
void check_kind(std::string_view payload, const std::string& token, Verify verify) {
  const verifiers& v = all();
  auto plain = verify(v.plain, token);
  auto insecure = verify(v.insecure, token);
  CHECK(same_outcome(plain, insecure));

  auto custom = verify(v.custom_user, token);
  auto patterns = verify(v.patterns, token);
  if (custom) CHECK(plain && same(*plain, *custom, /*with_user=*/false));
  if (patterns) CHECK(plain && same(*plain, *patterns));
  if (plain && !patterns) {
    const std::string& why = patterns.error().reason;
    CHECK(why.find("audience") != std::string::npos || why.find("issuer") != std::string::npos);
  }
  if (!plain) return;

  CHECK(gyre::fuzz::json_syntax::valid(payload));
  check_raw(*plain, payload.find("b64") != std::string_view::npos);

  const std::string again = payload_of(*plain);
  CHECK(gyre::fuzz::json_syntax::valid(again));
  auto round_trip = verify(v.plain, sign(again));
  if (!round_trip) {
    std::fprintf(stderr, "round trip payload %s rejected: %s\n", again.c_str(),
                 round_trip.error().reason.c_str());
  }
  CHECK(round_trip && same(*plain, *round_trip));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  if (payload.empty()) return 0;  // an empty segment is a token error, not a claims one
  const std::string token = sign(payload);
  check_kind(payload, token, [](const token_verifier& v, const std::string& t) {
    return v.verify_connection_token(t, now);
  });
  check_kind(payload, token, [](const token_verifier& v, const std::string& t) {
    return v.verify_subscription_token(t, now);
  });
  return 0;
}
