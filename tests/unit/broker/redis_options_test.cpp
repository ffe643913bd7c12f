// The connection options of the Redis engine against real redis-server processes, each
// test with servers of its own on free loopback ports:
// - AUTH: `password` (requirepass), ACL `user` + `password`, the redis://user:pass@host/db
//   form, `db`; a wrong password fails the start with the key, the address and Redis' reason.
// - TLS: a server with a self-signed certificate made here; trusted through server_ca_pem
//   (text or file), refused without trust or with a wrong server name (clear error), and
//   accepted with insecure_skip_verify; rediss:// and ?tls_enabled=true.
// Every wait is bounded; every process is stopped by its pid when its test ends.
// Part of redis_broker_tests, whose environment (redis_broker_test.cpp) skips every test
// when redis-server is missing.
#include "broker/redis/redis_engine.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "broker/broker_suite.hpp"
#include "broker/test_certs.hpp"
#include "config/config.hpp"
#include "core/random.hpp"
#include "redis_test_server.hpp"

namespace gyre {
namespace {

using namespace std::chrono_literals;
using broker_test::await_result;
using broker_test::recording_handler;
using redis_test::raw_client;
using redis_test::server;

std::string local(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

std::string unique_channel(std::string_view name) {
  return "redis_opts_" + random_epoch() + "_" + std::string(name);
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// Short timeouts, so that a refused start fails within a second or two.
config::redis_config quick_cfg() {
  config::redis_config c;
  c.connect_timeout_ = 300ms;
  c.io_timeout_ = 1s;
  return c;
}

std::unique_ptr<redis::redis_engine> start_engine(const config::redis_config& cfg,
                                                  std::string& error) {
  return redis::make_redis_engine(cfg, "engine.redis", {}, true, true, error);
}

publish_options with_history() {
  publish_options o;
  o.history_size = 10;
  o.history_ttl_seconds = 60;
  o.history_meta_ttl_seconds = 3600;
  return o;
}

result<publish_outcome> publish(broker& b, const std::string& ch, std::string data) {
  publication pub;
  pub.data = std::move(data);
  return await_result<publish_outcome>(
      [&](callback<publish_outcome> cb) { b.publish(ch, pub, with_history(), std::move(cb)); }, 5s);
}

// What every option must keep working: a publication on `ch` is delivered through PUB/SUB
// to a subscriber of the same engine and is in the history afterwards.
::testing::AssertionResult round_trip(redis::redis_engine& e, const std::string& ch) {
  recording_handler h;
  e.broker->start(h);
  struct stop_guard {
    broker& b;
    ~stop_guard() { b.stop(); }
  } guard{*e.broker};
  auto sub =
      await_result<ok_t>([&](status_callback cb) { e.broker->subscribe(ch, std::move(cb)); }, 5s);
  if (!sub.ok()) return ::testing::AssertionFailure() << "subscribe failed";
  auto r = publish(*e.broker, ch, "payload of " + ch);
  if (!r.ok()) return ::testing::AssertionFailure() << "publish failed";
  if (!h.wait_publications(ch, 1, 5s)) {
    return ::testing::AssertionFailure() << "the publication was not delivered";
  }
  if (h.publications(ch)[0]->pub.data != "payload of " + ch) {
    return ::testing::AssertionFailure() << "delivered: " << h.publications(ch)[0]->pub.data;
  }
  auto page = await_result<history_page>(
      [&](callback<history_page> cb) {
        e.broker->history(ch, history_query{std::nullopt, -1, false, 3600}, std::move(cb));
      },
      5s);
  if (!page.ok()) return ::testing::AssertionFailure() << "history failed";
  if (page->publications.size() != 1 || page->publications[0].data != "payload of " + ch ||
      page->top != r->position) {
    return ::testing::AssertionFailure()
           << "history has " << page->publications.size() << " publications";
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------------
// AUTH and databases

TEST(redis_auth, password_authenticates_against_requirepass) {
  server srv({"--requirepass", "s3cret"});
  ASSERT_TRUE(srv.start());
  auto cfg = quick_cfg();
  cfg.address_ = {srv.address()};
  cfg.password_ = "s3cret";
  std::string error;
  auto e = start_engine(cfg, error);
  ASSERT_NE(e, nullptr) << error;
  const auto ch = unique_channel("auth");
  EXPECT_TRUE(round_trip(*e, ch));
  raw_client raw(srv.port());
  EXPECT_EQ(raw.cmd({"EXISTS", "centrifugo.stream." + ch}).str.substr(0, 6), "NOAUTH");
  ASSERT_EQ(raw.cmd({"AUTH", "s3cret"}).text(), "OK");
  EXPECT_EQ(raw.cmd({"EXISTS", "centrifugo.stream." + ch}).integer, 1);
}

TEST(redis_auth, wrong_or_missing_password_fails_the_start_with_the_reason) {
  server srv({"--requirepass", "s3cret"});
  ASSERT_TRUE(srv.start());
  auto cfg = quick_cfg();
  cfg.address_ = {srv.address()};
  cfg.password_ = "wrong";
  std::string error;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(start_engine(cfg, error), nullptr);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_NE(error.find("engine.redis"), std::string::npos) << error;
  EXPECT_NE(error.find(srv.address()), std::string::npos) << error;
  EXPECT_NE(error.find("WRONGPASS"), std::string::npos) << error;

  cfg.password_.clear();
  EXPECT_EQ(start_engine(cfg, error), nullptr);
  EXPECT_NE(error.find("NOAUTH"), std::string::npos) << error;
}

TEST(redis_auth, acl_user_and_password) {
  // The default user is off: only alice can do anything.
  server srv(
      {"--user", "default", "off", "--user", "alice", "on", ">alicepw", "~*", "&*", "+@all"});
  ASSERT_TRUE(srv.start());
  auto cfg = quick_cfg();
  cfg.address_ = {srv.address()};
  cfg.user_ = "alice";
  cfg.password_ = "alicepw";
  std::string error;
  auto e = start_engine(cfg, error);
  ASSERT_NE(e, nullptr) << error;
  EXPECT_TRUE(round_trip(*e, unique_channel("acl")));

  cfg.user_.clear();  // AUTH <password> means the default user
  EXPECT_EQ(start_engine(cfg, error), nullptr);
  EXPECT_NE(error.find("WRONGPASS"), std::string::npos) << error;
}

TEST(redis_auth, db_keeps_the_keys_in_that_database) {
  server srv;
  ASSERT_TRUE(srv.start());
  auto cfg = quick_cfg();
  cfg.address_ = {srv.address()};
  cfg.db_ = 3;
  std::string error;
  auto e = start_engine(cfg, error);
  ASSERT_NE(e, nullptr) << error;
  const auto ch = unique_channel("db3");
  ASSERT_TRUE(round_trip(*e, ch));
  client_info who{"u", "c", "", ""};
  ASSERT_TRUE(
      await_result<ok_t>([&](status_callback cb) { e->presence->add(ch, who, std::move(cb)); }, 5s)
          .ok());
  raw_client raw(srv.port());
  // Nothing in db 0 (the start-up XRANGE check creates no key either).
  EXPECT_EQ(raw.cmd({"DBSIZE"}).integer, 0);
  ASSERT_EQ(raw.cmd({"SELECT", "3"}).text(), "OK");
  EXPECT_EQ(raw.cmd({"EXISTS", "centrifugo.stream." + ch}).integer, 1);
  EXPECT_EQ(raw.cmd({"EXISTS", "centrifugo.stream.meta." + ch}).integer, 1);
  EXPECT_EQ(raw.cmd({"EXISTS", "centrifugo.presence.data." + ch}).integer, 1);
}

TEST(redis_auth, url_with_user_password_and_db) {
  server srv(
      {"--user", "default", "off", "--user", "alice", "on", ">alice:pw", "~*", "&*", "+@all"});
  ASSERT_TRUE(srv.start());
  auto cfg = quick_cfg();
  // The password holds a ':' (percent-encoded), the path is the database.
  cfg.address_ = {"redis://alice:alice%3Apw@" + srv.address() + "/5"};
  std::string error;
  auto e = start_engine(cfg, error);
  ASSERT_NE(e, nullptr) << error;
  EXPECT_EQ(e->description.find("alice:pw"), std::string::npos) << "password shown";
  const auto ch = unique_channel("url");
  ASSERT_TRUE(round_trip(*e, ch));
  raw_client raw(srv.port());
  ASSERT_EQ(raw.cmd({"AUTH", "alice", "alice:pw"}).text(), "OK");
  ASSERT_EQ(raw.cmd({"SELECT", "5"}).text(), "OK");
  EXPECT_EQ(raw.cmd({"EXISTS", "centrifugo.stream." + ch}).integer, 1);
}

// ---------------------------------------------------------------------------------------
// TLS

// A self-signed certificate in files of a temporary directory, and the redis-server
// arguments that serve TLS with it on a free port of its own (next to the plain port, which
// the raw client, having no TLS, uses for its checks).
struct tls_files {
  tls_files() {
    char tmpl[] = "/tmp/gyre-redis-tls-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) dir = tmpl;
    certs = test::self_signed_localhost();
    cert_file = dir + "/cert.pem";
    key_file = dir + "/key.pem";
    std::ofstream(cert_file) << certs.cert_pem;
    std::ofstream(key_file) << certs.key_pem;
    port = redis_test::free_port();
  }
  ~tls_files() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
  tls_files(const tls_files&) = delete;
  tls_files& operator=(const tls_files&) = delete;

  std::vector<std::string> server_args() const {
    return {"--tls-port",         std::to_string(port),
            "--tls-cert-file",    cert_file,
            "--tls-key-file",     key_file,
            "--tls-ca-cert-file", cert_file,
            "--tls-auth-clients", "no"};
  }

  std::string dir, cert_file, key_file;
  test::cert_pair certs;
  uint16_t port = 0;
};

class redis_tls : public ::testing::Test {
 protected:
  void SetUp() override {
    srv_ = std::make_unique<server>(tls_.server_args());
    ASSERT_TRUE(srv_->start()) << "redis-server without TLS support?";
  }

  config::redis_config tls_cfg() const {
    auto c = quick_cfg();
    c.address_ = {local(tls_.port)};
    c.tls_.enabled_ = true;
    return c;
  }
  bool stored(const std::string& ch) {
    raw_client raw(srv_->port());
    return raw.cmd({"EXISTS", "centrifugo.stream." + ch}).integer == 1;
  }

  tls_files tls_;
  std::unique_ptr<server> srv_;  // after tls_: stopped before the files go
};

TEST_F(redis_tls, trusted_through_server_ca_pem) {
  auto cfg = tls_cfg();
  cfg.tls_.server_ca_pem_ = tls_.certs.cert_pem;
  std::string error;
  auto e = start_engine(cfg, error);
  ASSERT_NE(e, nullptr) << error;
  const auto ch = unique_channel("tls");
  EXPECT_TRUE(round_trip(*e, ch));
  EXPECT_TRUE(stored(ch));
  EXPECT_TRUE(e->health->healthy());

  cfg.tls_.server_ca_pem_ = tls_.cert_file;  // a file path works as well
  cfg.tls_.server_name_ = "localhost";
  auto by_file = start_engine(cfg, error);
  ASSERT_NE(by_file, nullptr) << error;
  EXPECT_TRUE(round_trip(*by_file, unique_channel("tls_file")));
}

TEST_F(redis_tls, untrusted_or_misnamed_server_is_refused_with_the_reason) {
  auto cfg = tls_cfg();  // no CA: the system store does not know this certificate
  std::string error;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(start_engine(cfg, error), nullptr);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_NE(error.find("engine.redis"), std::string::npos) << error;
  EXPECT_NE(error.find(local(tls_.port)), std::string::npos) << error;
  EXPECT_NE(error.find("TLS handshake"), std::string::npos) << error;
  EXPECT_NE(error.find("certificate verify failed"), std::string::npos) << error;

  cfg.tls_.server_ca_pem_ = tls_.certs.cert_pem;
  cfg.tls_.server_name_ = "not-this-host.example";
  EXPECT_EQ(start_engine(cfg, error), nullptr) << "the name is checked against the certificate";
  EXPECT_NE(error.find("TLS handshake"), std::string::npos) << error;

  auto plain = quick_cfg();
  plain.address_ = {local(tls_.port)};
  EXPECT_EQ(start_engine(plain, error), nullptr) << "plain TCP to the TLS port";
}

TEST_F(redis_tls, insecure_skip_verify_accepts_any_certificate) {
  auto cfg = tls_cfg();
  cfg.tls_.insecure_skip_verify_ = true;
  cfg.tls_.server_name_ = "not-this-host.example";
  std::string error;
  auto e = start_engine(cfg, error);
  ASSERT_NE(e, nullptr) << error;
  const auto ch = unique_channel("insecure");
  EXPECT_TRUE(round_trip(*e, ch));
  EXPECT_TRUE(stored(ch));
}

TEST_F(redis_tls, rediss_url_and_tls_enabled_option_turn_tls_on) {
  // TLS on through the address alone: the handshake happens (and fails on trust, as the
  // tls block that would hold the CA is not enabled).
  auto cfg = quick_cfg();
  cfg.address_ = {"rediss://" + local(tls_.port)};
  std::string error;
  EXPECT_EQ(start_engine(cfg, error), nullptr);
  EXPECT_NE(error.find("TLS handshake"), std::string::npos) << error;

  cfg = tls_cfg();
  cfg.tls_.server_ca_pem_ = tls_.certs.cert_pem;
  cfg.address_ = {"rediss://" + local(tls_.port)};
  auto e = start_engine(cfg, error);
  ASSERT_NE(e, nullptr) << error;
  EXPECT_TRUE(round_trip(*e, unique_channel("rediss")));

  cfg.tls_.enabled_ = false;
  cfg.tls_.insecure_skip_verify_ = true;
  cfg.address_ = {"redis://" + local(tls_.port) + "?tls_enabled=true"};
  auto by_option = start_engine(cfg, error);
  ASSERT_NE(by_option, nullptr) << error;
  EXPECT_TRUE(round_trip(*by_option, unique_channel("tls_enabled")));
}

}  // namespace
}  // namespace gyre
