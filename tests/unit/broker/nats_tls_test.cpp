// The NATS broker over TLS: a nats-server with a self-signed certificate made here; the
// broker trusts it through broker.nats.tls.server_ca_pem (PEM text or a file path) and
// checks the server name. Without that trust the connection is refused with an error
// naming broker.nats.url.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "broker/broker_suite.hpp"
#include "broker/nats/nats_factory.hpp"
#include "broker/nats_test_env.hpp"
#include "core/random.hpp"

namespace gyre {
namespace {

using broker_test::await_result;
using broker_test::recording_handler;

constexpr auto timeout = std::chrono::milliseconds(5000);

struct cert_pair {
  std::string cert_pem;
  std::string key_pem;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

// A self-signed P-256 certificate for CN=localhost with SAN localhost and 127.0.0.1.
cert_pair self_signed_localhost() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(random_below(1'000'000) + 1));
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  cert_pair out;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, cert);
  out.cert_pem = bio_text(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = bio_text(b);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

class nats_tls_test : public ::testing::Test {
 protected:
  void SetUp() override {
    GYRE_REQUIRE_NATS();
    dir_ = std::filesystem::temp_directory_path() / ("gyre_nats_tls_" + random_epoch());
    std::filesystem::create_directories(dir_);
    certs_ = self_signed_localhost();
    cert_file_ = (dir_ / "cert.pem").string();
    std::ofstream(cert_file_) << certs_.cert_pem;
    std::ofstream(dir_ / "key.pem") << certs_.key_pem;
    std::string error;
    ASSERT_TRUE(server_.start(
        0, error, {"--tls", "--tlscert", cert_file_, "--tlskey", (dir_ / "key.pem").string()}))
        << error;
  }
  void TearDown() override {
    server_.stop();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  config::nats_broker_config tls_config() const {
    config::nats_broker_config cfg;
    cfg.url_ = server_.url();
    cfg.prefix_ = "tls_" + random_epoch();
    cfg.tls_.enabled_ = true;
    cfg.tls_.server_name_ = "localhost";
    return cfg;
  }

  std::filesystem::path dir_;
  cert_pair certs_;
  std::string cert_file_;
  test::nats_test_server server_;
};

TEST_F(nats_tls_test, publishes_and_receives_over_tls) {
  auto cfg = tls_config();
  cfg.tls_.server_ca_pem_ = certs_.cert_pem;  // PEM text
  std::string err;
  auto a = make_nats_broker(cfg, err);
  ASSERT_NE(a, nullptr) << err;
  cfg.tls_.server_ca_pem_ = cert_file_;  // a file path works as well
  auto b = make_nats_broker(cfg, err);
  ASSERT_NE(b, nullptr) << err;
  recording_handler ha;
  recording_handler hb;
  a->start(ha);
  b->start(hb);
  ASSERT_TRUE(
      await_result<ok_t>([&](status_callback cb) { b->subscribe("secure", cb); }, timeout).ok());
  publication pub;
  pub.data = "over tls";
  ASSERT_TRUE(await_result<publish_outcome>(
                  [&](callback<publish_outcome> cb) {
                    a->publish("secure", pub, publish_options{}, std::move(cb));
                  },
                  timeout)
                  .ok());
  ASSERT_TRUE(hb.wait_publications("secure", 1, timeout));
  EXPECT_EQ(hb.publications("secure")[0]->pub.data, "over tls");
  a->stop();
  b->stop();
}

TEST_F(nats_tls_test, untrusted_or_misnamed_server_is_refused) {
  auto cfg = tls_config();  // no CA: the system store does not know this certificate
  std::string err;
  EXPECT_EQ(make_nats_broker(cfg, err), nullptr);
  EXPECT_NE(err.find("broker.nats.url"), std::string::npos) << err;

  cfg.tls_.server_ca_pem_ = certs_.cert_pem;
  cfg.tls_.server_name_ = "not-this-host.example";
  EXPECT_EQ(make_nats_broker(cfg, err), nullptr) << "name checked against the certificate";

  cfg.tls_.server_name_ = "";
  cfg.tls_.insecure_skip_verify_ = true;
  cfg.tls_.server_ca_pem_ = "";
  auto b = make_nats_broker(cfg, err);
  EXPECT_NE(b, nullptr) << "insecure_skip_verify accepts it: " << err;
}

}  // namespace
}  // namespace gyre
