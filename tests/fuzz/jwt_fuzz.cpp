// libFuzzer target for whole JWTs: the compact JWS parser and signature check (auth/jwt.*)
// and the token verifier in front of the claims reader (auth/token_verifier.*). The
// verifier has every key kind configured: an HMAC secret, a previous HMAC secret still
// valid, an RSA and an EC public key. The input is [mode][rest]:
//   mode bit 0 = 0: `rest` is the token text, as a client would send it;
//   mode bit 0 = 1: `rest` is <header JSON> NUL <payload JSON>; the target builds the
//     token and signs it with HMAC (alg from mode bits 1-2: HS256/384/512; secret from
//     bits 3-4: the current key, the previous key, or the RSA public key PEM, the classic
//     RS/HS confusion), so header parsing is reachable past a valid signature.
// Oracles beyond "no crash, no sanitizer report":
//   - a parsed token has exactly three segments, its signing input is the text before the
//     last '.', and its header is a JSON object (json_syntax, an independent checker);
//   - a token is accepted only if its signature is the HMAC of its signing input under a
//     configured HMAC secret for an HS* alg the header names (recomputed here with OpenSSL;
//     RSA and EC signatures cannot be forged by a fuzzer, so they must never pass);
//   - when the target signed with a configured secret and the alg the header names, the
//     outcome equals that of the same verifier with signature checks off.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"
#include "auth/test_keys.hpp"
#include "auth/token_verifier.hpp"
#include "core/base64.hpp"
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
constexpr std::string_view current_key = "fuzz-hmac-key";
constexpr std::string_view previous_key = "fuzz-previous-key";

struct setup {
  token_config config;
  token_verifier verifier;
  token_verifier insecure;
};

token_verifier make(const token_config& c) {
  auto v = token_verifier::create(c);
  CHECK(v.has_value());
  return std::move(v).value();
}

const setup& the_setup() {
  static const setup s = [] {
    token_config c;
    c.hmac_secret_key = std::string(current_key);
    c.hmac_previous_secret_key = std::string(previous_key);
    c.hmac_previous_secret_key_valid_until = now + 60;
    c.rsa_public_key = test::rsa_2048().public_pem;
    c.ecdsa_public_key = test::ec_key("P-256").public_pem;
    token_config off = c;
    off.insecure_skip_token_signature_verify = true;
    return setup{c, make(c), make(off)};
  }();
  return s;
}

const EVP_MD* hmac_md(std::string_view alg) {
  if (alg == "HS256") return EVP_sha256();
  if (alg == "HS384") return EVP_sha384();
  if (alg == "HS512") return EVP_sha512();
  return nullptr;
}

std::string hmac(const EVP_MD* md, std::string_view secret, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  CHECK(HMAC(md, secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
             &len) != nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

// Whether `jws` carries a true HMAC under a configured secret for the alg it names.
bool truly_signed(const jws_token& jws) {
  const EVP_MD* md = hmac_md(jws.alg);
  if (md == nullptr) return false;
  return jws.signature == hmac(md, current_key, jws.signing_input) ||
         jws.signature == hmac(md, previous_key, jws.signing_input);
}

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  return s;
}

template <typename R>
bool same_outcome(const R& a, const R& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return a.error().code == b.error().code && a.error().reason == b.error().reason;
  return true;  // equal claims are the claims fuzzer's business
}

// `signed_with_known`: the target itself signed with a configured secret and `alg`.
void check_token(const std::string& token, std::optional<std::string_view> signed_alg) {
  const setup& s = the_setup();
  auto jws = parse_jws(token);
  if (jws) {
    size_t dots = 0;
    for (char c : token) dots += c == '.';
    CHECK(dots == 2);
    CHECK(jws->signing_input == std::string_view(token).substr(0, token.rfind('.')));
    CHECK(gyre::fuzz::json_syntax::valid(jws->header));
    CHECK(trim_ws(jws->header).front() == '{');
    CHECK(!jws->payload.empty());
    auto checked = verify_jws(*jws, jwt_keys{std::string(current_key), std::nullopt, std::nullopt});
    if (checked) CHECK(jws->signature == hmac(hmac_md(jws->alg), current_key, jws->signing_input));
  }

  auto conn = s.verifier.verify_connection_token(token, now);
  auto sub = s.verifier.verify_subscription_token(token, now);
  if (conn || sub) CHECK(jws && truly_signed(*jws));

  if (jws && signed_alg && jws->alg == *signed_alg) {
    CHECK(same_outcome(conn, s.insecure.verify_connection_token(token, now)));
    CHECK(same_outcome(sub, s.insecure.verify_subscription_token(token, now)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((mode & 1) == 0) {
    check_token(std::string(rest), std::nullopt);
    return 0;
  }
  const size_t nul = rest.find('\0');
  if (nul == std::string_view::npos) return 0;
  static constexpr std::string_view algs[] = {"HS256", "HS384", "HS512", "HS256"};
  const std::string_view alg = algs[(mode >> 1) & 3];
  const std::string rsa_pem = test::rsa_2048().public_pem;
  const std::string_view secrets[] = {current_key, previous_key, rsa_pem, current_key};
  const size_t which = (mode >> 3) & 3;
  const std::string signing_input = gyre::base64url_encode(rest.substr(0, nul)) + "." +
                                    gyre::base64url_encode(rest.substr(nul + 1));
  const std::string token =
      signing_input + "." +
      gyre::base64url_encode(hmac(hmac_md(alg), secrets[which], signing_input));
  check_token(token, which == 2 ? std::nullopt : std::optional<std::string_view>(alg));
  return 0;
}
