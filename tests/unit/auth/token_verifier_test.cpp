// Tests of connection and subscription token verification (auth/token_verifier.hpp):
// config validation, claim extraction, time/audience/issuer rules, key rotation, and
// hostile input. Time is always injected.
#include "auth/token_verifier.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/test_keys.hpp"
#include "core/clock.hpp"

namespace gyre::auth {
namespace {

constexpr int64_t now = 1'700'000'000;

token_config hmac_config(std::string secret = "secret") {
  token_config c;
  c.hmac_secret_key = std::move(secret);
  return c;
}

token_verifier make(const token_config& c) {
  auto v = token_verifier::create(c);
  EXPECT_TRUE(v) << (v ? "" : v.error());
  return std::move(v).value();
}

std::string hs(std::string_view payload, std::string secret = "secret",
               jwt_alg alg = jwt_alg::hs256) {
  return jwt_signer::hmac(alg, std::move(secret)).value().sign(payload).value();
}

std::string signed_with(jwt_alg alg, const std::string& private_pem, std::string_view payload) {
  auto key = private_key::from_pem(private_pem).value();
  return jwt_signer::with_key(alg, key).value().sign(payload).value();
}

std::string config_error(const token_config& c, std::string_view prefix = "client.token") {
  auto v = token_verifier::create(c, prefix);
  return v ? std::string("ok") : v.error();
}

// The reason of a rejected connection token, or "ok".
template <typename R>
std::string outcome(const R& r) {
  if (r) return "ok";
  return std::string(to_string(r.error().code)) + ": " + r.error().reason;
}

// ---- configuration ----

TEST(token_verifier_config, names_the_bad_key) {
  token_config c;
  EXPECT_EQ(config_error(c), "ok");  // nothing configured is valid (every token fails)

  c.rsa_public_key = "garbage";
  EXPECT_EQ(config_error(c), "client.token.rsa_public_key: no PEM block found");
  EXPECT_EQ(config_error(c, "client.subscription_token"),
            "client.subscription_token.rsa_public_key: no PEM block found");
  c.rsa_public_key = test::ec_key("P-256").public_pem;
  EXPECT_EQ(config_error(c), "client.token.rsa_public_key: not an RSA key");

  c = {};
  c.ecdsa_public_key = test::rsa_2048().public_pem;
  EXPECT_EQ(config_error(c), "client.token.ecdsa_public_key: not an EC key");
  c.ecdsa_public_key = test::ec_key("secp256k1").public_pem;
  EXPECT_NE(config_error(c).find("client.token.ecdsa_public_key: unsupported EC curve"),
            std::string::npos);

  c = {};
  c.audience = "a";
  c.audience_regex = "a";
  EXPECT_EQ(config_error(c), "client.token.audience_regex: can not be used together with audience");
  c = {};
  c.issuer = "i";
  c.issuer_regex = "i";
  EXPECT_EQ(config_error(c), "client.token.issuer_regex: can not be used together with issuer");

  c = {};
  c.audience_regex = "(unclosed";
  EXPECT_EQ(config_error(c).rfind("client.token.audience_regex: invalid regular expression", 0),
            0u);
  c = {};
  c.issuer_regex = "[a-";
  EXPECT_EQ(config_error(c).rfind("client.token.issuer_regex: invalid regular expression", 0), 0u);

  for (const char* bad : {"user-id", "user1", "a.b", " "}) {
    c = {};
    c.user_id_claim = bad;
    EXPECT_EQ(config_error(c), "client.token.user_id_claim: must match ^[a-zA-Z_]+$") << bad;
  }
  c.user_id_claim = "User_ID";
  EXPECT_EQ(config_error(c), "ok");

  c = hmac_config();
  c.rsa_public_key = test::rsa_2048().cert_pem;
  c.ecdsa_public_key = test::ec_key("P-521").cert_pem;
  EXPECT_EQ(config_error(c), "ok");
  EXPECT_EQ(make(c).config(), c);
}

TEST(token_verifier_config, accepts_go_style_regex_syntax) {
  token_config c = hmac_config();
  c.issuer_regex = R"((?P<tenant>acme|globex)\.example\.com)";
  auto v = make(c);
  EXPECT_EQ(outcome(v.verify_connection_token(hs(R"({"iss":"acme.example.com"})"), now)), "ok");
  EXPECT_EQ(outcome(v.verify_connection_token(hs(R"({"iss":"initech.example.com"})"), now)),
            "invalid token: issuer does not match issuer_regex");

  c.issuer_regex = R"((?i)(?<name>[a-z]+)\.EXAMPLE)";
  v = make(c);
  EXPECT_EQ(outcome(v.verify_connection_token(hs(R"({"iss":"Foo.example"})"), now)), "ok");

  // Look-behind syntax is not mistaken for a named group (Go lacks it: config error).
  c.issuer_regex = R"((?<=a)b)";
  EXPECT_NE(config_error(c), "ok");
  // Parentheses inside a character class are literals.
  c.issuer_regex = R"([(?P<x>]+)";
  v = make(c);
  EXPECT_EQ(outcome(v.verify_connection_token(hs(R"({"iss":"(?P<"})"), now)), "ok");
}

// Patterns the verifier once translated to std::regex and so judged differently from
// checkconfig (RE2) and from Centrifugo (Go): the verifier now uses the same compile.
TEST(token_verifier_config, judges_patterns_like_go_and_checkconfig) {
  token_config c = hmac_config();
  auto iss = [&](const std::string& pattern, std::string_view issuer) {
    c.issuer_regex = pattern;
    auto v = token_verifier::create(c);
    if (!v) return "config error: " + v.error();
    return outcome(v->verify_connection_token(
        hs(std::string(R"({"iss":")") + std::string(issuer) + R"("})"), now));
  };
  const std::string mismatch = "invalid token: issuer does not match issuer_regex";
  // A flag after the start of the pattern, and a flag group (std::regex: config error).
  EXPECT_EQ(iss("^https://auth\\.(?i)EXAMPLE\\.com$", "https://auth.example.com"), "ok");
  EXPECT_EQ(iss("^(?i:AUTH)\\.example\\.com$", "auth.example.com"), "ok");
  EXPECT_EQ(iss("^(?i:AUTH)\\.example\\.com$", "auth.EXAMPLE.com"), mismatch);
  // Unicode classes and UTF-8 characters (std::regex: config error / byte-wise '.').
  EXPECT_EQ(iss("^\\pL+$", "grüße"), "ok");
  EXPECT_EQ(iss("^tenant-.$", "tenant-é"), "ok");
  // \z and \Q...\E (std::regex: config error / a literal 'z' and 'Q').
  EXPECT_EQ(iss("^a\\z", "a"), "ok");
  EXPECT_EQ(iss("^\\Qa.b\\E$", "a.b"), "ok");
  EXPECT_EQ(iss("^\\Qa.b\\E$", "axb"), mismatch);
  // Backreferences and look-ahead: std::regex accepted them, Go and checkconfig do not.
  const std::string rejected =
      "config error: client.token.issuer_regex: invalid regular expression";
  EXPECT_EQ(iss("^(a)\\1$", "aa").rfind(rejected, 0), 0u);
  EXPECT_EQ(iss("^a(?=b)", "ab").rfind(rejected, 0), 0u);
}

// ---- connection tokens ----

TEST(connection_token, extracts_all_claims) {
  auto v = make(hmac_config());
  std::string payload = R"({
    "sub": "42", "exp": 1700000100, "iat": 1699999000, "nbf": 1699999999, "jti": "t-1",
    "expire_at": 1700000050,
    "info":   { "name" : "Ann",  "tags": [1, 2.50, "\u00e9"] }  ,
    "channels": ["news", "chat:index"],
    "subs": {
      "chat:1": {
        "info": {"role": "admin"}, "b64data": "AQI=",
        "override": {"presence": {"value": true}, "join_leave": {"value": false},
                     "force_recovery": {}, "force_push_join_leave": null}
      },
      "chat:2": {"data": [1, 2], "unknown": {"nested": true}},
      "chat:3": null
    },
    "meta": {"plan":"pro"},
    "custom": {"ignored": [true]}
  })";
  auto r = v.verify_connection_token(hs(payload), now);
  ASSERT_TRUE(r) << outcome(r);
  EXPECT_EQ(r->user, "42");
  EXPECT_EQ(r->exp, 1700000100);
  EXPECT_EQ(r->iat, 1699999000);
  EXPECT_EQ(r->nbf, 1699999999);
  EXPECT_EQ(r->jti, "t-1");
  EXPECT_EQ(r->expire_at, 1700000050);
  // Raw JSON is kept byte for byte (inner whitespace, number spelling, escapes).
  EXPECT_EQ(r->info, R"({ "name" : "Ann",  "tags": [1, 2.50, "\u00e9"] })");
  EXPECT_EQ(r->channels, (std::vector<std::string>{"news", "chat:index"}));
  ASSERT_EQ(r->subs.size(), 3u);
  const sub_options& s1 = r->subs.at("chat:1");
  EXPECT_EQ(s1.info, R"({"role": "admin"})");
  EXPECT_EQ(s1.data, std::string("\x01\x02"));
  EXPECT_EQ(s1.overrides.presence, true);
  EXPECT_EQ(s1.overrides.join_leave, false);
  EXPECT_EQ(s1.overrides.force_recovery, false);  // {} = present, false
  EXPECT_FALSE(s1.overrides.force_push_join_leave);
  EXPECT_FALSE(s1.overrides.force_positioning);
  EXPECT_EQ(r->subs.at("chat:2").data, "[1, 2]");
  EXPECT_EQ(r->subs.at("chat:3"), sub_options{});
  EXPECT_EQ(r->meta, R"({"plan":"pro"})");
}

TEST(connection_token, minimal_and_null_claims) {
  auto v = make(hmac_config());
  auto r = v.verify_connection_token(hs("{}"), now);
  ASSERT_TRUE(r) << outcome(r);
  EXPECT_EQ(r->user, "");
  EXPECT_FALSE(r->exp);
  EXPECT_FALSE(r->expire_at);
  EXPECT_TRUE(r->info.empty());
  EXPECT_TRUE(r->channels.empty());

  r = v.verify_connection_token(
      hs(R"({"sub":null,"exp":null,"info":null,"channels":null,"subs":null,"meta":null,)"
         R"("channel":null})"),
      now);
  ASSERT_TRUE(r) << outcome(r);
  EXPECT_EQ(r->user, "");
  EXPECT_FALSE(r->exp);
  EXPECT_TRUE(r->info.empty());
  EXPECT_TRUE(r->meta.empty());
}

TEST(connection_token, scalar_raw_values_keep_their_spelling) {
  auto v = make(hmac_config());
  EXPECT_EQ(v.verify_connection_token(hs(R"({"info": "a\"b" })"), now)->info, R"("a\"b")");
  EXPECT_EQ(v.verify_connection_token(hs(R"({"info":1.50e3})"), now)->info, "1.50e3");
  EXPECT_EQ(v.verify_connection_token(hs("{\"info\":\ttrue\n}"), now)->info, "true");
  EXPECT_EQ(v.verify_connection_token(hs(R"({"meta":[ ]})"), now)->meta, "[ ]");
}

TEST(connection_token, b64info_wins_over_info) {
  auto v = make(hmac_config());
  auto r = v.verify_connection_token(hs(R"({"info":{"a":1},"b64info":"AAEC/w=="})"), now);
  ASSERT_TRUE(r) << outcome(r);
  EXPECT_EQ(r->info, std::string("\x00\x01\x02\xff", 4));
  // Order in the payload does not matter.
  r = v.verify_connection_token(hs(R"({"b64info":"AAEC/w==","info":{"a":1}})"), now);
  EXPECT_EQ(r->info, std::string("\x00\x01\x02\xff", 4));
  // Empty b64info means "not set".
  r = v.verify_connection_token(hs(R"({"info":{"a":1},"b64info":""})"), now);
  EXPECT_EQ(r->info, R"({"a":1})");
  // b64info is standard base64: invalid text (or the URL alphabet) rejects the token.
  EXPECT_EQ(outcome(v.verify_connection_token(hs(R"({"b64info":"!!!"})"), now)),
            "invalid token: claim b64info is not valid base64");
  EXPECT_FALSE(v.verify_connection_token(hs(R"({"b64info":"__8="})"), now));
  EXPECT_FALSE(v.verify_connection_token(hs(R"({"subs":{"c":{"b64info":"%%"}}})"), now));
}

TEST(connection_token, channel_claim_is_forbidden) {
  auto v = make(hmac_config());
  auto r = v.verify_connection_token(hs(R"({"sub":"1","channel":"news"})"), now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, token_error_code::invalid);
  EXPECT_EQ(r.error().reason, "connection token must not contain a channel claim");
  EXPECT_FALSE(v.verify_connection_token(hs(R"({"channel":""})"), now));
  // The client-protocol outcome is disconnect 3500.
  status s = connection_token_failure(r.error());
  ASSERT_TRUE(s.is_disconnect());
  EXPECT_EQ(s.as_disconnect().code, 3500u);
}

TEST(connection_token, wrong_claim_types_are_invalid) {
  auto v = make(hmac_config());
  for (const char* p : {
           R"({"sub":42})",
           R"({"exp":"1700000100"})",
           R"({"exp":true})",
           R"({"nbf":[]})",
           R"({"iat":{}})",
           R"({"jti":1})",
           R"({"aud":5})",
           R"({"aud":["a",1]})",
           R"({"iss":false})",
           R"({"expire_at":1.5})",
           R"({"expire_at":"0"})",
           R"({"b64info":1})",
           R"({"channels":"news"})",
           R"({"channels":[1]})",
           R"({"subs":[]})",
           R"({"subs":{"c":5}})",
           R"({"subs":{"c":{"b64data":1}}})",
           R"({"subs":{"c":{"override":[]}}})",
           R"({"subs":{"c":{"override":{"presence":true}}}})",
           R"({"subs":{"c":{"override":{"presence":{"value":"yes"}}}}})",
           R"({"exp":1e300})",
           R"({"exp":99999999999999999999})",
       }) {
    SCOPED_TRACE(p);
    auto r = v.verify_connection_token(hs(p), now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, token_error_code::invalid);
  }
  // Claims of the other token kind are not interpreted (so their type does not matter).
  EXPECT_TRUE(
      v.verify_connection_token(hs(R"({"data":5,"b64data":1,"override":7,"client":[]})"), now));
}

TEST(connection_token, duplicate_claims_last_wins) {
  auto v = make(hmac_config());
  EXPECT_EQ(v.verify_connection_token(hs(R"({"sub":"a","sub":"b"})"), now)->user, "b");
}

// ---- time ----

TEST(token_time, exp_boundary) {
  auto v = make(hmac_config());
  auto at = [&](int64_t exp) {
    return v.verify_connection_token(hs("{\"exp\":" + std::to_string(exp) + "}"), now);
  };
  EXPECT_TRUE(at(now + 1));
  auto r = at(now);  // valid iff now < exp
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, token_error_code::expired);
  EXPECT_EQ(at(now - 1).error().code, token_error_code::expired);
  EXPECT_EQ(at(0).error().code, token_error_code::expired);
  // Expired maps to client error 109 for both token kinds.
  EXPECT_EQ(connection_token_failure(r.error()).error().code, 109u);
  EXPECT_EQ(subscription_token_failure(r.error()).error().code, 109u);
  // A fractional NumericDate is accepted.
  EXPECT_TRUE(v.verify_connection_token(hs("{\"exp\":1700000001.5}"), now));
  // expire_at = 0 does not disable the exp check.
  EXPECT_FALSE(v.verify_connection_token(hs("{\"exp\":1,\"expire_at\":0}"), now));
  auto r0 = v.verify_connection_token(hs("{\"expire_at\":0}"), now);
  ASSERT_TRUE(r0);
  EXPECT_EQ(r0->expire_at, 0);
}

TEST(token_time, nbf_boundary) {
  auto v = make(hmac_config());
  auto at = [&](int64_t nbf) {
    return v.verify_connection_token(hs("{\"nbf\":" + std::to_string(nbf) + "}"), now);
  };
  EXPECT_TRUE(at(now - 1));
  auto r = at(now);  // valid iff nbf < now
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, token_error_code::invalid);
  EXPECT_FALSE(at(now + 100));
}

TEST(token_time, clock_overload_uses_injected_time) {
  auto v = make(hmac_config());
  manual_clock clk(now * 1000);
  std::string t = hs("{\"exp\":1700000010}");
  EXPECT_TRUE(v.verify_connection_token(t, clk));
  clk.advance_ms(9'999);
  EXPECT_TRUE(v.verify_connection_token(t, clk));
  clk.advance_ms(1);
  EXPECT_EQ(v.verify_connection_token(t, clk).error().code, token_error_code::expired);
}

// ---- audience and issuer ----

TEST(token_claims, audience_string_array_and_regex) {
  token_config c = hmac_config();
  c.audience = "gyre";
  auto v = make(c);
  EXPECT_TRUE(v.verify_connection_token(hs(R"({"aud":"gyre"})"), now));
  EXPECT_TRUE(v.verify_connection_token(hs(R"({"aud":["other","gyre"]})"), now));
  EXPECT_EQ(outcome(v.verify_connection_token(hs(R"({"aud":"gyre2"})"), now)),
            "invalid token: audience mismatch");
  EXPECT_FALSE(v.verify_connection_token(hs(R"({"aud":[]})"), now));
  EXPECT_FALSE(v.verify_connection_token(hs(R"({})"), now));

  c = hmac_config();
  c.audience_regex = R"(^app-\d+$)";
  v = make(c);
  EXPECT_TRUE(v.verify_connection_token(hs(R"({"aud":"app-12"})"), now));
  EXPECT_TRUE(v.verify_connection_token(hs(R"({"aud":["x","app-7"]})"), now));
  EXPECT_FALSE(v.verify_connection_token(hs(R"({"aud":"my-app-12"})"), now));  // anchored
  EXPECT_FALSE(v.verify_connection_token(hs(R"({"aud":"app-12x"})"), now));
  // Like Go's MatchString, an unanchored pattern matches anywhere in the value.
  c.audience_regex = R"(app-\d+)";
  v = make(c);
  EXPECT_TRUE(v.verify_connection_token(hs(R"({"aud":"my-app-12"})"), now));
  EXPECT_FALSE(v.verify_connection_token(hs(R"({})"), now));
  // Long values are matched like short ones (as in Go; std::regex refused over 512 bytes).
  EXPECT_TRUE(
      v.verify_connection_token(hs(R"({"aud":"app-)" + std::string(5000, '1') + "\"}"), now));

  // Without a configured audience, aud is not checked (but still type-checked).
  v = make(hmac_config());
  EXPECT_TRUE(v.verify_connection_token(hs(R"({"aud":"anything"})"), now));
}

TEST(token_claims, issuer_exact_and_regex) {
  token_config c = hmac_config();
  c.issuer = "https://auth.example.com";
  auto v = make(c);
  EXPECT_TRUE(v.verify_connection_token(hs(R"({"iss":"https://auth.example.com"})"), now));
  EXPECT_EQ(outcome(v.verify_connection_token(hs(R"({"iss":"https://auth.example.co"})"), now)),
            "invalid token: issuer mismatch");
  EXPECT_FALSE(v.verify_connection_token(hs(R"({})"), now));

  c = hmac_config();
  c.issuer_regex = R"(^https://[a-z]+\.example\.com$)";
  v = make(c);
  EXPECT_TRUE(v.verify_connection_token(hs(R"({"iss":"https://eu.example.com"})"), now));
  EXPECT_FALSE(v.verify_connection_token(hs(R"({"iss":"https://eu.example.com.evil"})"), now));
  EXPECT_FALSE(v.verify_connection_token(hs(R"({"iss":null})"), now));
}

TEST(token_claims, user_id_claim_is_stringified) {
  token_config c = hmac_config();
  c.user_id_claim = "user_id";
  auto v = make(c);
  auto user = [&](std::string_view payload) {
    auto r = v.verify_connection_token(hs(payload), now);
    return r ? r->user : "<" + outcome(r) + ">";
  };
  EXPECT_EQ(user(R"({"sub":"ignored","user_id":12345})"), "12345");
  EXPECT_EQ(user(R"({"user_id":"abc"})"), "abc");
  EXPECT_EQ(user(R"({"user_id":-7})"), "-7");
  EXPECT_EQ(user(R"({"user_id":18446744073709551615})"), "18446744073709551615");
  EXPECT_EQ(user(R"({"user_id":12.0})"), "12");
  EXPECT_EQ(user(R"({"user_id":1.5})"), "1.5");
  EXPECT_EQ(user(R"({"user_id":1e21})"), "1e+21");
  EXPECT_EQ(user(R"({"user_id":true})"), "true");
  EXPECT_EQ(user(R"({"sub":"ignored"})"), "");
  EXPECT_EQ(user(R"({"user_id":null})"), "");
  EXPECT_EQ(user(R"({"user_id":"a","user_id":"b"})"), "b");
  EXPECT_EQ(user(R"({"user_id":{"id":1}})"),
            "<invalid token: claim user_id (user_id_claim) must be a string or a number>");
  // `sub` is still type-checked.
  EXPECT_EQ(user(R"({"sub":1,"user_id":"x"})"), "<invalid token: claim sub has a wrong type>");

  auto s = v.verify_subscription_token(hs(R"({"channel":"c","user_id":77})"), now);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->user, "77");
}

// ---- subscription tokens ----

TEST(subscription_token, extracts_claims) {
  auto v = make(hmac_config());
  auto r = v.verify_subscription_token(
      hs(R"({"sub":"42","channel":"$private:1","client":"c-1","exp":1700000100,
             "expire_at":0,"info":{"i":1},"data": {"d" : 2},
             "override":{"force_positioning":{"value":true},"presence":{"value":false}},
             "channels":7,"subs":"x","meta":[)"
         R"(1]})"),
      now);
  ASSERT_TRUE(r) << outcome(r);
  EXPECT_EQ(r->channel, "$private:1");
  EXPECT_EQ(r->user, "42");
  EXPECT_EQ(r->client, "c-1");
  EXPECT_EQ(r->exp, 1700000100);
  EXPECT_EQ(r->expire_at, 0);
  EXPECT_EQ(r->info, R"({"i":1})");
  EXPECT_EQ(r->data, R"({"d" : 2})");
  EXPECT_EQ(r->overrides.force_positioning, true);
  EXPECT_EQ(r->overrides.presence, false);
  EXPECT_FALSE(r->overrides.join_leave);

  r = v.verify_subscription_token(
      hs(R"({"channel":"c","data":{"x":1},"b64data":"aGk=","info":1,"b64info":"aQ=="})"), now);
  ASSERT_TRUE(r) << outcome(r);
  EXPECT_EQ(r->data, "hi");
  EXPECT_EQ(r->info, "i");
  EXPECT_FALSE(v.verify_subscription_token(hs(R"({"channel":"c","b64data":"?"})"), now));
}

TEST(subscription_token, channel_is_required) {
  auto v = make(hmac_config());
  for (const char* p : {R"({"sub":"1"})", R"({"channel":""})", R"({"channel":null})"}) {
    SCOPED_TRACE(p);
    auto r = v.verify_subscription_token(hs(p), now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "subscription token has no channel claim");
    // Invalid subscription tokens are error 103, not a disconnect.
    status s = subscription_token_failure(r.error());
    EXPECT_FALSE(s.is_disconnect());
    EXPECT_EQ(s.error().code, 103u);
  }
  EXPECT_FALSE(v.verify_subscription_token(hs(R"({"channel":1})"), now));
  EXPECT_FALSE(
      v.verify_subscription_token(hs(R"({"channel":"c","override":{"join_leave":1}})"), now));
  EXPECT_EQ(v.verify_subscription_token(hs(R"({"channel":"c","exp":5})"), now).error().code,
            token_error_code::expired);
}

// ---- keys through the verifier ----

TEST(token_keys, rsa_and_ecdsa_and_mixed) {
  token_config c;
  c.rsa_public_key = test::rsa_2048().public_pem;
  auto v = make(c);
  EXPECT_TRUE(v.verify_connection_token(
      signed_with(jwt_alg::rs384, test::rsa_2048().private_pem, R"({"sub":"r"})"), now));
  EXPECT_EQ(outcome(v.verify_connection_token(hs(R"({"sub":"r"})"), now)),
            "invalid token: disabled JWT algorithm \"HS256\"");
  // Confusion attack through the verifier: HS256 keyed with the RSA public key PEM.
  EXPECT_FALSE(v.verify_connection_token(hs("{}", c.rsa_public_key), now));

  c = {};
  c.ecdsa_public_key = test::ec_key("P-384").public_pem;
  v = make(c);
  EXPECT_TRUE(v.verify_subscription_token(
      signed_with(jwt_alg::es384, test::ec_key("P-384").private_pem, R"({"channel":"c"})"), now));
  EXPECT_FALSE(v.verify_subscription_token(
      signed_with(jwt_alg::es256, test::ec_key("P-256").private_pem, R"({"channel":"c"})"), now));

  c = hmac_config();
  c.rsa_public_key = test::rsa_2048().cert_pem;
  c.ecdsa_public_key = test::ec_key("P-256").public_pem;
  v = make(c);
  EXPECT_TRUE(v.verify_connection_token(hs("{}", "secret", jwt_alg::hs512), now));
  EXPECT_TRUE(v.verify_connection_token(
      signed_with(jwt_alg::rs512, test::rsa_2048().private_pem, "{}"), now));
  EXPECT_TRUE(v.verify_connection_token(
      signed_with(jwt_alg::es256, test::ec_key("P-256").private_pem, "{}"), now));
  EXPECT_FALSE(v.verify_connection_token(hs("{}", "other"), now));
  EXPECT_FALSE(v.verify_connection_token(test::raw_token(R"({"alg":"none"})", "{}", ""), now));

  // Nothing configured: every signed token is a disabled algorithm.
  v = make(token_config{});
  EXPECT_FALSE(v.verify_connection_token(hs("{}"), now));
}

TEST(token_keys, previous_hmac_key_until_deadline) {
  token_config c = hmac_config("new");
  c.hmac_previous_secret_key = "old";
  c.hmac_previous_secret_key_valid_until = now + 10;
  auto v = make(c);
  std::string old_token = hs(R"({"sub":"u"})", "old");
  EXPECT_TRUE(v.verify_connection_token(hs(R"({"sub":"u"})", "new"), now + 1000));
  EXPECT_TRUE(v.verify_connection_token(old_token, now));
  EXPECT_TRUE(v.verify_connection_token(old_token, now + 10));  // now <= valid_until
  auto r = v.verify_connection_token(old_token, now + 11);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "signature mismatch");
  EXPECT_TRUE(v.verify_subscription_token(hs(R"({"channel":"c"})", "old", jwt_alg::hs384), now));
  EXPECT_FALSE(v.verify_connection_token(hs("{}", "older"), now));

  // 0 = no deadline.
  c.hmac_previous_secret_key_valid_until = 0;
  v = make(c);
  EXPECT_TRUE(v.verify_connection_token(old_token, now + 100'000'000));

  // The previous key only ever verifies HS* tokens, even when the current key is RSA.
  c = {};
  c.rsa_public_key = test::rsa_2048().public_pem;
  c.hmac_previous_secret_key = "old";
  v = make(c);
  EXPECT_TRUE(v.verify_connection_token(old_token, now));
  std::string header = R"({"alg":"RS256"})";
  std::string forged =
      test::raw_token(header, "{}", test::hmac_sha256("old", test::signing_input(header, "{}")));
  EXPECT_FALSE(v.verify_connection_token(forged, now));
}

TEST(token_keys, jwks_without_a_fetcher_is_a_temporary_error) {
  token_config c = hmac_config();
  c.jwks_public_endpoint = "https://example.com/.well-known/jwks.json";
  auto v = make(c);
  // Static keys are not used with JWKS; without a fetcher (the CLI) nothing verifies.
  auto r = v.verify_connection_token(hs("{}"), now);
  ASSERT_FALSE(r);
  r = v.verify_connection_token(signed_with(jwt_alg::rs256, test::rsa_2048().private_pem, "{}"),
                                now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, token_error_code::internal);
  EXPECT_EQ(connection_token_failure(r.error()).error().code, 100u);
  EXPECT_EQ(v.config().jwks_public_endpoint, c.jwks_public_endpoint);
}

TEST(token_keys, insecure_skip_signature_still_checks_claims) {
  token_config c;
  c.insecure_skip_token_signature_verify = true;
  auto v = make(c);
  auto r =
      v.verify_connection_token(test::raw_token(R"({"alg":"none"})", R"({"sub":"x"})", ""), now);
  ASSERT_TRUE(r) << outcome(r);
  EXPECT_EQ(r->user, "x");
  EXPECT_TRUE(v.verify_connection_token(hs(R"({"sub":"x"})", "whatever"), now));
  EXPECT_EQ(v.verify_connection_token(test::raw_token(R"({"alg":"none"})", R"({"exp":1})", ""), now)
                .error()
                .code,
            token_error_code::expired);
  EXPECT_FALSE(v.verify_connection_token(
      test::raw_token(R"({"alg":"none"})", R"({"channel":"c"})", ""), now));
  EXPECT_FALSE(v.verify_connection_token("garbage", now));
}

// ---- hostile input ----

TEST(token_input, malformed_payloads_are_invalid) {
  auto v = make(hmac_config());
  for (std::string p : {"[1]", "\"str\"", "42", "null", "", "{\"sub\":", "{\"sub\":\"a\"} {}",
                        R"({"info":[1,,2]})", R"({"unknown":[1,,2]})", R"({"info":{"a":}})",
                        "{\"sub\":\"\xff\"}", R"({"sub":"a",})", "{'sub':'a'}"}) {
    SCOPED_TRACE(p);
    auto r = v.verify_connection_token(hs(p), now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, token_error_code::invalid);
    EXPECT_FALSE(v.verify_subscription_token(hs(p), now));
  }
  // Very deep nesting is rejected, not a crash.
  std::string deep = R"({"info":)" + std::string(5000, '[') + std::string(5000, ']') + "}";
  EXPECT_FALSE(v.verify_connection_token(hs(deep), now));
}

TEST(token_input, garbage_tokens_never_verify) {
  auto v = make(hmac_config());
  std::string good = hs(R"({"sub":"1"})");
  for (std::string t :
       {std::string(), std::string("."), std::string(".."), std::string("a.b.c"), good + ".",
        good.substr(0, good.size() - 1), "x" + good, std::string(2'000'000, 'A'),
        std::string(100'000, '.'), std::string("\0\0\0", 3)}) {
    auto r = v.verify_connection_token(t, now);
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().code, token_error_code::invalid);
    }
  }
  // Flip every character of a valid token: none of the variants may verify.
  for (size_t i = 0; i < good.size(); ++i) {
    std::string t = good;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    if (t == good) continue;
    auto r = v.verify_connection_token(t, now);
    EXPECT_FALSE(r) << "position " << i;
  }
}

TEST(token_input, concurrent_verification) {
  token_config c = hmac_config();
  c.rsa_public_key = test::rsa_2048().public_pem;
  c.audience_regex = "a.*";
  auto v = make(c);
  std::string rs = signed_with(jwt_alg::rs256, test::rsa_2048().private_pem,
                               R"({"sub":"r","aud":"abc","info":{"k":[1,2,3]}})");
  std::string hs_token = hs(R"({"sub":"h","aud":"a","channel":"c"})");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto a = v.verify_connection_token(rs, now);
        auto b = v.verify_subscription_token(hs_token, now);
        if (!a || a->info != R"({"k":[1,2,3]})" || !b || b->user != "h") ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace gyre::auth
