// See test_keys.hpp. Uses OpenSSL directly: tests may, the auth headers may not.
#include "auth/test_keys.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "core/base64.hpp"

namespace gyre::auth::test {

namespace {

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

key_pems encode(EVP_PKEY* pkey) {
  if (!pkey) throw std::runtime_error("key generation failed");
  key_pems out;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  out.private_pem = bio_string(bio);
  BIO_free(bio);

  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, pkey);
  out.public_pem = bio_string(bio);
  BIO_free(bio);

  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, pkey);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("gyre-test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  if (X509_sign(cert, pkey, EVP_sha256()) <= 0) throw std::runtime_error("cert signing failed");
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  out.cert_pem = bio_string(bio);
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(pkey);
  return out;
}

std::mutex cache_mu;

}  // namespace

const key_pems& rsa_2048() {
  static const key_pems k = encode(EVP_RSA_gen(2048));
  return k;
}

const key_pems& rsa_other() {
  static const key_pems k = encode(EVP_RSA_gen(2048));
  return k;
}

const key_pems& ec_key(std::string_view curve) {
  static std::map<std::string, std::unique_ptr<key_pems>, std::less<>> cache;
  std::lock_guard lock(cache_mu);
  auto it = cache.find(curve);
  if (it == cache.end()) {
    std::string name(curve);
    auto k = std::make_unique<key_pems>(encode(EVP_EC_gen(name.c_str())));
    it = cache.emplace(name, std::move(k)).first;
  }
  return *it->second;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string signing_input(std::string_view header_json, std::string_view payload_json) {
  return base64url_encode(header_json) + "." + base64url_encode(payload_json);
}

std::string raw_token(std::string_view header_json, std::string_view payload_json,
                      std::string_view signature) {
  return signing_input(header_json, payload_json) + "." + base64url_encode(signature);
}

}  // namespace gyre::auth::test
