// Compact JWS with OpenSSL 3 EVP; see jwt.hpp for the contract. OpenSSL and simdjson are
// confined to this file. Every OpenSSL failure path clears the thread's error queue so that
// hostile tokens cannot make it grow.
#include "auth/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <simdjson.h>

#include <array>
#include <climits>

#include "core/base64.hpp"
#include "core/json_writer.hpp"

namespace gyre::auth {

// ---- algorithms ----

namespace {

struct alg_info {
  jwt_alg alg;
  std::string_view name;
  const EVP_MD* (*md)();
  size_t ec_scalar_size;  // bytes of r and of s in a JWS ECDSA signature; 0 if not ECDSA
};

constexpr std::array<alg_info, 9> alg_table{{
    {jwt_alg::hs256, "HS256", EVP_sha256, 0},
    {jwt_alg::hs384, "HS384", EVP_sha384, 0},
    {jwt_alg::hs512, "HS512", EVP_sha512, 0},
    {jwt_alg::rs256, "RS256", EVP_sha256, 0},
    {jwt_alg::rs384, "RS384", EVP_sha384, 0},
    {jwt_alg::rs512, "RS512", EVP_sha512, 0},
    {jwt_alg::es256, "ES256", EVP_sha256, 32},
    {jwt_alg::es384, "ES384", EVP_sha384, 48},
    {jwt_alg::es512, "ES512", EVP_sha512, 66},
}};

constexpr bool table_matches_enum() {
  for (size_t i = 0; i < alg_table.size(); ++i) {
    if (static_cast<size_t>(alg_table[i].alg) != i) return false;
  }
  return true;
}
static_assert(table_matches_enum(), "alg_table is indexed by jwt_alg");

const alg_info& info_of(jwt_alg alg) {
  return alg_table[static_cast<size_t>(alg)];
}

// Quotes at most 32 bytes of untrusted text for a log reason.
std::string quote_for_log(std::string_view s) {
  std::string out = "\"";
  out.append(s.substr(0, 32));
  if (s.size() > 32) out.append("...");
  out.push_back('"');
  return out;
}

}  // namespace

std::optional<jwt_alg> jwt_alg_from_name(std::string_view name) {
  for (const auto& a : alg_table) {
    if (a.name == name) return a.alg;
  }
  return std::nullopt;
}

std::string_view jwt_alg_name(jwt_alg alg) {
  return info_of(alg).name;
}
bool is_hmac(jwt_alg alg) {
  return alg <= jwt_alg::hs512;
}
bool is_rsa(jwt_alg alg) {
  return alg >= jwt_alg::rs256 && alg <= jwt_alg::rs512;
}
bool is_ecdsa(jwt_alg alg) {
  return alg >= jwt_alg::es256;
}

// ---- parsing ----

namespace {

bool is_base64url_text(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> decode_segment(std::string_view s) {
  if (!is_base64url_text(s)) return std::nullopt;  // padding '=' is not allowed in JWS
  return base64url_decode(s);
}

}  // namespace

token_result<jws_token> parse_jws(std::string_view token) {
  if (token.empty()) return token_invalid("empty token");
  if (token.size() > max_jwt_size) return token_invalid("token too long");
  size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return token_invalid("token is not a compact JWS");
  size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return token_invalid("token must have exactly three segments");
  }
  std::string_view h64 = token.substr(0, d1);
  std::string_view p64 = token.substr(d1 + 1, d2 - d1 - 1);
  std::string_view s64 = token.substr(d2 + 1);
  if (h64.empty() || p64.empty()) return token_invalid("empty header or payload segment");

  jws_token out;
  auto header = decode_segment(h64);
  if (!header) return token_invalid("bad base64url in header");
  auto payload = decode_segment(p64);
  if (!payload) return token_invalid("bad base64url in payload");
  auto signature = decode_segment(s64);
  if (!signature) return token_invalid("bad base64url in signature");
  out.header = std::move(*header);
  out.payload = std::move(*payload);
  out.signature = std::move(*signature);
  out.signing_input.assign(token.substr(0, d2));

  // The header is small and untrusted: the DOM parser validates all of it.
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(out.header).get_object().get(obj) != simdjson::SUCCESS) {
    return token_invalid("header is not a JSON object");
  }
  bool have_alg = false;
  for (auto field : obj) {
    std::string_view key = field.key;
    if (key == "alg") {
      std::string_view alg;
      if (field.value.get_string().get(alg) != simdjson::SUCCESS) {
        return token_invalid("header alg is not a string");
      }
      out.alg.assign(alg);
      have_alg = true;
    } else if (key == "kid") {
      std::string_view kid;
      if (field.value.get_string().get(kid) != simdjson::SUCCESS) {
        return token_invalid("header kid is not a string");
      }
      out.kid.assign(kid);
    } else if (key == "crit") {
      return token_invalid("header crit is not supported");
    }
  }
  if (!have_alg) return token_invalid("header has no alg");
  return out;
}

// ---- keys ----

namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

struct bio_deleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

struct ecdsa_sig_deleter {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, ecdsa_sig_deleter>;

// Never prompt on a terminal for a PEM passphrase: encrypted keys are simply rejected.
int no_password(char*, int, int, void*) {
  return 0;
}

struct key_facts {
  public_key::key_type type = public_key::key_type::rsa;
  std::optional<jwt_alg> ec_alg;
};

// RSA or EC on a JOSE curve; anything else is an error message.
expected<key_facts, std::string> classify(EVP_PKEY* pkey) {
  key_facts f;
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      f.type = public_key::key_type::rsa;
      return f;
    case EVP_PKEY_EC: {
      f.type = public_key::key_type::ec;
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1) {
        ERR_clear_error();
        return unexpected{std::string("EC key without a named curve")};
      }
      switch (OBJ_txt2nid(group)) {
        case NID_X9_62_prime256v1:
          f.ec_alg = jwt_alg::es256;
          break;
        case NID_secp384r1:
          f.ec_alg = jwt_alg::es384;
          break;
        case NID_secp521r1:
          f.ec_alg = jwt_alg::es512;
          break;
        default:
          ERR_clear_error();
          return unexpected{std::string("unsupported EC curve ") + group +
                            " (P-256, P-384 or P-521 expected)"};
      }
      return f;
    }
    default:
      return unexpected{std::string("unsupported key type (RSA or EC expected)")};
  }
}

bio_ptr memory_bio(std::string_view text) {
  if (text.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The first PEM block of `pem` as a public key: SubjectPublicKeyInfo or X.509 certificate
// (whatever its label says, as long as the DER is one of the two and has no trailing bytes).
expected<pkey_ptr, std::string> read_public_pem(std::string_view pem) {
  bio_ptr bio = memory_bio(pem);
  if (!bio) return unexpected{std::string("cannot read PEM")};
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
    ERR_clear_error();
    return unexpected{std::string("no PEM block found")};
  }
  pkey_ptr key;
  const unsigned char* p = data;
  key.reset(d2i_PUBKEY(nullptr, &p, len));
  if (key && p != data + len) key.reset();
  if (!key) {
    p = data;
    X509* cert = d2i_X509(nullptr, &p, len);
    if (cert && p == data + len) key.reset(X509_get_pubkey(cert));
    X509_free(cert);
  }
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  ERR_clear_error();
  if (!key) {
    return unexpected{std::string("PEM block is neither a public key nor an X.509 certificate")};
  }
  return key;
}

}  // namespace

struct public_key::impl {
  pkey_ptr pkey;
  key_facts facts;
};

struct private_key::impl {
  pkey_ptr pkey;
  key_facts facts;
};

// Wraps a key OpenSSL built (JWK members) as a public_key; takes ownership of `raw`.
struct key_adopter {
  static expected<public_key, std::string> adopt(EVP_PKEY* raw);
};

expected<public_key, std::string> key_adopter::adopt(EVP_PKEY* raw) {
  pkey_ptr key(raw);
  auto facts = classify(key.get());
  if (!facts) return unexpected{facts.error()};
  auto p = std::make_shared<public_key::impl>();
  p->pkey = std::move(key);
  p->facts = *facts;
  return public_key(std::move(p));
}

expected<public_key, std::string> public_key::from_pem(std::string_view pem) {
  auto key = read_public_pem(pem);
  if (!key) return unexpected{key.error()};
  auto facts = classify(key->get());
  if (!facts) return unexpected{facts.error()};
  auto p = std::make_shared<impl>();
  p->pkey = std::move(*key);
  p->facts = *facts;
  return public_key(std::move(p));
}

namespace {

struct bn_deleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct param_bld_deleter {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct params_deleter {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;

// A public key of `type` ("RSA", "EC") from OpenSSL parameters built by `fill`.
template <typename Fill>
expected<public_key, std::string> key_from_params(const char* type, Fill fill,
                                                  std::string_view what) {
  std::unique_ptr<OSSL_PARAM_BLD, param_bld_deleter> bld(OSSL_PARAM_BLD_new());
  if (!bld || !fill(bld.get())) {
    ERR_clear_error();
    return unexpected{std::string("cannot build the ") + std::string(what)};
  }
  std::unique_ptr<OSSL_PARAM, params_deleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return unexpected{"invalid " + std::string(what)};
  }
  pkey_ptr key(raw);
  pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return unexpected{"invalid " + std::string(what)};
  }
  return key_adopter::adopt(key.release());
}

}  // namespace

expected<public_key, std::string> public_key::from_rsa_components(std::string_view n,
                                                                  std::string_view e) {
  while (!n.empty() && n.front() == '\0') n.remove_prefix(1);
  while (!e.empty() && e.front() == '\0') e.remove_prefix(1);
  if (n.size() < 256 || n.size() > 1024)
    return unexpected{std::string("RSA modulus n must have 2048 to 8192 bits")};
  if (e.empty() || e.size() > 8)
    return unexpected{std::string("RSA exponent e must have 1 to 8 bytes")};
  auto bn = [](std::string_view b) {
    return std::unique_ptr<BIGNUM, bn_deleter>(BN_bin2bn(
        reinterpret_cast<const unsigned char*>(b.data()), static_cast<int>(b.size()), nullptr));
  };
  auto bn_n = bn(n);
  auto bn_e = bn(e);
  if (!bn_n || !bn_e) return unexpected{std::string("cannot read the RSA key")};
  return key_from_params(
      "RSA",
      [&](OSSL_PARAM_BLD* b) {
        return OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn_n.get()) == 1 &&
               OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, bn_e.get()) == 1;
      },
      "RSA key");
}

expected<public_key, std::string> public_key::from_ec_point(std::string_view crv,
                                                            std::string_view x,
                                                            std::string_view y) {
  const char* group = nullptr;
  size_t size = 0;
  if (crv == "P-256") {
    group = "prime256v1";
    size = 32;
  } else if (crv == "P-384") {
    group = "secp384r1";
    size = 48;
  } else if (crv == "P-521") {
    group = "secp521r1";
    size = 66;
  } else {
    return unexpected{"unsupported EC curve \"" + std::string(crv.substr(0, 32)) +
                      "\" (P-256, P-384 or P-521 expected)"};
  }
  if (x.size() != size || y.size() != size)
    return unexpected{"EC coordinates must have " + std::to_string(size) + " bytes for " +
                      std::string(crv)};
  std::string point;
  point.reserve(1 + 2 * size);
  point.push_back('\x04');  // uncompressed
  point.append(x).append(y);
  return key_from_params(
      "EC",
      [&](OSSL_PARAM_BLD* b) {
        return OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
               OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                                point.size()) == 1;
      },
      "EC key (the point is not on the curve)");
}

public_key::key_type public_key::type() const {
  return impl_->facts.type;
}
std::optional<jwt_alg> public_key::ec_alg() const {
  return impl_->facts.ec_alg;
}

expected<private_key, std::string> private_key::from_pem(std::string_view pem) {
  bio_ptr bio = memory_bio(pem);
  if (!bio) return unexpected{std::string("cannot read PEM")};
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  ERR_clear_error();
  if (!key) return unexpected{std::string("no unencrypted PEM private key found")};
  auto facts = classify(key.get());
  if (!facts) return unexpected{facts.error()};
  auto p = std::make_shared<impl>();
  p->pkey = std::move(key);
  p->facts = *facts;
  return private_key(std::move(p));
}

public_key::key_type private_key::type() const {
  return impl_->facts.type;
}
std::optional<jwt_alg> private_key::ec_alg() const {
  return impl_->facts.ec_alg;
}

// ---- signatures ----

namespace {

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::optional<std::string> compute_hmac(jwt_alg alg, std::string_view secret,
                                        std::string_view data) {
  if (secret.size() > static_cast<size_t>(INT_MAX)) return std::nullopt;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (HMAC(info_of(alg).md(), secret.data(), static_cast<int>(secret.size()), bytes(data),
           data.size(), out, &out_len) == nullptr) {
    ERR_clear_error();
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

bool digest_verify(EVP_PKEY* pkey, const EVP_MD* md, std::string_view data, std::string_view sig) {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx.get(), bytes(sig), sig.size(), bytes(data), data.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::optional<std::string> digest_sign(EVP_PKEY* pkey, const EVP_MD* md, std::string_view data) {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, bytes(data), data.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::string out(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, bytes(data),
                     data.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

// JWS r||s (each `n` bytes, big-endian) -> DER ECDSA-Sig-Value for OpenSSL.
std::optional<std::string> raw_to_der(std::string_view raw, size_t n) {
  if (raw.size() != 2 * n) return std::nullopt;
  ecdsa_sig_ptr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes(raw), static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(bytes(raw) + n, static_cast<int>(n), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ERR_clear_error();
    return std::nullopt;
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::string der(static_cast<size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) {
    ERR_clear_error();
    return std::nullopt;
  }
  return der;
}

// DER ECDSA-Sig-Value -> JWS r||s with each half left-padded to `n` bytes.
std::optional<std::string> der_to_raw(std::string_view der, size_t n) {
  const unsigned char* p = bytes(der);
  ecdsa_sig_ptr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    ERR_clear_error();
    return std::nullopt;
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * n, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, static_cast<int>(n)) < 0 ||
      BN_bn2binpad(s, out + n, static_cast<int>(n)) < 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  return raw;
}

}  // namespace

bool verify_hmac(jwt_alg alg, std::string_view secret, std::string_view signing_input,
                 std::string_view signature) {
  if (!is_hmac(alg) || secret.empty()) return false;
  auto mac = compute_hmac(alg, secret, signing_input);
  if (!mac || mac->size() != signature.size()) return false;
  return CRYPTO_memcmp(mac->data(), signature.data(), signature.size()) == 0;
}

bool verify_signature(jwt_alg alg, const public_key& key, std::string_view signing_input,
                      std::string_view signature) {
  const auto& k = *key.impl_;
  const alg_info& info = info_of(alg);
  if (is_rsa(alg)) {
    if (k.facts.type != public_key::key_type::rsa) return false;
    return digest_verify(k.pkey.get(), info.md(), signing_input, signature);
  }
  if (is_ecdsa(alg)) {
    if (k.facts.type != public_key::key_type::ec || k.facts.ec_alg != alg) return false;
    auto der = raw_to_der(signature, info.ec_scalar_size);
    if (!der) return false;
    return digest_verify(k.pkey.get(), info.md(), signing_input, *der);
  }
  return false;  // HMAC never uses a public key
}

token_result<std::monostate> verify_jws(const jws_token& token, const jwt_keys& keys) {
  if (token.alg == "none") return token_invalid("alg none is not allowed");
  auto alg = jwt_alg_from_name(token.alg);
  if (!alg) return token_invalid("unknown JWT algorithm " + quote_for_log(token.alg));
  bool enabled = false;
  bool valid = false;
  if (is_hmac(*alg)) {
    enabled = !keys.hmac_secret.empty();
    valid = enabled && verify_hmac(*alg, keys.hmac_secret, token.signing_input, token.signature);
  } else if (is_rsa(*alg)) {
    enabled = keys.rsa.has_value();
    valid = enabled && verify_signature(*alg, *keys.rsa, token.signing_input, token.signature);
  } else {
    enabled = keys.ec.has_value() && keys.ec->ec_alg() == *alg;
    valid = enabled && verify_signature(*alg, *keys.ec, token.signing_input, token.signature);
  }
  if (!enabled) return token_invalid("disabled JWT algorithm " + quote_for_log(token.alg));
  if (!valid) return token_invalid("signature mismatch");
  return std::monostate{};
}

// ---- signer ----

expected<jwt_signer, std::string> jwt_signer::hmac(jwt_alg alg, std::string secret) {
  if (!is_hmac(alg)) return unexpected{std::string("not an HMAC algorithm")};
  if (secret.empty()) return unexpected{std::string("empty HMAC secret")};
  return jwt_signer(alg, std::move(secret), std::nullopt);
}

expected<jwt_signer, std::string> jwt_signer::with_key(jwt_alg alg, private_key key) {
  if (is_rsa(alg) && key.type() == public_key::key_type::rsa) {
    return jwt_signer(alg, {}, std::move(key));
  }
  if (is_ecdsa(alg) && key.type() == public_key::key_type::ec && key.ec_alg() == alg) {
    return jwt_signer(alg, {}, std::move(key));
  }
  return unexpected{std::string("key does not fit algorithm ") + std::string(jwt_alg_name(alg))};
}

expected<std::string, std::string> jwt_signer::sign(std::string_view payload_json,
                                                    std::string_view kid) const {
  std::string header;
  json_writer w(header);
  w.begin_object().key("alg").string(jwt_alg_name(alg_)).key("typ").string("JWT");
  if (!kid.empty()) w.key("kid").string(kid);
  w.end_object();

  std::string out = base64url_encode(header);
  out.push_back('.');
  out.append(base64url_encode(payload_json));

  const alg_info& info = info_of(alg_);
  std::optional<std::string> sig;
  if (is_hmac(alg_)) {
    sig = compute_hmac(alg_, secret_, out);
  } else {
    sig = digest_sign(key_->impl_->pkey.get(), info.md(), out);
    if (sig && is_ecdsa(alg_)) sig = der_to_raw(*sig, info.ec_scalar_size);
  }
  if (!sig) return unexpected{std::string("signing failed")};
  out.push_back('.');
  out.append(base64url_encode(*sig));
  return out;
}

}  // namespace gyre::auth
