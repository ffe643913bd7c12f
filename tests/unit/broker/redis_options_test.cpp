// The connection options of the Redis engine against real redis-server processes, each
// test with servers of its own on free loopback ports:
// - AUTH: `password` (requirepass), ACL `user` + `password`, the redis://user:pass@host/db
//   form, `db`; a wrong password fails the start with the key, the address and Redis' reason.
// - TLS: a server with a self-signed certificate made here; trusted through server_ca_pem
//   (text or file), refused without trust or with a wrong server name (clear error), and
//   accepted with insecure_skip_verify; rediss:// and ?tls_enabled=true.
// - Sentinel: a master, a replica and a sentinel (with passwords on both sides, an
//   unreachable first sentinel, TLS to the sentinel with its own server name); the engine
//   finds the master, follows SENTINEL FAILOVER (the old master stays a writable master
//   for ~10 s after the switch, so only the sentinel's +switch-master event can tell) and
//   a killed master, within seconds.
// Every wait is bounded; every process is stopped by its pid when its test ends.
// Part of redis_broker_tests, whose environment (redis_broker_test.cpp) skips every test
// when redis-server is missing.
#include "broker/redis/redis_engine.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
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

// ---------------------------------------------------------------------------------------
// Sentinel

constexpr const char* master_name = "mymaster";

// A master, one replica of it and one sentinel watching them (quorum 1, so that the one
// sentinel may fail over alone; short down-after so that a dead master is noticed fast).
class sentinel_setup {
 public:
  struct options {
    std::string data_password;                // requirepass/masterauth of master and replica
    std::string sentinel_password;            // requirepass of the sentinel
    const tls_files* sentinel_tls = nullptr;  // the sentinel serves TLS too (on its port)
  };

  bool start(const options& o, std::string& error) {
    opts_ = o;
    std::vector<std::string> auth;
    if (!o.data_password.empty()) {
      auth = {"--requirepass", o.data_password, "--masterauth", o.data_password};
    }
    // No delay before a diskless full sync: the replica is in sync at once.
    auto master_args = auth;
    master_args.insert(master_args.end(), {"--repl-diskless-sync-delay", "0"});
    master_ = std::make_unique<server>(master_args);
    if (!master_->start()) return fail("the master did not start", error);
    auto replica_args = auth;
    replica_args.insert(replica_args.end(),
                        {"--replicaof", "127.0.0.1", std::to_string(master_->port())});
    replica_ = std::make_unique<server>(replica_args);
    if (!replica_->start()) return fail("the replica did not start", error);
    if (!eventually([&] {
          return data_client(replica_->port())
                     .cmd({"INFO", "replication"})
                     .str.find("master_link_status:up") != std::string::npos;
        })) {
      return fail("the replica did not sync", error);
    }
    std::string conf = std::string("sentinel monitor ") + master_name + " 127.0.0.1 " +
                       std::to_string(master_->port()) + " 1\n" +
                       "sentinel down-after-milliseconds " + master_name + " 500\n" +
                       "sentinel failover-timeout " + master_name + " 2000\n";
    if (!o.data_password.empty()) {
      conf += std::string("sentinel auth-pass ") + master_name + " " + o.data_password + "\n";
    }
    if (!o.sentinel_password.empty()) conf += "requirepass " + o.sentinel_password + "\n";
    std::vector<std::string> sentinel_args{"--sentinel"};
    if (o.sentinel_tls != nullptr) {
      const auto tls = o.sentinel_tls->server_args();
      sentinel_args.insert(sentinel_args.end(), tls.begin(), tls.end());
    }
    sentinel_ = std::make_unique<server>(sentinel_args, conf);
    if (!sentinel_->start()) return fail("the sentinel did not start", error);
    // The sentinel learns the replica from the master's INFO, then connects to it; only a
    // replica it has INFO from can be promoted.
    if (!eventually([&] {
          auto replicas = sentinel_client().cmd({"SENTINEL", "REPLICAS", master_name});
          if (replicas.elements.size() != 1) return false;
          const auto& fields = replicas.elements[0].elements;
          for (size_t i = 0; i + 1 < fields.size(); i += 2) {
            if (fields[i].str == "flags") return fields[i + 1].str == "slave";
          }
          return false;
        })) {
      return fail("the sentinel did not find the replica", error);
    }
    return true;
  }

  // The master according to the sentinel.
  uint16_t master_port() {
    auto r = sentinel_client().cmd({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", master_name});
    if (r.elements.size() != 2) return 0;
    return static_cast<uint16_t>(r.elements[1].as_int().value_or(0));
  }

  // A raw client of a data node, authenticated.
  raw_client data_client(uint16_t port) const { return raw_client(port, opts_.data_password); }
  raw_client sentinel_client() const {
    return raw_client(sentinel_->port(), opts_.sentinel_password);
  }

  // Whether `data` was stored in the stream of `ch` on the node at `port`.
  bool stored_on(uint16_t port, const std::string& ch, const std::string& data) const {
    auto entries = data_client(port).cmd({"XRANGE", "centrifugo.stream." + ch, "-", "+"});
    for (const auto& e : entries.elements) {
      if (e.elements.size() == 2 && e.elements[1].elements.size() == 2 &&
          e.elements[1].elements[1].str.find(data) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  server& master() { return *master_; }
  server& replica() { return *replica_; }
  server& sentinel() { return *sentinel_; }

 private:
  static bool fail(const std::string& what, std::string& error) {
    error = what;
    return false;
  }

  options opts_;
  std::unique_ptr<server> master_;
  std::unique_ptr<server> replica_;
  std::unique_ptr<server> sentinel_;
};

config::redis_config sentinel_cfg(sentinel_setup& s) {
  auto cfg = quick_cfg();
  cfg.sentinel_address_ = {local(s.sentinel().port())};
  cfg.sentinel_master_name_ = master_name;
  return cfg;
}

TEST(redis_sentinel, discovers_the_master_with_passwords_and_a_dead_first_sentinel) {
  sentinel_setup s;
  std::string error;
  ASSERT_TRUE(s.start({"datapw", "sentinelpw"}, error)) << error;
  auto cfg = quick_cfg();
  // The first sentinel does not exist: the next one answers.
  cfg.sentinel_address_ = {local(redis_test::free_port()) + "," + local(s.sentinel().port())};
  cfg.sentinel_master_name_ = master_name;
  cfg.password_ = "datapw";
  cfg.sentinel_password_ = "sentinelpw";
  auto e = start_engine(cfg, error);
  ASSERT_NE(e, nullptr) << error;
  const auto ch = unique_channel("sentinel");
  ASSERT_TRUE(round_trip(*e, ch));
  EXPECT_TRUE(s.stored_on(s.master().port(), ch, "payload of " + ch));
  // Replicated to the replica, not written there by us (it is read-only).
  EXPECT_TRUE(eventually([&] { return s.stored_on(s.replica().port(), ch, "payload of " + ch); }));
}

TEST(redis_sentinel, unknown_master_name_or_sentinel_password_fails_the_start) {
  sentinel_setup s;
  std::string error;
  ASSERT_TRUE(s.start({"", "sentinelpw"}, error)) << error;
  auto cfg = sentinel_cfg(s);
  cfg.sentinel_password_ = "sentinelpw";
  cfg.sentinel_master_name_ = "nosuchmaster";
  EXPECT_EQ(start_engine(cfg, error), nullptr);
  EXPECT_NE(error.find("engine.redis"), std::string::npos) << error;
  EXPECT_NE(error.find("nosuchmaster"), std::string::npos) << error;

  cfg.sentinel_master_name_ = master_name;
  cfg.sentinel_password_ = "wrong";
  EXPECT_EQ(start_engine(cfg, error), nullptr);
  EXPECT_NE(error.find("WRONGPASS"), std::string::npos) << error;
}

TEST(redis_sentinel, sentinel_tls_with_its_own_server_name) {
  tls_files tls;
  sentinel_setup s;
  std::string error;
  ASSERT_TRUE(s.start({.sentinel_tls = &tls}, error)) << error;
  auto cfg = quick_cfg();
  cfg.sentinel_address_ = {local(tls.port)};
  cfg.sentinel_master_name_ = master_name;
  cfg.sentinel_tls_.enabled_ = true;
  cfg.sentinel_tls_.server_ca_pem_ = tls.certs.cert_pem;
  cfg.sentinel_tls_.server_name_ = "localhost";
  auto e = start_engine(cfg, error);
  ASSERT_NE(e, nullptr) << error;
  EXPECT_TRUE(round_trip(*e, unique_channel("sentinel_tls")));

  cfg.sentinel_tls_.server_name_ = "not-this-host.example";
  EXPECT_EQ(start_engine(cfg, error), nullptr) << "sentinel_tls.server_name is checked";
  EXPECT_NE(error.find("TLS handshake"), std::string::npos) << error;
}

// Publishes to `ch` until a publication is acknowledged AND stored on the node at `port`
// (not just on some node that still thinks it is the master). Returns how long it took.
std::optional<std::chrono::milliseconds> publish_until_stored_on(sentinel_setup& s, broker& b,
                                                                 uint16_t port,
                                                                 const std::string& ch,
                                                                 std::chrono::milliseconds limit) {
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; std::chrono::steady_clock::now() - started < limit; ++i) {
    const std::string data = "<after " + std::to_string(i) + ">";
    if (publish(b, ch, data).ok() && s.stored_on(port, ch, data)) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
    }
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

// Publishes to `ch` until a publication comes back through PUB/SUB. After a switch the
// PUB/SUB connection subscribes again on the new master, and what is published before
// Redis confirmed that is lost for this node (clients see the gap in the offsets).
bool delivered_again(broker& b, const recording_handler& h, const std::string& ch) {
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; std::chrono::steady_clock::now() - started < 5s; ++i) {
    const std::string data = "<delivered " + std::to_string(i) + ">";
    if (!publish(b, ch, data).ok()) continue;
    const bool got = eventually(
        [&] {
          for (const auto& p : h.publications(ch)) {
            if (p->pub.data == data) return true;
          }
          return false;
        },
        300ms);
    if (got) return true;
  }
  return false;
}

// A master, a replica and a sentinel; an engine found the master through the sentinel,
// subscribed to a channel and published "before" on it.
class redis_sentinel_failover : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(s.start({}, error)) << error;
    e = start_engine(sentinel_cfg(s), error);
    ASSERT_NE(e, nullptr) << error;
    e->broker->start(h);
    ch = unique_channel("failover");
    ASSERT_TRUE(
        await_result<ok_t>([&](status_callback cb) { e->broker->subscribe(ch, std::move(cb)); }, 5s)
            .ok());
    ASSERT_TRUE(publish(*e->broker, ch, "before").ok());
  }
  void TearDown() override {
    if (e) e->broker->stop();
  }

  // After the sentinel promoted the replica: publications land on it within 5 s, PUB/SUB
  // delivers again and the engine is healthy.
  void expect_the_engine_follows() {
    const auto took = publish_until_stored_on(s, *e->broker, s.replica().port(), ch, 5s);
    ASSERT_TRUE(took.has_value()) << "not publishing to the new master 5 s after the switch";
    std::cerr << "[          ] publishing on the new master " << took->count()
              << " ms after the switch\n";
    EXPECT_TRUE(delivered_again(*e->broker, h, ch)) << "PUB/SUB did not follow";
    EXPECT_TRUE(eventually([&] { return e->health->healthy(); }));
  }

  sentinel_setup s;
  recording_handler h;  // outlives the engine that calls it
  std::unique_ptr<redis::redis_engine> e;
  std::string ch;
};

TEST_F(redis_sentinel_failover, follows_a_sentinel_failover) {
  ASSERT_TRUE(s.stored_on(s.master().port(), ch, "before"));
  // The old master stays a writable master until the sentinel converts it, ~10 s later:
  // publishing "works" all along, but only what reaches the new master survives.
  ASSERT_EQ(s.sentinel_client().cmd({"SENTINEL", "FAILOVER", master_name}).text(), "OK");
  ASSERT_TRUE(eventually([&] { return s.master_port() == s.replica().port(); })) << "no failover";
  expect_the_engine_follows();
}

TEST_F(redis_sentinel_failover, follows_the_failover_after_the_master_dies) {
  s.master().stop(SIGKILL);
  EXPECT_TRUE(eventually([&] { return !e->health->healthy(); })) << "outage not noticed";
  // down-after 500 ms, then the sentinel promotes the replica.
  ASSERT_TRUE(eventually([&] { return s.master_port() == s.replica().port(); }, 10s))
      << "no failover";
  expect_the_engine_follows();
}

}  // namespace
}  // namespace gyre
