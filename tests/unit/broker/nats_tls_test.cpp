// The NATS broker over TLS: a nats-server with a self-signed certificate made here; the
// broker trusts it through broker.nats.tls.server_ca_pem (PEM text or a file path) and
// checks the server name. Without that trust the connection is refused with an error
// naming broker.nats.url.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "broker/broker_suite.hpp"
#include "broker/nats/nats_factory.hpp"
#include "broker/nats_test_env.hpp"
#include "broker/test_certs.hpp"
#include "core/random.hpp"

namespace gyre {
namespace {

using broker_test::await_result;
using broker_test::recording_handler;
using test::cert_pair;
using test::self_signed_localhost;

constexpr auto timeout = std::chrono::milliseconds(5000);

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
