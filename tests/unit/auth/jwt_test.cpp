// Tests of compact JWS parsing, signing and signature verification (auth/jwt.hpp).
#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "auth/test_keys.hpp"
#include "core/base64.hpp"

namespace gyre::auth {
namespace {

using test::ec_key;
using test::raw_token;
using test::rsa_2048;

constexpr jwt_alg all_algs[] = {jwt_alg::hs256, jwt_alg::hs384, jwt_alg::hs512,
                                jwt_alg::rs256, jwt_alg::rs384, jwt_alg::rs512,
                                jwt_alg::es256, jwt_alg::es384, jwt_alg::es512};

std::string_view curve_of(jwt_alg alg) {
  switch (alg) {
    case jwt_alg::es256:
      return "P-256";
    case jwt_alg::es384:
      return "P-384";
    default:
      return "P-521";
  }
}

public_key pub(std::string_view pem) {
  auto k = public_key::from_pem(pem);
  EXPECT_TRUE(k) << (k ? "" : k.error());
  return std::move(k).value();
}

private_key priv(std::string_view pem) {
  auto k = private_key::from_pem(pem);
  EXPECT_TRUE(k) << (k ? "" : k.error());
  return std::move(k).value();
}

// A signer and the matching verification keys for `alg`.
std::pair<jwt_signer, jwt_keys> signer_and_keys(jwt_alg alg) {
  jwt_keys keys;
  if (is_hmac(alg)) {
    keys.hmac_secret = "s3cr3t";
    return {jwt_signer::hmac(alg, "s3cr3t").value(), keys};
  }
  const auto& pems = is_rsa(alg) ? rsa_2048() : ec_key(curve_of(alg));
  if (is_rsa(alg)) {
    keys.rsa = pub(pems.public_pem);
  } else {
    keys.ec = pub(pems.public_pem);
  }
  return {jwt_signer::with_key(alg, priv(pems.private_pem)).value(), keys};
}

TEST(jwt_alg, names_round_trip_and_none_is_unknown) {
  for (jwt_alg a : all_algs) EXPECT_EQ(jwt_alg_from_name(jwt_alg_name(a)), a);
  EXPECT_FALSE(jwt_alg_from_name("none"));
  EXPECT_FALSE(jwt_alg_from_name("hs256"));  // case-sensitive
  EXPECT_FALSE(jwt_alg_from_name("PS256"));
  EXPECT_FALSE(jwt_alg_from_name("EdDSA"));
}

TEST(jwt, every_algorithm_round_trips) {
  for (jwt_alg alg : all_algs) {
    SCOPED_TRACE(std::string(jwt_alg_name(alg)));
    auto [signer, keys] = signer_and_keys(alg);
    auto token = signer.sign(R"({"sub":"42"})", "kid-1");
    ASSERT_TRUE(token) << token.error();
    auto jws = parse_jws(*token);
    ASSERT_TRUE(jws) << jws.error().reason;
    EXPECT_EQ(jws->alg, jwt_alg_name(alg));
    EXPECT_EQ(jws->kid, "kid-1");
    EXPECT_EQ(jws->payload, R"({"sub":"42"})");
    EXPECT_TRUE(verify_jws(*jws, keys)) << verify_jws(*jws, keys).error().reason;
    if (is_ecdsa(alg)) {
      // JWS ECDSA signatures are raw r||s of fixed size, not DER.
      size_t n = alg == jwt_alg::es256 ? 32 : alg == jwt_alg::es384 ? 48 : 66;
      EXPECT_EQ(jws->signature.size(), 2 * n);
    }
  }
}

TEST(jwt, tampering_breaks_every_algorithm) {
  for (jwt_alg alg : all_algs) {
    SCOPED_TRACE(std::string(jwt_alg_name(alg)));
    auto [signer, keys] = signer_and_keys(alg);
    auto jws = parse_jws(signer.sign(R"({"sub":"42"})").value()).value();

    jws_token bad_sig = jws;
    bad_sig.signature[bad_sig.signature.size() / 2] ^= 0x01;
    auto r = verify_jws(bad_sig, keys);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, token_error_code::invalid);
    EXPECT_EQ(r.error().reason, "signature mismatch");

    jws_token bad_payload = jws;
    bad_payload.signing_input.back() ^= 0x01;
    EXPECT_FALSE(verify_jws(bad_payload, keys));

    jws_token short_sig = jws;
    short_sig.signature.pop_back();
    EXPECT_FALSE(verify_jws(short_sig, keys));

    jws_token empty_sig = jws;
    empty_sig.signature.clear();
    EXPECT_FALSE(verify_jws(empty_sig, keys));
  }
}

TEST(jwt, known_hs256_vector_verifies) {
  // The well-known example token of jwt.io (secret "your-256-bit-secret").
  auto jws = parse_jws(
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
  ASSERT_TRUE(jws);
  jwt_keys keys;
  keys.hmac_secret = "your-256-bit-secret";
  EXPECT_TRUE(verify_jws(*jws, keys));
  keys.hmac_secret = "your-256-bit-secreT";
  EXPECT_FALSE(verify_jws(*jws, keys));
}

TEST(jwt, rfc7515_es256_vector_verifies) {
  // RFC 7515 Appendix A.3: produced by another implementation, so this checks the r||s
  // signature format against the standard rather than against our own signer.
  const char* pem =
      "-----BEGIN PUBLIC KEY-----\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvR\n"
      "VEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n"
      "-----END PUBLIC KEY-----\n";
  std::string token =
      "eyJhbGciOiJFUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
      "cnVlfQ."
      "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
  auto jws = parse_jws(token);
  ASSERT_TRUE(jws) << jws.error().reason;
  jwt_keys keys;
  keys.ec = pub(pem);
  EXPECT_EQ(keys.ec->ec_alg(), jwt_alg::es256);
  EXPECT_TRUE(verify_jws(*jws, keys));
  char& c = token[token.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_jws(parse_jws(token).value(), keys));
  // The last character carries unused low bits: a non-canonical spelling is malformed.
  token = token.substr(0, token.size() - 1) + "R";
  EXPECT_FALSE(parse_jws(token));
}

TEST(jwt, certificate_pem_works_like_public_key) {
  jwt_keys keys;
  keys.rsa = pub(rsa_2048().cert_pem);
  EXPECT_EQ(keys.rsa->type(), public_key::key_type::rsa);
  auto rs = jwt_signer::with_key(jwt_alg::rs256, priv(rsa_2048().private_pem)).value();
  EXPECT_TRUE(verify_jws(parse_jws(rs.sign("{}").value()).value(), keys));

  keys.ec = pub(ec_key("P-384").cert_pem);
  EXPECT_EQ(keys.ec->ec_alg(), jwt_alg::es384);
  auto es = jwt_signer::with_key(jwt_alg::es384, priv(ec_key("P-384").private_pem)).value();
  EXPECT_TRUE(verify_jws(parse_jws(es.sign("{}").value()).value(), keys));
}

TEST(jwt, wrong_key_fails) {
  jwt_keys keys;
  keys.rsa = pub(test::rsa_other().public_pem);
  auto rs = jwt_signer::with_key(jwt_alg::rs256, priv(rsa_2048().private_pem)).value();
  auto r = verify_jws(parse_jws(rs.sign("{}").value()).value(), keys);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "signature mismatch");
}

TEST(jwt, alg_none_is_rejected_even_with_all_keys) {
  jwt_keys keys;
  keys.hmac_secret = "secret";
  keys.rsa = pub(rsa_2048().public_pem);
  keys.ec = pub(ec_key("P-256").public_pem);
  for (std::string sig : {"", "x"}) {
    auto jws = parse_jws(raw_token(R"({"alg":"none"})", R"({"sub":"1"})", sig));
    ASSERT_TRUE(jws);
    auto r = verify_jws(*jws, keys);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "alg none is not allowed");
  }
  // Unknown and differently-cased algorithms are rejected too.
  for (const char* h : {R"({"alg":"NONE"})", R"({"alg":"PS256"})", R"({"alg":"HS1"})",
                        R"({"alg":""})", R"({"alg":"EdDSA"})"}) {
    SCOPED_TRACE(h);
    auto r = verify_jws(parse_jws(raw_token(h, "{}", "sig")).value(), keys);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().reason.find("unknown JWT algorithm"), std::string::npos);
  }
}

TEST(jwt, algorithm_must_match_configured_key_type) {
  // Only RSA configured: an HS256 token (any secret) is a disabled algorithm.
  jwt_keys rsa_only;
  rsa_only.rsa = pub(rsa_2048().public_pem);
  auto hs = jwt_signer::hmac(jwt_alg::hs256, "secret").value();
  auto r = verify_jws(parse_jws(hs.sign("{}").value()).value(), rsa_only);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().reason.find("disabled JWT algorithm"), std::string::npos);

  // The classic confusion attack: HMAC keyed with the public key PEM, whether the header
  // says HS256 or RS256, must not verify against an RSA key.
  const std::string& pem = rsa_2048().public_pem;
  auto confused_hs = jwt_signer::hmac(jwt_alg::hs256, pem).value().sign("{}").value();
  EXPECT_FALSE(verify_jws(parse_jws(confused_hs).value(), rsa_only));
  std::string header = R"({"alg":"RS256","typ":"JWT"})";
  std::string forged =
      raw_token(header, "{}", test::hmac_sha256(pem, test::signing_input(header, "{}")));
  EXPECT_FALSE(verify_jws(parse_jws(forged).value(), rsa_only));
  EXPECT_FALSE(verify_signature(jwt_alg::rs256, *rsa_only.rsa, test::signing_input(header, "{}"),
                                test::hmac_sha256(pem, test::signing_input(header, "{}"))));

  // Only HMAC configured: RS256 and ES256 tokens are disabled algorithms.
  jwt_keys hmac_only;
  hmac_only.hmac_secret = "secret";
  auto rs = jwt_signer::with_key(jwt_alg::rs256, priv(rsa_2048().private_pem)).value();
  EXPECT_FALSE(verify_jws(parse_jws(rs.sign("{}").value()).value(), hmac_only));
  auto es = jwt_signer::with_key(jwt_alg::es256, priv(ec_key("P-256").private_pem)).value();
  EXPECT_FALSE(verify_jws(parse_jws(es.sign("{}").value()).value(), hmac_only));

  // An EC key never verifies RS*, and an RSA key never verifies ES*.
  jwt_keys ec_as_rsa;
  ec_as_rsa.rsa = pub(ec_key("P-256").public_pem);
  EXPECT_FALSE(verify_jws(parse_jws(es.sign("{}").value()).value(), ec_as_rsa));
  EXPECT_FALSE(verify_signature(jwt_alg::rs256, pub(ec_key("P-256").public_pem), "a", "b"));
}

TEST(jwt, ecdsa_curve_selects_the_only_allowed_alg) {
  // Only a P-384 key configured: ES256 (even if signed by a P-256 key) is disabled, ES384 works.
  jwt_keys keys;
  keys.ec = pub(ec_key("P-384").public_pem);
  EXPECT_EQ(keys.ec->ec_alg(), jwt_alg::es384);
  auto es256 = jwt_signer::with_key(jwt_alg::es256, priv(ec_key("P-256").private_pem)).value();
  auto r = verify_jws(parse_jws(es256.sign("{}").value()).value(), keys);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().reason.find("disabled JWT algorithm"), std::string::npos);

  // A P-384 signature relabelled ES512 (right key, wrong alg) fails as well.
  auto es384 = jwt_signer::with_key(jwt_alg::es384, priv(ec_key("P-384").private_pem)).value();
  auto jws = parse_jws(es384.sign("{}").value()).value();
  jws.alg = "ES512";
  EXPECT_FALSE(verify_jws(jws, keys));

  EXPECT_EQ(pub(ec_key("P-256").public_pem).ec_alg(), jwt_alg::es256);
  EXPECT_EQ(pub(ec_key("P-521").public_pem).ec_alg(), jwt_alg::es512);
  EXPECT_FALSE(pub(rsa_2048().public_pem).ec_alg());
}

TEST(jwt, ecdsa_signature_with_zero_or_oversized_halves_fails) {
  jwt_keys keys;
  keys.ec = pub(ec_key("P-256").public_pem);
  std::string header = R"({"alg":"ES256"})";
  EXPECT_FALSE(verify_jws(parse_jws(raw_token(header, "{}", std::string(64, '\0'))).value(), keys));
  EXPECT_FALSE(
      verify_jws(parse_jws(raw_token(header, "{}", std::string(64, '\xff'))).value(), keys));
  EXPECT_FALSE(
      verify_jws(parse_jws(raw_token(header, "{}", std::string(72, '\x01'))).value(), keys));
}

TEST(jwt, key_pem_errors_are_reported) {
  EXPECT_FALSE(public_key::from_pem(""));
  EXPECT_EQ(public_key::from_pem("not a pem").error(), "no PEM block found");
  // A private key is not a public key.
  EXPECT_FALSE(public_key::from_pem(rsa_2048().private_pem));
  // A PEM block with garbage inside.
  EXPECT_FALSE(
      public_key::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
  // A curve JOSE does not define.
  auto k1 = public_key::from_pem(ec_key("secp256k1").public_pem);
  ASSERT_FALSE(k1);
  EXPECT_NE(k1.error().find("unsupported EC curve"), std::string::npos);
  // Junk before the PEM block is skipped (like Go's pem.Decode).
  EXPECT_TRUE(public_key::from_pem("comment line\n" + rsa_2048().public_pem));

  EXPECT_FALSE(private_key::from_pem(rsa_2048().public_pem));
  EXPECT_FALSE(private_key::from_pem("garbage"));
}

TEST(jwt, signer_rejects_mismatched_keys) {
  EXPECT_FALSE(jwt_signer::hmac(jwt_alg::rs256, "secret"));
  EXPECT_FALSE(jwt_signer::hmac(jwt_alg::hs256, ""));
  EXPECT_FALSE(jwt_signer::with_key(jwt_alg::hs256, priv(rsa_2048().private_pem)));
  EXPECT_FALSE(jwt_signer::with_key(jwt_alg::es256, priv(rsa_2048().private_pem)));
  EXPECT_FALSE(jwt_signer::with_key(jwt_alg::es256, priv(ec_key("P-384").private_pem)));
  EXPECT_FALSE(jwt_signer::with_key(jwt_alg::rs256, priv(ec_key("P-256").private_pem)));
}

TEST(jwt, signer_header_is_compact_json) {
  auto t = jwt_signer::hmac(jwt_alg::hs512, "k").value().sign(R"({"a":1})").value();
  auto jws = parse_jws(t).value();
  EXPECT_EQ(jws.header, R"({"alg":"HS512","typ":"JWT"})");
  EXPECT_TRUE(jws.kid.empty());
}

TEST(jws_parse, rejects_malformed_structure) {
  std::string ok = raw_token(R"({"alg":"HS256"})", "{}", "sig");
  EXPECT_TRUE(parse_jws(ok));
  auto invalid = [](std::string_view t) {
    auto r = parse_jws(t);
    return !r && r.error().code == token_error_code::invalid;
  };
  EXPECT_TRUE(invalid(""));
  EXPECT_TRUE(invalid("abc"));
  EXPECT_TRUE(invalid("a.b"));
  EXPECT_TRUE(invalid(ok + ".extra"));
  EXPECT_TRUE(invalid(".."));
  EXPECT_TRUE(invalid("." + base64url_encode("{}") + ".sig"));             // empty header
  EXPECT_TRUE(invalid(base64url_encode(R"({"alg":"HS256"})") + "..sig"));  // empty payload
  // base64url only: no padding, no standard-alphabet characters, no whitespace.
  EXPECT_TRUE(
      invalid(base64url_encode(R"({"alg":"HS256"})") + "=." + base64url_encode("{}") + ".c2ln"));
  EXPECT_TRUE(
      invalid(base64url_encode(R"({"alg":"HS256"})") + "." + base64url_encode("{}") + ".c2l+"));
  EXPECT_TRUE(
      invalid(base64url_encode(R"({"alg":"HS256"})") + "." + base64url_encode("{}") + ".c2 l"));
  EXPECT_TRUE(
      invalid(base64url_encode(R"({"alg":"HS256"})") + ".e30xx." + "c2ln"));  // impossible length
  EXPECT_TRUE(invalid(std::string(max_jwt_size + 1, 'a')));
}

TEST(jws_parse, rejects_bad_headers) {
  auto reason = [](std::string_view header) {
    auto r = parse_jws(raw_token(header, "{}", "sig"));
    return r ? std::string("ok") : r.error().reason;
  };
  EXPECT_EQ(reason(R"({"alg":"HS256","kid":"k"})"), "ok");
  EXPECT_EQ(reason("[]"), "header is not a JSON object");
  EXPECT_EQ(reason("\"HS256\""), "header is not a JSON object");
  EXPECT_EQ(reason(R"({"alg":"HS256")"), "header is not a JSON object");
  EXPECT_EQ(reason(R"({"alg":"HS256"} x)"), "header is not a JSON object");
  EXPECT_EQ(reason(""), "empty header or payload segment");
  EXPECT_EQ(reason(R"({"typ":"JWT"})"), "header has no alg");
  EXPECT_EQ(reason(R"({"alg":256})"), "header alg is not a string");
  EXPECT_EQ(reason(R"({"alg":null})"), "header alg is not a string");
  EXPECT_EQ(reason(R"({"alg":"HS256","kid":1})"), "header kid is not a string");
  EXPECT_EQ(reason(R"({"alg":"HS256","crit":["exp"]})"), "header crit is not supported");
  EXPECT_EQ(reason("{\"alg\":\"HS256\xff\"}"), "header is not a JSON object");  // bad UTF-8
}

TEST(jws_parse, survives_random_garbage) {
  std::mt19937 rng(12345);
  const char chars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \x00\xff";
  const std::string alphabet(chars, sizeof chars - 1);  // keeps the NUL byte
  jwt_keys keys;
  keys.hmac_secret = "secret";
  keys.rsa = pub(rsa_2048().public_pem);
  keys.ec = pub(ec_key("P-256").public_pem);
  for (int i = 0; i < 3000; ++i) {
    std::string t(rng() % 200, '\0');
    for (char& c : t) c = alphabet[rng() % alphabet.size()];
    auto r = parse_jws(t);
    if (r) verify_jws(*r, keys);  // must not crash; the result does not matter
  }
  // Random bytes that are well-formed base64url with random JSON-ish content.
  for (int i = 0; i < 2000; ++i) {
    std::string h(rng() % 40, '\0');
    for (char& c : h) c = static_cast<char>("{}[]\":,alg HS256RSE0\\u"[rng() % 23]);
    auto r = parse_jws(raw_token(h, "{}", std::string(rng() % 600, 'x')));
    if (r) {
      EXPECT_FALSE(verify_jws(*r, keys));
    }
  }
}

}  // namespace
}  // namespace gyre::auth
