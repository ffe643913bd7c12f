// JSON Web Key Sets (auth/jwk.hpp, auth/jwks_cache.hpp) and JWKS token verification
// (token_verifier with a jwks_public_endpoint): RSA n/e and EC P-256/384/521 x/y keys read
// from JWK members (made here from run-time generated keys) verify tokens their private
// keys signed; bad keys are skipped and bad sets refused; the cache answers without
// waiting, fetches on a thread of its own, refreshes for an unknown kid at most once per
// interval, keeps its set when a fetch fails; the verifier picks the key by kid and fills
// {{placeholders}} only from regex groups, never in the host.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/jwk.hpp"
#include "auth/jwks_cache.hpp"
#include "auth/jwt.hpp"
#include "auth/test_keys.hpp"
#include "auth/token_verifier.hpp"
#include "core/base64.hpp"

namespace gyre::auth {
namespace {

constexpr int64_t now = 1'700'000'000;

// The JWK (JSON) of a PEM public key, with `kid` and optional extra members.
std::string jwk_json(const std::string& public_pem, const std::string& kid,
                     const std::string& extra = R"("use":"sig")") {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EXPECT_NE(k, nullptr);
  std::string out = "{" + extra + R"(,"kid":")" + kid + "\"";
  auto bn = [&](const char* name) {
    BIGNUM* b = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(k, name, &b), 1);
    std::string raw(static_cast<size_t>(BN_num_bytes(b)), '\0');
    BN_bn2bin(b, reinterpret_cast<unsigned char*>(raw.data()));
    BN_free(b);
    return base64url_encode(raw);
  };
  if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
    out += R"(,"kty":"RSA","n":")" + bn(OSSL_PKEY_PARAM_RSA_N) + R"(","e":")" +
           bn(OSSL_PKEY_PARAM_RSA_E) + "\"";
  } else {
    char group[64] = {};
    size_t len = 0;
    EVP_PKEY_get_group_name(k, group, sizeof group, &len);
    std::string g(group);
    std::string crv = g == "prime256v1" ? "P-256" : g == "secp384r1" ? "P-384" : "P-521";
    unsigned char point[200];
    size_t plen = 0;
    EXPECT_EQ(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                              sizeof point, &plen),
              1);
    size_t half = (plen - 1) / 2;
    std::string x(reinterpret_cast<char*>(point) + 1, half);
    std::string y(reinterpret_cast<char*>(point) + 1 + half, half);
    out += R"(,"kty":"EC","crv":")" + crv + R"(","x":")" + base64url_encode(x) + R"(","y":")" +
           base64url_encode(y) + "\"";
  }
  EVP_PKEY_free(k);
  return out + "}";
}

std::string sign(jwt_alg alg, const std::string& private_pem, std::string_view payload,
                 std::string_view kid) {
  auto key = private_key::from_pem(private_pem).value();
  return jwt_signer::with_key(alg, key).value().sign(payload, kid).value();
}

jws_token parsed(const std::string& token) {
  return parse_jws(token).value();
}

TEST(jwk, reads_rsa_and_ec_keys_that_verify_their_tokens) {
  struct one {
    const test::key_pems& k;
    jwt_alg alg;
  } cases[] = {{test::rsa_2048(), jwt_alg::rs256},
               {test::ec_key("P-256"), jwt_alg::es256},
               {test::ec_key("P-384"), jwt_alg::es384},
               {test::ec_key("P-521"), jwt_alg::es512}};
  std::string json = R"({"keys":[)";
  for (size_t i = 0; i < std::size(cases); ++i)
    json += (i ? "," : "") + jwk_json(cases[i].k.public_pem, "k" + std::to_string(i));
  json += "]}";
  auto set = parse_jwk_set(json);
  ASSERT_TRUE(set) << set.error();
  ASSERT_EQ(set->keys.size(), 4u) << set->first_skip_reason;
  EXPECT_EQ(set->skipped, 0u);
  for (size_t i = 0; i < std::size(cases); ++i) {
    const jwk& k = set->keys[i];
    EXPECT_EQ(k.kid, "k" + std::to_string(i));
    EXPECT_TRUE(jwk_allows(k, cases[i].alg));
    jws_token t = parsed(sign(cases[i].alg, cases[i].k.private_pem, R"({"sub":"u"})", k.kid));
    EXPECT_TRUE(verify_signature(cases[i].alg, k.key, t.signing_input, t.signature)) << i;
    // Another key's token does not verify.
    jws_token other = parsed(sign(jwt_alg::rs256, test::rsa_other().private_pem, "{}", k.kid));
    EXPECT_FALSE(verify_signature(jwt_alg::rs256, k.key, other.signing_input, other.signature));
  }
  // Family and curve: an RSA JWK never checks ES*, a P-256 one never ES384.
  EXPECT_FALSE(jwk_allows(set->keys[0], jwt_alg::es256));
  EXPECT_TRUE(jwk_allows(set->keys[0], jwt_alg::rs512));
  EXPECT_FALSE(jwk_allows(set->keys[1], jwt_alg::es384));
  EXPECT_FALSE(jwk_allows(set->keys[1], jwt_alg::hs256));
}

TEST(jwk, alg_member_pins_the_algorithm) {
  auto set = parse_jwk_set(
      R"({"keys":[)" + jwk_json(test::rsa_2048().public_pem, "a", R"("use":"sig","alg":"RS384")") +
      "]}");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->keys.size(), 1u);
  EXPECT_TRUE(jwk_allows(set->keys[0], jwt_alg::rs384));
  EXPECT_FALSE(jwk_allows(set->keys[0], jwt_alg::rs256));
}

TEST(jwk, skips_bad_keys_and_refuses_bad_sets) {
  const std::string rsa = test::rsa_2048().public_pem;
  const std::string p256 = test::ec_key("P-256").public_pem;
  std::string good = jwk_json(rsa, "good");
  std::string enc = jwk_json(rsa, "enc", R"("use":"enc")");
  std::string no_use = jwk_json(rsa, "nouse", R"("x5t":"1")");
  std::string no_kid = R"({"use":"sig","kty":"RSA","n":"AQAB","e":"AQAB"})";
  std::string okp =
      R"({"use":"sig","kid":"o","kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
  std::string small_n = R"({"use":"sig","kid":"s","kty":"RSA","n":"AQAB","e":"AQAB"})";
  std::string bad_b64 = R"({"use":"sig","kid":"b","kty":"RSA","n":"!!!","e":"AQAB"})";
  std::string wrong_alg = jwk_json(p256, "w", R"("use":"sig","alg":"ES384")");
  // A P-256 point with y changed: not on the curve.
  std::string off_curve = jwk_json(p256, "off");
  size_t y = off_curve.find(R"("y":")") + 5;
  off_curve[y] = off_curve[y] == 'A' ? 'B' : 'A';
  std::string short_x =
      R"({"use":"sig","kid":"sx","kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"})";
  std::string other_curve =
      R"({"use":"sig","kid":"c","kty":"EC","crv":"P-192","x":"AAAA","y":"AAAA"})";
  auto set = parse_jwk_set(R"({"keys":[)" + good + "," + enc + "," + no_use + "," + no_kid + "," +
                           okp + "," + small_n + "," + bad_b64 + "," + wrong_alg + "," + off_curve +
                           "," + short_x + "," + other_curve + R"(,42,"x"]})");
  ASSERT_TRUE(set) << set.error();
  ASSERT_EQ(set->keys.size(), 1u);
  EXPECT_EQ(set->keys[0].kid, "good");
  EXPECT_EQ(set->skipped, 12u);
  EXPECT_EQ(set->first_skip_reason, "use is not \"sig\"");

  for (std::string_view bad :
       {"", "garbage", "[]", "{}", R"({"keys":{}})", R"({"keys":"x"})", "{\"keys\":[", "\xff\xfe"})
    EXPECT_FALSE(parse_jwk_set(bad)) << bad;
  std::string many = R"({"keys":[)";
  for (size_t i = 0; i <= max_jwks_keys; ++i) many += (i ? "," : "") + std::string("{}");
  EXPECT_FALSE(parse_jwk_set(many + "]}"));
  auto empty = parse_jwk_set(R"({"keys":[]})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->keys.empty());
}

// A fetch the test controls: the body it serves, failures, the URLs it was asked for.
// Shared with the fetch function: a cache's thread may still run it after the test.
struct fake_endpoint {
  std::mutex mu;
  std::string body;
  bool fail = false;
  std::vector<std::string> urls;
  void serve(std::string b, bool failing = false) {
    std::lock_guard lock(mu);
    body = std::move(b);
    fail = failing;
  }
  size_t asked() {
    std::lock_guard lock(mu);
    return urls.size();
  }
  std::string first_url() {
    std::lock_guard lock(mu);
    return urls.empty() ? std::string() : urls.front();
  }
};

std::shared_ptr<fake_endpoint> endpoint() {
  return std::make_shared<fake_endpoint>();
}

jwks_fetch fetch_of(const std::shared_ptr<fake_endpoint>& ep) {
  return [ep](const std::string& url) {
    std::lock_guard lock(ep->mu);
    ep->urls.push_back(url);
    jwks_fetch_result r;
    if (ep->fail) {
      r.error = "HTTP status 500";
    } else {
      r.ok = true;
      r.body = ep->body;
    }
    return r;
  };
}

// Waits (bounded) until the cache completed `n` fetches.
void wait_fetches(const jwks_cache& c, uint64_t n) {
  for (int i = 0; i < 2000 && c.fetches() < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_GE(c.fetches(), n);
}

struct manual_clock {
  std::atomic<int64_t> ms{1'000'000};
  std::function<int64_t()> fn() {
    return [this] { return ms.load(); };
  }
};

TEST(jwks_cache, answers_at_once_fetches_off_thread_and_refreshes_for_unknown_kids) {
  auto ep = endpoint();
  manual_clock clk;
  ep->serve(R"({"keys":[)" + jwk_json(test::rsa_2048().public_pem, "one") + "]}");
  jwks_options o;
  o.now_ms = clk.fn();
  jwks_cache c(fetch_of(ep), o);
  const std::string url = "http://keys.test/jwks";

  EXPECT_EQ(c.lookup(url, "one").st, jwks_cache::status::not_ready);
  wait_fetches(c, 1);
  EXPECT_EQ(c.lookup(url, "one").st, jwks_cache::status::found);

  // The endpoint rotates. The first token with the new kid gets not_ready and queues one
  // refresh, which waits for the refresh interval; more lookups queue nothing more.
  ep->serve(R"({"keys":[)" + jwk_json(test::rsa_other().public_pem, "two") + "]}");
  auto r = c.lookup(url, "two");
  EXPECT_EQ(r.st, jwks_cache::status::not_ready);
  EXPECT_NE(r.why.find("refreshing"), std::string::npos) << r.why;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(c.lookup(url, "two").st, jwks_cache::status::not_ready);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ep->asked(), 1u);  // not before the interval
  clk.ms += 1000;
  wait_fetches(c, 2);
  EXPECT_EQ(ep->asked(), 2u);
  EXPECT_EQ(c.lookup(url, "two").st, jwks_cache::status::found);
  // "one" was rotated out: its first miss queues a refresh; once a fetch that started
  // after the miss lacks it too, it is unknown (invalid).
  EXPECT_EQ(c.lookup(url, "one").st, jwks_cache::status::not_ready);
  clk.ms += 1000;
  wait_fetches(c, 3);
  EXPECT_EQ(c.lookup(url, "one").st, jwks_cache::status::unknown);
  EXPECT_EQ(ep->asked(), 3u);

  // A failing endpoint keeps the set; the error shows in not_ready answers.
  ep->serve("", true);
  EXPECT_EQ(c.lookup(url, "three").st, jwks_cache::status::not_ready);
  clk.ms += 1000;
  wait_fetches(c, 4);
  EXPECT_EQ(ep->asked(), 5u);  // two attempts
  EXPECT_EQ(c.lookup(url, "two").st, jwks_cache::status::found);
  r = c.lookup(url, "three");
  EXPECT_EQ(r.st, jwks_cache::status::not_ready);  // no successful fetch since the miss
  EXPECT_NE(r.why.find("HTTP status 500"), std::string::npos) << r.why;

  // A stale set (older than ttl) keeps answering while it is refreshed.
  ep->serve(R"({"keys":[)" + jwk_json(test::rsa_other().public_pem, "two") + "]}");
  clk.ms += 1000;
  wait_fetches(c, 5);
  clk.ms += 3600 * 1000 + 1;
  EXPECT_EQ(c.lookup(url, "two").st, jwks_cache::status::found);
  wait_fetches(c, 6);
}

TEST(jwks_cache, bad_sets_and_too_many_urls) {
  auto ep = endpoint();
  ep->serve("<html>not json</html>");
  jwks_options o;
  o.max_urls = 2;
  jwks_cache c(fetch_of(ep), o);
  c.lookup("http://a.test/1", "k");
  wait_fetches(c, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto r = c.lookup("http://a.test/1", "k");
  EXPECT_EQ(r.st, jwks_cache::status::not_ready);
  EXPECT_NE(r.why.find("bad key set"), std::string::npos) << r.why;
  c.lookup("http://a.test/2", "k");
  r = c.lookup("http://a.test/3", "k");
  EXPECT_EQ(r.st, jwks_cache::status::not_ready);
  EXPECT_NE(r.why.find("more than 2 JWKS URLs"), std::string::npos) << r.why;
}

TEST(jwks_verifier, picks_the_key_by_kid_and_fails_temporarily_until_fetched) {
  auto ep = endpoint();
  ep->serve(R"({"keys":[)" + jwk_json(test::rsa_2048().public_pem, "r") + "," +
            jwk_json(test::ec_key("P-384").public_pem, "e") + "]}");
  auto cache = std::make_shared<jwks_cache>(fetch_of(ep));
  token_config cfg;
  cfg.hmac_secret_key = "static-keys-are-not-used";
  cfg.jwks_public_endpoint = "http://keys.test/jwks.json";
  auto v = token_verifier::create(cfg, "client.token", cache).value();
  wait_fetches(*cache, 1);  // created with a prefetch
  EXPECT_EQ(ep->first_url(), cfg.jwks_public_endpoint);

  auto ok = v.verify_connection_token(
      sign(jwt_alg::rs256, test::rsa_2048().private_pem, R"({"sub":"u1"})", "r"), now);
  ASSERT_TRUE(ok) << ok.error().reason;
  EXPECT_EQ(ok->user, "u1");
  auto es = v.verify_subscription_token(
      sign(jwt_alg::es384, test::ec_key("P-384").private_pem, R"({"sub":"u","channel":"c"})", "e"),
      now);
  EXPECT_TRUE(es) << es.error().reason;
  // The wrong key for a kid, no kid, an HMAC token, a kid of the wrong family.
  auto wrong = v.verify_connection_token(
      sign(jwt_alg::rs256, test::rsa_other().private_pem, R"({"sub":"u"})", "r"), now);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, token_error_code::invalid);
  auto no_kid = v.verify_connection_token(
      sign(jwt_alg::rs256, test::rsa_2048().private_pem, R"({"sub":"u"})", ""), now);
  ASSERT_FALSE(no_kid);
  EXPECT_EQ(no_kid.error().code, token_error_code::invalid);
  auto hmac = v.verify_connection_token(
      jwt_signer::hmac(jwt_alg::hs256, "static-keys-are-not-used").value().sign("{}", "r").value(),
      now);
  ASSERT_FALSE(hmac);
  EXPECT_EQ(hmac.error().code, token_error_code::invalid);
  auto family = v.verify_connection_token(
      sign(jwt_alg::es256, test::ec_key("P-256").private_pem, R"({"sub":"u"})", "r"), now);
  EXPECT_FALSE(family);
  // An unknown kid: temporary until a fetch after the miss lacks it too, then invalid.
  const std::string zzz =
      sign(jwt_alg::rs256, test::rsa_2048().private_pem, R"({"sub":"u"})", "zzz");
  auto unknown = v.verify_connection_token(zzz, now);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, token_error_code::internal);
  wait_fetches(*cache, 2);
  unknown = v.verify_connection_token(zzz, now);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, token_error_code::invalid);
}

TEST(jwks_verifier, not_fetched_yet_is_internal) {
  auto ep = endpoint();
  ep->serve("", true);
  auto cache = std::make_shared<jwks_cache>(fetch_of(ep));
  token_config cfg;
  cfg.jwks_public_endpoint = "http://keys.test/jwks.json";
  auto v = token_verifier::create(cfg, "client.token", cache).value();
  auto r = v.verify_connection_token(
      sign(jwt_alg::rs256, test::rsa_2048().private_pem, R"({"sub":"u"})", "r"), now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, token_error_code::internal);
}

TEST(jwks_verifier, placeholders_come_from_regex_groups_and_never_choose_the_host) {
  auto ep = endpoint();
  ep->serve(R"({"keys":[)" + jwk_json(test::rsa_2048().public_pem, "r") + "]}");
  auto cache = std::make_shared<jwks_cache>(fetch_of(ep));
  token_config cfg;
  cfg.issuer_regex = R"(^https://auth\.example/(?P<tenant>acme|globex)$)";
  cfg.jwks_public_endpoint = "http://keys.test/{{tenant}}/jwks.json";
  auto v = token_verifier::create(cfg, "client.token", cache).value();
  auto tok = [](std::string_view payload) {
    return sign(jwt_alg::rs256, test::rsa_2048().private_pem, payload, "r");
  };
  auto r = v.verify_connection_token(tok(R"({"sub":"u","iss":"https://auth.example/acme"})"), now);
  EXPECT_FALSE(r);  // not fetched yet
  wait_fetches(*cache, 1);
  EXPECT_EQ(ep->first_url(), "http://keys.test/acme/jwks.json");
  r = v.verify_connection_token(tok(R"({"sub":"u","iss":"https://auth.example/acme"})"), now);
  EXPECT_TRUE(r) << r.error().reason;
  // An issuer outside the alternation gives no value: invalid, nothing fetched.
  r = v.verify_connection_token(tok(R"({"sub":"u","iss":"https://auth.example/evil.com"})"), now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, token_error_code::invalid);
  EXPECT_EQ(ep->asked(), 1u);

  // Placeholders in the host, port or scheme, and unknown groups, are configuration errors.
  for (std::string bad : {"http://{{tenant}}.keys.test/jwks.json", "http://keys.test:{{tenant}}/x",
                          "{{tenant}}://keys.test/x", "http://keys.test/{{nope}}/jwks.json",
                          "http://keys.test/{{tenant"}) {
    token_config b = cfg;
    b.jwks_public_endpoint = bad;
    auto e = token_verifier::create(b, "client.token", cache);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().rfind("client.token.jwks_public_endpoint: ", 0), 0u) << e.error();
  }
  // With a permissive group (insecure_skip_jwks_endpoint_safety_check), values are still
  // one path segment of [A-Za-z0-9_-].
  token_config loose = cfg;
  loose.issuer_regex = R"(^https://auth\.example/(?P<tenant>.+)$)";
  auto lv = token_verifier::create(loose, "client.token", cache).value();
  for (std::string_view iss : {"https://auth.example/../x", "https://auth.example/a/b",
                               "https://auth.example/a.b", "https://auth.example/%2e%2e"}) {
    auto bad =
        lv.verify_connection_token(tok(R"({"sub":"u","iss":")" + std::string(iss) + "\"}"), now);
    ASSERT_FALSE(bad) << iss;
    EXPECT_EQ(bad.error().code, token_error_code::invalid) << iss;
  }
  EXPECT_EQ(ep->asked(), 1u);
}

}  // namespace
}  // namespace gyre::auth
