// The Redis engine against real redis-server processes: the shared engine suite (single
// server, two shards, a three-master cluster; real-time TTLs), wire compatibility with
// Centrifugo's layout, two nodes on one Redis, start-up failure, a server restart, and
// publishes from requests threads on their own connections.
#include "broker/redis/redis_engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/broker_suite.hpp"
#include "broker/pb_wire.hpp"
#include "broker/redis/lua_scripts.hpp"
#include "broker/redis/redis_address.hpp"
#include "broker/redis/redis_broker.hpp"
#include "config/config.hpp"
#include "core/random.hpp"
#include "protocol/client.pb.h"
#include "redis_test_server.hpp"

namespace gyre {
namespace {

using namespace std::chrono_literals;
using broker_test::await_result;
using broker_test::engine_suite_params;
using broker_test::recording_handler;
using redis_test::raw_client;
using redis_test::server;
namespace proto = centrifugal::centrifuge::protocol;

// ---------------------------------------------------------------------------------------
// Servers, started on first use and stopped when the test program ends.

struct servers {
  std::mutex mu;
  std::unique_ptr<server> single;
  std::vector<std::unique_ptr<server>> shards;
  std::vector<std::unique_ptr<server>> cluster;
  std::string cluster_error;
};

servers& S() {
  static servers s;
  return s;
}

class redis_environment : public ::testing::Environment {
 public:
  void SetUp() override {
    const std::string missing = redis_test::missing_binaries();
    if (!missing.empty()) {
      GTEST_SKIP() << "the Redis engine tests need " << missing
                   << " on PATH (apt-get install redis-server; see scripts/deps.sh)";
    }
  }
  void TearDown() override {
    std::lock_guard lock(S().mu);
    S().single.reset();
    S().shards.clear();
    S().cluster.clear();
  }
};
[[maybe_unused]] auto* const environment =
    ::testing::AddGlobalTestEnvironment(new redis_environment);

std::string single_address() {
  std::lock_guard lock(S().mu);
  if (!S().single) {
    S().single = std::make_unique<server>();
    if (!S().single->start()) ADD_FAILURE() << "redis-server did not start";
  }
  return S().single->address();
}

std::vector<std::string> shard_addresses() {
  std::lock_guard lock(S().mu);
  if (S().shards.empty()) {
    for (int i = 0; i < 2; ++i) {
      S().shards.push_back(std::make_unique<server>());
      if (!S().shards.back()->start()) ADD_FAILURE() << "redis-server did not start";
    }
  }
  return {S().shards[0]->address(), S().shards[1]->address()};
}

std::string cluster_seeds() {
  std::lock_guard lock(S().mu);
  if (S().cluster.empty()) {
    std::vector<server*> nodes;
    for (int i = 0; i < 3; ++i) {
      S().cluster.push_back(std::make_unique<server>(
          std::vector<std::string>{"--cluster-enabled", "yes", "--cluster-config-file",
                                   "nodes.conf", "--cluster-node-timeout", "3000"}));
      if (!S().cluster.back()->start()) S().cluster_error = "cluster node did not start";
      nodes.push_back(S().cluster.back().get());
    }
    if (S().cluster_error.empty()) redis_test::make_cluster(nodes, S().cluster_error);
  }
  if (!S().cluster_error.empty()) ADD_FAILURE() << S().cluster_error;
  return S().cluster[0]->address() + "," + S().cluster[1]->address();
}

config::redis_config single_cfg() {
  config::redis_config c;
  c.address_ = {single_address()};
  return c;
}
config::redis_config sharded_cfg() {
  config::redis_config c;
  c.address_ = shard_addresses();
  return c;
}
config::redis_config cluster_cfg() {
  config::redis_config c;
  c.cluster_address_ = {cluster_seeds()};
  return c;
}

std::unique_ptr<redis::redis_engine> make_engine(const config::redis_config& cfg,
                                                 redis::engine_options o = {}) {
  std::string error;
  auto e = redis::make_redis_engine(cfg, "engine.redis", o, true, true, error);
  if (!e) ADD_FAILURE() << "engine: " << error;
  return e;
}

engine_suite_params params(std::string name, config::redis_config (*cfg)()) {
  engine_suite_params p;
  p.name = std::move(name);
  p.make_broker = [cfg](clock&) -> std::unique_ptr<broker> {
    auto e = make_engine(cfg());
    return e ? std::move(e->broker) : nullptr;
  };
  p.make_presence = [cfg](clock&) -> std::unique_ptr<presence_manager> {
    auto e = make_engine(cfg());
    return e ? std::move(e->presence) : nullptr;
  };
  p.time = broker_test::suite_time::real;
  p.unversioned_publish_keeps_version = true;
  p.reverse_since_past_top_reads_from_top = true;
  p.epoch_on_first = false;
  return p;
}

GYRE_INSTANTIATE_ENGINE_SUITE(redis, params("single", single_cfg), params("sharded", sharded_cfg),
                              params("cluster", cluster_cfg));

// ---------------------------------------------------------------------------------------
// Helpers

std::string unique_channel(std::string_view name) {
  return "redis_test_" + random_epoch() + "_" + std::string(name);
}

status subscribe(broker& b, const std::string& ch) {
  return await_result<ok_t>([&](status_callback cb) { b.subscribe(ch, std::move(cb)); }, 5s);
}

result<publish_outcome> publish(broker& b, const std::string& ch, publication pub,
                                const publish_options& o) {
  return await_result<publish_outcome>(
      [&](callback<publish_outcome> cb) { b.publish(ch, std::move(pub), o, std::move(cb)); }, 5s);
}

result<history_page> history(broker& b, const std::string& ch, history_query q) {
  return await_result<history_page>(
      [&](callback<history_page> cb) { b.history(ch, q, std::move(cb)); }, 5s);
}

publish_options with_history(uint32_t size = 10) {
  publish_options o;
  o.history_size = size;
  o.history_ttl_seconds = 60;
  o.history_meta_ttl_seconds = 3600;
  return o;
}

publication make_pub(std::string data) {
  publication p;
  p.data = std::move(data);
  return p;
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

uint16_t port_of(const std::string& address) {
  return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

// ---------------------------------------------------------------------------------------
// Wire compatibility: what Centrifugo nodes read and write.

TEST(redis_wire, publish_writes_centrifugo_keys_fields_and_stream_entries) {
  auto e = make_engine(single_cfg());
  ASSERT_NE(e, nullptr);
  raw_client raw(port_of(single_address()));
  ASSERT_TRUE(raw.ok());
  const auto ch = unique_channel("wire");
  publication pub = make_pub(R"({"x":1})");
  pub.info = client_info{"u1", "c1", R"({"conn":1})", R"({"chan":1})"};
  pub.tags = {{"k", "v"}};
  pub.time = 1'700'000'000'123;
  auto o = with_history();
  o.idempotency_key = "idem1";
  o.version = 5;
  o.version_epoch = "ve1";
  auto r = publish(*e->broker, ch, pub, o);
  ASSERT_TRUE(r.ok());
  const std::string epoch = r->position.epoch;
  EXPECT_EQ(r->position.offset, 1u);
  EXPECT_EQ(epoch.size(), 8u);

  const std::string stream = "centrifugo.stream." + ch;
  EXPECT_EQ(raw.cmd({"TYPE", stream}).text(), "stream");
  auto entries = raw.cmd({"XRANGE", stream, "-", "+"});
  ASSERT_EQ(entries.elements.size(), 1u);
  EXPECT_EQ(entries.elements[0].elements[0].str, "1-0");
  const auto& fields = entries.elements[0].elements[1].elements;
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].str, "d");
  proto::Publication stored;
  ASSERT_TRUE(stored.ParseFromString(fields[1].str));
  EXPECT_EQ(stored.data(), R"({"x":1})");
  EXPECT_EQ(stored.info().user(), "u1");
  EXPECT_EQ(stored.info().client(), "c1");
  EXPECT_EQ(stored.info().conn_info(), R"({"conn":1})");
  EXPECT_EQ(stored.info().chan_info(), R"({"chan":1})");
  ASSERT_EQ(stored.tags().size(), 1u);
  EXPECT_EQ(stored.tags().at("k"), "v");
  EXPECT_EQ(stored.time(), 1'700'000'000'123);

  const std::string meta = "centrifugo.stream.meta." + ch;
  EXPECT_EQ(raw.cmd({"HGET", meta, "e"}).str, epoch);
  EXPECT_EQ(raw.cmd({"HGET", meta, "s"}).str, "1");
  EXPECT_EQ(raw.cmd({"HGET", meta, "v"}).str, "5");
  EXPECT_EQ(raw.cmd({"HGET", meta, "ve"}).str, "ve1");
  const auto stream_ttl = raw.cmd({"TTL", stream}).integer;
  EXPECT_GT(stream_ttl, 0);
  EXPECT_LE(stream_ttl, 60);
  const auto meta_ttl = raw.cmd({"TTL", meta}).integer;
  EXPECT_GT(meta_ttl, 60);
  EXPECT_LE(meta_ttl, 3600);

  const std::string result = "centrifugo.result." + ch + ".idem1";
  EXPECT_EQ(raw.cmd({"HGET", result, "e"}).str, epoch);
  EXPECT_EQ(raw.cmd({"HGET", result, "s"}).str, "1");
  EXPECT_GT(raw.cmd({"TTL", result}).integer, 0);
  EXPECT_LE(raw.cmd({"TTL", result}).integer, 300);

  // Presence.
  client_info who{"alice", "client-1", R"({"a":1})", ""};
  ASSERT_TRUE(
      await_result<ok_t>([&](status_callback cb) { e->presence->add(ch, who, std::move(cb)); }, 5s)
          .ok());
  proto::ClientInfo info;
  ASSERT_TRUE(
      info.ParseFromString(raw.cmd({"HGET", "centrifugo.presence.data." + ch, "client-1"}).str));
  EXPECT_EQ(info.user(), "alice");
  EXPECT_EQ(info.client(), "client-1");
  EXPECT_EQ(info.conn_info(), R"({"a":1})");
  const auto score = raw.cmd({"ZSCORE", "centrifugo.presence.expire." + ch, "client-1"}).as_int();
  ASSERT_TRUE(score.has_value());
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_NEAR(static_cast<double>(*score), static_cast<double>(now + 60), 5.0);
}

TEST(redis_wire, history_written_by_another_node_in_centrifugo_format_is_read) {
  auto e = make_engine(single_cfg());
  ASSERT_NE(e, nullptr);
  raw_client raw(port_of(single_address()));
  const auto ch = unique_channel("foreign_history");
  for (int i = 1; i <= 3; ++i) {
    proto::Publication p;
    p.set_data("go-" + std::to_string(i));
    raw.cmd(
        {"XADD", "centrifugo.stream." + ch, std::to_string(i) + "-0", "d", p.SerializeAsString()});
  }
  raw.cmd({"HSET", "centrifugo.stream.meta." + ch, "e", "GoEpoch1", "s", "3"});
  auto page = history(*e->broker, ch, history_query{std::nullopt, -1, false, 3600});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->top, (stream_position{3, "GoEpoch1"}));
  ASSERT_EQ(page->publications.size(), 3u);
  EXPECT_EQ(page->publications[2].data, "go-3");
  EXPECT_EQ(page->publications[2].offset, 3u);
  // Our next publish continues that stream.
  auto r = publish(*e->broker, ch, make_pub("cpp-4"), with_history());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->position, (stream_position{4, "GoEpoch1"}));
}

TEST(redis_wire, publications_published_in_centrifugo_format_are_delivered) {
  auto e = make_engine(single_cfg());
  ASSERT_NE(e, nullptr);
  recording_handler h;
  e->broker->start(h);
  const auto ch = unique_channel("inject");
  ASSERT_TRUE(subscribe(*e->broker, ch).ok());
  raw_client raw(port_of(single_address()));
  const std::string pubsub = "centrifugo.client." + ch;

  proto::Publication p;
  p.set_data(R"({"n":7})");
  p.mutable_info()->set_user("go-user");
  p.mutable_info()->set_client("go-client");
  (*p.mutable_tags())["t"] = "1";
  raw.cmd({"PUBLISH", pubsub, "__p1:7:abcdefgh__" + p.SerializeAsString()});

  proto::Publication prev;
  prev.set_data("previous");
  proto::Publication cur;
  cur.set_data("current");
  const std::string pb_prev = prev.SerializeAsString();
  const std::string pb_cur = cur.SerializeAsString();
  raw.cmd({"PUBLISH", pubsub,
           "__d1:8:abcdefgh:" + std::to_string(pb_prev.size()) + ":" + pb_prev + ":" +
               std::to_string(pb_cur.size()) + ":" + pb_cur});

  proto::Publication live;
  live.set_data("live");
  live.set_delta(true);
  raw.cmd({"PUBLISH", pubsub, live.SerializeAsString()});

  proto::ClientInfo joiner;
  joiner.set_user("j");
  joiner.set_client("jc");
  raw.cmd({"PUBLISH", pubsub, "__j__" + joiner.SerializeAsString()});
  raw.cmd({"PUBLISH", pubsub, "__l__" + joiner.SerializeAsString()});

  ASSERT_TRUE(h.wait_publications(ch, 3, 5s));
  ASSERT_TRUE(h.wait_joins(1, 5s));
  ASSERT_TRUE(h.wait_leaves(1, 5s));
  const auto got = h.publications(ch);
  EXPECT_EQ(got[0]->pub.offset, 7u);
  EXPECT_EQ(got[0]->epoch, "abcdefgh");
  EXPECT_EQ(got[0]->pub.data, R"({"n":7})");
  ASSERT_TRUE(got[0]->pub.info.has_value());
  EXPECT_EQ(got[0]->pub.info->user, "go-user");
  EXPECT_EQ(got[0]->pub.tags, (tags_map{{"t", "1"}}));
  EXPECT_FALSE(got[0]->use_delta);

  EXPECT_EQ(got[1]->pub.offset, 8u);
  EXPECT_EQ(got[1]->pub.data, "current");
  EXPECT_TRUE(got[1]->use_delta);
  ASSERT_NE(got[1]->prev_data, nullptr);
  EXPECT_EQ(*got[1]->prev_data, "previous");

  EXPECT_EQ(got[2]->pub.offset, 0u);
  EXPECT_EQ(got[2]->epoch, "");
  EXPECT_TRUE(got[2]->use_delta);
  EXPECT_EQ(h.joins()[0].info, (client_info{"j", "jc", "", ""}));
  EXPECT_EQ(h.leaves()[0].channel, ch);
  e->broker->stop();
}

TEST(redis_wire, our_pubsub_payloads_use_centrifugo_framing) {
  auto e = make_engine(single_cfg());
  ASSERT_NE(e, nullptr);
  const auto ch = unique_channel("framing");
  // A raw subscriber sees exactly what a Go node would receive.
  raw_client sub(port_of(single_address()));
  ASSERT_EQ(sub.cmd({"SUBSCRIBE", "centrifugo.client." + ch}).elements.size(), 3u);
  auto o = with_history();
  auto first = publish(*e->broker, ch, make_pub("a"), o);
  ASSERT_TRUE(first.ok());
  o.use_delta = true;
  ASSERT_TRUE(publish(*e->broker, ch, make_pub("b"), o).ok());
  ASSERT_TRUE(publish(*e->broker, ch, make_pub("c"), publish_options{}).ok());
  const std::string epoch = first->position.epoch;
  proto::Publication a, b, c;
  a.set_data("a");
  b.set_data("b");
  c.set_data("c");
  const std::string pa = a.SerializeAsString();
  const std::string pb = b.SerializeAsString();
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i) {
    auto m = sub.next();
    ASSERT_EQ(m.elements.size(), 3u) << m.str;
    EXPECT_EQ(m.elements[0].str, "message");
    got.push_back(m.elements[2].str);
  }
  EXPECT_EQ(got[0], "__p1:1:" + epoch + "__" + pa);
  EXPECT_EQ(got[1], "__d1:2:" + epoch + ":" + std::to_string(pa.size()) + ":" + pa + ":" +
                        std::to_string(pb.size()) + ":" + pb);
  EXPECT_EQ(got[2], c.SerializeAsString()) << "no history: the raw Publication";
}

// ---------------------------------------------------------------------------------------
// Nodes

TEST(redis_engine, two_nodes_exchange_publications_history_and_control_messages) {
  auto a = make_engine(single_cfg());
  auto b = make_engine(single_cfg());
  ASSERT_TRUE(a && b);
  recording_handler ha, hb;
  a->broker->start(ha);
  b->broker->start(hb);
  const auto ch = unique_channel("cross");
  ASSERT_TRUE(subscribe(*b->broker, ch).ok());
  auto r = publish(*a->broker, ch, make_pub("hello"), with_history());
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(hb.wait_publications(ch, 1, 5s));
  EXPECT_EQ(hb.publications(ch)[0]->pub.offset, 1u);
  EXPECT_EQ(hb.publications(ch)[0]->epoch, r->position.epoch);
  EXPECT_TRUE(ha.publications(ch).empty()) << "node A never subscribed";
  auto page = history(*b->broker, ch, history_query{std::nullopt, -1, false, 3600});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->top, r->position);

  struct control_recorder final : control_handler {
    std::mutex mu;
    std::vector<std::string> got;
    void on_control(std::string_view p) override {
      std::lock_guard lock(mu);
      got.emplace_back(p);
    }
    size_t count(const std::string& what) {
      std::lock_guard lock(mu);
      return static_cast<size_t>(std::count(got.begin(), got.end(), what));
    }
  } ca, cb;
  const std::string uid_a = "node-a-" + random_epoch();
  const std::string uid_b = "node-b-" + random_epoch();
  a->control->start(ca, uid_a);
  b->control->start(cb, uid_b);
  // Subscriptions are asynchronous: probe until both nodes hear a broadcast.
  ASSERT_TRUE(eventually([&] {
    a->control->broadcast("probe");
    std::this_thread::sleep_for(20ms);
    return ca.count("probe") > 0 && cb.count("probe") > 0;
  }));
  a->control->broadcast("everyone");
  a->control->send_to(uid_b, "only-b");
  b->control->send_to(uid_b, "b-to-itself");
  ASSERT_TRUE(eventually([&] { return cb.count("only-b") == 1 && cb.count("b-to-itself") == 1; }));
  ASSERT_TRUE(eventually([&] { return ca.count("everyone") == 1 && cb.count("everyone") == 1; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ca.count("only-b"), 0u);
  a->control->stop();
  b->control->stop();
  a->broker->stop();
  b->broker->stop();
}

TEST(redis_engine, channels_live_on_their_jump_hash_shard) {
  auto e = make_engine(sharded_cfg());
  ASSERT_NE(e, nullptr);
  const auto addrs = shard_addresses();
  raw_client s0(port_of(addrs[0]));
  raw_client s1(port_of(addrs[1]));
  size_t on[2] = {0, 0};
  for (int i = 0; i < 20; ++i) {
    const auto ch = unique_channel("placed_" + std::to_string(i));
    ASSERT_TRUE(publish(*e->broker, ch, make_pub("x"), with_history()).ok());
    const size_t want = redis::shard_index(ch, 2);
    ++on[want];
    EXPECT_EQ((want == 0 ? s0 : s1).cmd({"EXISTS", "centrifugo.stream." + ch}).integer, 1) << ch;
    EXPECT_EQ((want == 0 ? s1 : s0).cmd({"EXISTS", "centrifugo.stream." + ch}).integer, 0) << ch;
  }
  EXPECT_GT(on[0], 0u);
  EXPECT_GT(on[1], 0u);
  EXPECT_TRUE(e->health->healthy());
  EXPECT_EQ(e->health->shards().size(), 2u);
}

TEST(redis_engine, cluster_keys_carry_the_channel_hash_tag) {
  auto e = make_engine(cluster_cfg());
  ASSERT_NE(e, nullptr);
  const auto ch = unique_channel("tagged");
  auto r = publish(*e->broker, ch, make_pub("x"), with_history());
  ASSERT_TRUE(r.ok());
  // The node that owns the slot of {ch} holds the stream.
  bool found = false;
  for (auto& n : S().cluster) {
    raw_client c(n->port());
    if (c.cmd({"EXISTS", "centrifugo.stream.{" + ch + "}"}).integer == 1) found = true;
  }
  EXPECT_TRUE(found);
}

TEST(redis_engine, start_fails_fast_naming_an_unreachable_address) {
  config::redis_config cfg;
  const uint16_t port = redis_test::free_port();
  cfg.address_ = {"127.0.0.1:" + std::to_string(port)};
  cfg.connect_timeout_ = 200ms;
  cfg.io_timeout_ = 300ms;
  std::string error;
  const auto started = std::chrono::steady_clock::now();
  auto e = redis::make_redis_engine(cfg, "engine.redis", {}, true, true, error);
  EXPECT_EQ(e, nullptr);
  EXPECT_NE(error.find("engine.redis"), std::string::npos) << error;
  EXPECT_NE(error.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << error;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);

  cfg.address_ = {"redis://127.0.0.1:70000"};
  e = redis::make_redis_engine(cfg, "broker.redis", {}, true, false, error);
  EXPECT_EQ(e, nullptr);
  EXPECT_NE(error.find("broker.redis.address[0]"), std::string::npos) << error;
}

TEST(redis_engine, history_in_lists) {
  redis::engine_options o;
  o.history_use_lists = true;
  auto e = make_engine(single_cfg(), o);
  ASSERT_NE(e, nullptr);
  raw_client raw(port_of(single_address()));
  const auto ch = unique_channel("lists");
  stream_position top;
  for (int i = 1; i <= 5; ++i) {
    auto r = publish(*e->broker, ch, make_pub(std::to_string(i)), with_history(3));
    ASSERT_TRUE(r.ok());
    top = r->position;
  }
  EXPECT_EQ(top.offset, 5u);
  auto page = history(*e->broker, ch, history_query{std::nullopt, -1, false, 3600});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->top, top);
  ASSERT_EQ(page->publications.size(), 3u);
  EXPECT_EQ(page->publications[0].offset, 3u);
  EXPECT_EQ(page->publications[2].data, "5");
  page = history(*e->broker, ch, history_query{stream_position{3, top.epoch}, 1, false, 3600});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->publications.size(), 1u);
  EXPECT_EQ(page->publications[0].offset, 4u);
  auto values = raw.cmd({"LRANGE", "centrifugo.list." + ch, "0", "-1"});
  ASSERT_EQ(values.elements.size(), 3u);
  proto::Publication newest;
  newest.set_data("5");
  EXPECT_EQ(values.elements[0].str, "__p1:5:" + top.epoch + "__" + newest.SerializeAsString());
  EXPECT_EQ(raw.cmd({"HGET", "centrifugo.list.meta." + ch, "s"}).str, "5");
}

// ---------------------------------------------------------------------------------------
// Faults

TEST(redis_engine, survives_a_redis_restart) {
  server srv;
  ASSERT_TRUE(srv.start());
  config::redis_config cfg;
  cfg.address_ = {srv.address()};
  cfg.connect_timeout_ = 300ms;
  cfg.io_timeout_ = 1s;
  auto e = make_engine(cfg);
  ASSERT_NE(e, nullptr);
  std::mutex mu;
  std::vector<bool> transitions;
  e->health->on_change([&](size_t, bool ok) {
    std::lock_guard lock(mu);
    transitions.push_back(ok);
  });
  recording_handler h;
  e->broker->start(h);
  const auto ch = unique_channel("restart");
  ASSERT_TRUE(subscribe(*e->broker, ch).ok());
  stream_position before;
  for (int i = 0; i < 10; ++i) {
    auto r = publish(*e->broker, ch, make_pub("before"), with_history());
    ASSERT_TRUE(r.ok());
    before = r->position;
  }
  ASSERT_TRUE(h.wait_publications(ch, 10, 5s));

  // Publish continuously from another thread while the server goes away.
  std::atomic<bool> run{true};
  std::atomic<int> ok_count{0}, failed_count{0};
  std::thread publisher([&] {
    while (run.load()) {
      auto r = publish(*e->broker, ch, make_pub("during"), with_history());
      (r.ok() ? ok_count : failed_count)++;
      if (!r.ok()) {
        EXPECT_EQ(r.error(), errors::internal);
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  std::this_thread::sleep_for(100ms);
  srv.stop(SIGTERM);
  EXPECT_TRUE(eventually([&] { return !e->health->healthy(); }, 5s)) << "outage not noticed";
  EXPECT_TRUE(eventually([&] { return failed_count.load() > 0; }, 5s))
      << "publishes kept succeeding";
  ASSERT_TRUE(srv.start(srv.port()));
  EXPECT_TRUE(eventually([&] { return e->health->healthy(); }, 10s)) << "no reconnect";
  const size_t seen = h.publications(ch).size();
  // Resubscribed: a publish after the restart is delivered again.
  ASSERT_TRUE(eventually([&] { return h.publications(ch).size() > seen + 2; }, 10s))
      << "no delivery after the restart (resubscribe)";
  run = false;
  publisher.join();
  EXPECT_GT(ok_count.load(), 0);
  {
    std::lock_guard lock(mu);
    ASSERT_GE(transitions.size(), 2u);
    EXPECT_FALSE(transitions.front());
    EXPECT_TRUE(transitions.back());
  }
  // The server kept nothing (no persistence): the stream restarted in a new epoch, and
  // the position acknowledged before the outage is reported unrecoverable, not silently
  // continued.
  auto page = history(*e->broker, ch, history_query{std::nullopt, 0, false, 3600});
  ASSERT_TRUE(page.ok());
  EXPECT_NE(page->top.epoch, before.epoch);
  auto r = history(*e->broker, ch, history_query{before, -1, false, 3600});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errors::unrecoverable_position);
  e->broker->stop();
}

// After an outage long enough for the reconnect backoff to grow, the PUB/SUB connection
// comes back with the data connection (whichever reconnects first pulls the other): this
// node does not go on publishing for seconds while its own PUB/SUB is still down, which
// would leave its subscribers with more missed publications than a recovery brings back.
TEST(redis_engine, pubsub_reconnects_together_with_the_data_connection) {
  server srv;
  ASSERT_TRUE(srv.start());
  config::redis_config cfg;
  cfg.address_ = {srv.address()};
  cfg.connect_timeout_ = 300ms;
  cfg.io_timeout_ = 1s;
  auto e = make_engine(cfg);
  ASSERT_NE(e, nullptr);
  recording_handler h;
  e->broker->start(h);
  const auto ch = unique_channel("together");
  ASSERT_TRUE(subscribe(*e->broker, ch).ok());

  srv.stop(SIGKILL);
  ASSERT_TRUE(eventually([&] { return !e->health->healthy(); }, 5s));
  std::this_thread::sleep_for(2s);  // several failed attempts: backoffs of ~1-2 s now
  ASSERT_TRUE(srv.start(srv.port()));

  // Publish every 2 ms from the moment Redis is back; note what was acknowledged.
  std::atomic<bool> run{true};
  std::mutex mu;
  std::vector<std::string> acked;
  std::thread publisher([&] {
    for (int i = 0; run.load() && i < 5000; ++i) {
      const std::string data = "\"p" + std::to_string(i) + "\"";
      if (publish(*e->broker, ch, make_pub(data), publish_options{}).ok()) {
        std::lock_guard lock(mu);
        acked.push_back(data);
      }
      std::this_thread::sleep_for(2ms);
    }
  });
  const bool back = eventually([&] { return e->health->healthy(); }, 10s);
  const bool delivering = eventually([&] { return !h.publications(ch).empty(); }, 10s);
  std::this_thread::sleep_for(200ms);
  run = false;
  publisher.join();
  ASSERT_TRUE(back) << "no reconnect";
  ASSERT_TRUE(delivering) << "no delivery after the restart";
  std::this_thread::sleep_for(100ms);  // the last ones on their way

  std::set<std::string> seen;
  for (const auto& p : h.publications(ch)) seen.insert(p->pub.data);
  size_t lost = 0;
  for (const auto& d : acked) lost += seen.count(d) == 0 ? 1 : 0;
  // Only publishes made while the PUB/SUB connection does its handshake and SUBSCRIBE
  // (milliseconds) may be missed; not the ~1 s of a backoff.
  EXPECT_LE(lost, 25u) << lost << " of " << acked.size() << " acknowledged publications missed";
  e->broker->stop();
}

// Only the shard whose PUB/SUB connection was lost reports its channels, once they are
// subscribed again; the stream tops read then are the ones published meanwhile by another
// node (docs/design/resubscribe-position-check.md).
TEST(redis_engine, a_lost_pubsub_connection_reports_its_own_channels_once_resubscribed) {
  server s0, s1;
  ASSERT_TRUE(s0.start());
  ASSERT_TRUE(s1.start());
  config::redis_config cfg;
  cfg.address_ = {s0.address(), s1.address()};
  cfg.io_timeout_ = 1s;
  auto e = make_engine(cfg);
  auto other = make_engine(cfg);
  ASSERT_NE(e, nullptr);
  ASSERT_NE(other, nullptr);
  recording_handler h, other_h;
  e->broker->start(h);
  other->broker->start(other_h);
  std::set<std::string> on_shard[2];
  for (int i = 0; i < 600; ++i) {  // more than one restored batch (256) on each shard
    const auto ch = unique_channel("restored_" + std::to_string(i));
    ASSERT_TRUE(subscribe(*e->broker, ch).ok());
    on_shard[redis::shard_index(ch, 2)].insert(ch);
  }
  ASSERT_GT(on_shard[1].size(), 256u);
  const std::string quiet = *on_shard[1].begin();
  ASSERT_TRUE(publish(*other->broker, quiet, make_pub("before"), with_history()).ok());
  ASSERT_TRUE(h.wait_publications(quiet, 1, 5s));

  // Shard 1's PUB/SUB connection goes away; another node publishes before it is back.
  raw_client admin(s1.port());
  ASSERT_TRUE(admin.ok());
  EXPECT_GE(admin.cmd({"CLIENT", "KILL", "TYPE", "pubsub"}).integer, 1);
  auto missed = publish(*other->broker, quiet, make_pub("missed"), with_history());

  std::set<std::string> restored;
  ASSERT_TRUE(eventually(
      [&] {
        restored.clear();
        for (const auto& batch : h.restored()) {
          EXPECT_LE(batch.size(), 256u);
          restored.insert(batch.begin(), batch.end());
        }
        return restored.size() >= on_shard[1].size();
      },
      10s))
      << restored.size() << " of " << on_shard[1].size() << " channels reported";
  EXPECT_EQ(restored, on_shard[1]) << "only shard 1's channels, each once";

  ASSERT_TRUE(missed.ok());
  auto tops = await_result<std::vector<stream_position>>(
      [&](callback<std::vector<stream_position>> cb) {
        e->broker->stream_tops({quiet}, std::move(cb));
      },
      5s);
  ASSERT_TRUE(tops.ok());
  EXPECT_EQ(tops->at(0), missed->position);
  EXPECT_LT(h.max_offset(quiet), missed->position.offset)
      << "the node missed it: the check will tell";
  e->broker->stop();
  other->broker->stop();
}

// stream_tops() completes only after every publication up to the tops it read went through
// this node's handler, even when another node made them: its PUB/SUB message and the
// metadata reply travel on different connections, and a large message takes many reads
// while the small reply overtakes it.
TEST(redis_engine, stream_tops_complete_after_the_publications_up_to_them_reached_the_handler) {
  auto e = make_engine(single_cfg());
  auto other = make_engine(single_cfg());
  ASSERT_NE(e, nullptr);
  ASSERT_NE(other, nullptr);
  recording_handler h, other_h;
  e->broker->start(h);
  other->broker->start(other_h);
  const auto ch = unique_channel("tops_barrier");
  ASSERT_TRUE(subscribe(*e->broker, ch).ok());
  const std::string big(1 << 20, 'x');
  for (int i = 1; i <= 100; ++i) {
    auto r = publish(*other->broker, ch, make_pub("\"" + big + std::to_string(i) + "\""),
                     with_history(3));
    ASSERT_TRUE(r.ok());
    auto tops = await_result<std::vector<stream_position>>(
        [&](callback<std::vector<stream_position>> cb) {
          e->broker->stream_tops({ch}, std::move(cb));
        },
        5s);
    ASSERT_TRUE(tops.ok());
    ASSERT_EQ(tops->at(0).offset, static_cast<uint64_t>(i));
    ASSERT_EQ(h.max_offset(ch), tops->at(0).offset) << "publication " << i << " not handled yet";
  }
  e->broker->stop();
  other->broker->stop();
}

// ---------------------------------------------------------------------------------------
// Publish batching (redis_broker.hpp): concurrent publishes share round trips.

// Calls of a command Redis counted so far (INFO commandstats).
uint64_t command_calls(raw_client& raw, const std::string& command) {
  const std::string info = raw.cmd({"INFO", "commandstats"}).str;
  const std::string tag = "cmdstat_" + command + ":calls=";
  const auto at = info.find(tag);
  if (at == std::string::npos) return 0;
  return std::stoull(info.substr(at + tag.size()));
}

// 8 threads publish 50 publications each without waiting, two threads per channel: every
// publication is acknowledged with its own offset, offsets per channel are 1..100, each
// thread's publications keep its order, everything acknowledged is in the history, and
// Redis ran far fewer scripts than there were publications (they were batched).
redis::engine_core& rb_core(redis::redis_engine& e) {
  return dynamic_cast<redis::redis_broker&>(*e.broker).core();
}

TEST(redis_engine, concurrent_publishes_are_batched_keep_their_order_and_are_stored) {
  auto e = make_engine(single_cfg());
  ASSERT_NE(e, nullptr);
  raw_client raw(port_of(single_address()));
  ASSERT_TRUE(raw.ok());
  std::vector<std::string> channels;
  for (int c = 0; c < 4; ++c) channels.push_back(unique_channel("batch" + std::to_string(c)));
  constexpr int threads = 8, per_thread = 50;
  const uint64_t scripts_before = command_calls(raw, "evalsha") + command_calls(raw, "eval");
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0, failed = 0;
  // offsets[t][i]: the offset publication i of thread t got.
  std::vector<std::vector<uint64_t>> offsets(threads, std::vector<uint64_t>(per_thread, 0));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        e->broker->publish(channels[t % 4], make_pub(std::to_string(t) + ":" + std::to_string(i)),
                           with_history(1000), [&, t, i](result<publish_outcome> r) {
                             std::lock_guard lock(mu);
                             if (r)
                               offsets[t][i] = r->position.offset;
                             else
                               ++failed;
                             ++answered;
                             cv.notify_all();
                           });
      }
    });
  }
  for (auto& w : workers) w.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return answered == threads * per_thread; }))
        << answered << " answered";
  }
  EXPECT_EQ(failed, 0);
  for (int t = 0; t < threads; ++t)
    for (int i = 1; i < per_thread; ++i)
      EXPECT_GT(offsets[t][i], offsets[t][i - 1]) << "thread " << t << " publication " << i;
  for (int c = 0; c < 4; ++c) {
    std::set<uint64_t> seen;
    for (int t = c; t < threads; t += 4) seen.insert(offsets[t].begin(), offsets[t].end());
    EXPECT_EQ(seen.size(), 100u);
    EXPECT_EQ(*seen.begin(), 1u);
    EXPECT_EQ(*seen.rbegin(), 100u);
    history_query q;
    q.limit = -1;
    auto page = history(*e->broker, channels[c], q);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->publications.size(), 100u);
    for (size_t k = 0; k < page->publications.size(); ++k) {
      const auto& p = page->publications[k];
      EXPECT_EQ(p.offset, k + 1);
      // The stored publication is the one acknowledged with that offset.
      const int t = std::stoi(p.data.substr(0, p.data.find(':')));
      const int i = std::stoi(p.data.substr(p.data.find(':') + 1));
      EXPECT_EQ(offsets[t][i], p.offset) << p.data;
    }
  }
  // The batch sets each key's TTL once, at its end (deferred EXPIREs): as after one script
  // per publication, the stream keeps history_ttl and the meta hash history_meta_ttl.
  for (const auto& ch : channels) {
    const auto stream_ttl = raw.cmd({"TTL", rb_core(*e).key("stream", ch)}).as_int();
    const auto meta_ttl = raw.cmd({"TTL", rb_core(*e).key("stream.meta", ch)}).as_int();
    ASSERT_TRUE(stream_ttl && meta_ttl);
    EXPECT_GT(*stream_ttl, 50);
    EXPECT_LE(*stream_ttl, 60);
    EXPECT_GT(*meta_ttl, 3590);
    EXPECT_LE(*meta_ttl, 3600);
  }
  const uint64_t scripts =
      command_calls(raw, "evalsha") + command_calls(raw, "eval") - scripts_before;
  EXPECT_LT(scripts, static_cast<uint64_t>(threads * per_thread) / 2)
      << "400 publications in " << scripts << " scripts: not batched";
}

// add_history_stream's KEYS and ARGV for a publication of `pub` to ch (no idempotency key,
// no delta, version `version`), as the broker builds them.
std::vector<std::string> stream_keys(redis::engine_core& core, const std::string& ch) {
  return {core.key("stream", ch), core.key("stream.meta", ch), core.key("stream", ch)};
}
std::vector<std::string> stream_argv(const publication& pub, std::string size,
                                     std::string pubsub_channel, std::string version = "0") {
  return {pb_wire::encode_publication(pub, false),
          std::move(size),
          "60",
          std::move(pubsub_channel),
          "3600",
          "epoch1",
          "publish",
          "",
          "0",
          std::move(version),
          ""};
}

// One batch call runs a run (consecutive plain publications to one channel) as the single
// script run for each in turn would leave Redis: consecutive offsets, the stream trimmed
// to the history size (only the run's last XADD trims), each publication's PUB/SUB message
// in order, the TTLs set; a publication with a version between two runs of the same
// channel keeps its place; a publication whose XADD fails (its offset is not above the
// stream's last id) fails alone and is not published, those after it are stored.
TEST(redis_engine, a_batch_runs_plain_publications_of_a_channel_together) {
  auto e = make_engine(single_cfg());
  ASSERT_NE(e, nullptr);
  raw_client raw(port_of(single_address()));
  ASSERT_TRUE(raw.ok());
  auto* rb = dynamic_cast<redis::redis_broker*>(e->broker.get());
  ASSERT_NE(rb, nullptr);
  redis::engine_core& core = rb->core();
  const auto ch = unique_channel("run"), other = unique_channel("run_other");
  const std::string pubsub = core.client_channel(ch);
  raw_client listener(port_of(single_address()));
  ASSERT_TRUE(listener.ok());
  ASSERT_EQ(listener.cmd({"SUBSCRIBE", pubsub}).elements.size(), 3u);  // the confirmation

  redis::stream_batch batch;
  for (int i = 1; i <= 6; ++i)
    batch.add(stream_keys(core, ch), stream_argv(make_pub("a" + std::to_string(i)), "4", pubsub));
  batch.add(stream_keys(core, ch), stream_argv(make_pub("versioned"), "4", pubsub, "5"));
  batch.add(stream_keys(core, other), stream_argv(make_pub("other"), "4", ""));
  for (int i = 1; i <= 2; ++i)
    batch.add(stream_keys(core, ch), stream_argv(make_pub("b" + std::to_string(i)), "4", pubsub));
  EXPECT_EQ(batch.publications(), 10u);
  std::vector<std::string> keys, argv;
  batch.take(keys, argv);
  EXPECT_EQ(argv[0], "4");                 // run a1..a6, versioned, other, run b1..b2
  EXPECT_EQ(keys.size(), 2u + 3 + 2 + 2);  // a run sends its keys once
  EXPECT_EQ(batch.publications(), 0u);

  auto call = [&core, &ch](std::vector<std::string> k, std::vector<std::string> a) {
    std::promise<redis::reply> p;
    core.shard_of(ch).exec_script(redis::add_history_stream_batch_script(), std::move(k),
                                  std::move(a),
                                  [&p](redis::reply&& r) { p.set_value(std::move(r)); });
    auto f = p.get_future();
    EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
    return f.get();
  };
  redis::reply r = call(keys, argv);
  ASSERT_EQ(r.type, redis::reply::kind::array) << r.str;
  ASSERT_EQ(r.elements.size(), 10u);
  const std::vector<int64_t> want{1, 2, 3, 4, 5, 6, 7, 1, 8, 9};
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(r.elements[i].type, redis::reply::kind::array) << i << ": " << r.elements[i].str;
    EXPECT_EQ(r.elements[i].elements[0].as_int(), want[i]) << i;
    EXPECT_EQ(r.elements[i].elements[1].text(), "epoch1");
    // A run's publications answer {offset, epoch}; the versioned one the full result.
    EXPECT_EQ(r.elements[i].elements.size(), i == 6 ? 4u : 2u) << i;
  }
  EXPECT_EQ(r.elements[6].elements[2].text(), "0");
  EXPECT_EQ(r.elements[6].elements[3].text(), "0");
  // The stream keeps the last 4 entries, ids = offsets; the meta hash the top and epoch.
  const std::string stream = core.key("stream", ch), meta = core.key("stream.meta", ch);
  EXPECT_EQ(raw.cmd({"XLEN", stream}).as_int(), 4);
  redis::reply entries = raw.cmd({"XRANGE", stream, "-", "+"});
  ASSERT_EQ(entries.elements.size(), 4u);
  const std::vector<std::string> ids{"6-0", "7-0", "8-0", "9-0"};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(entries.elements[i].elements[0].str, ids[i]);
  EXPECT_EQ(raw.cmd({"HGET", meta, "s"}).as_int(), 9);
  EXPECT_EQ(raw.cmd({"HGET", meta, "e"}).text(), "epoch1");
  EXPECT_EQ(raw.cmd({"HGET", meta, "v"}).as_int(), 5);
  const auto stream_ttl = raw.cmd({"TTL", stream}).as_int();
  const auto meta_ttl = raw.cmd({"TTL", meta}).as_int();
  ASSERT_TRUE(stream_ttl && meta_ttl);
  EXPECT_GT(*stream_ttl, 50);
  EXPECT_LE(*stream_ttl, 60);
  EXPECT_GT(*meta_ttl, 3590);
  EXPECT_LE(*meta_ttl, 3600);
  EXPECT_EQ(raw.cmd({"XLEN", core.key("stream", other)}).as_int(), 1);
  // The PUB/SUB messages, in order, each framed with its offset.
  for (int off = 1; off <= 9; ++off) {
    redis::reply m = listener.next();
    ASSERT_EQ(m.elements.size(), 3u);
    EXPECT_TRUE(m.elements[2].str.starts_with("__p1:" + std::to_string(off) + ":epoch1__"))
        << m.elements[2].str;
  }

  // A failing XADD inside a run: the meta's top is set back below the stream's last id
  // (9), so offsets 8 and 9 are refused; 10 and 11 are stored.
  ASSERT_EQ(raw.cmd({"HSET", meta, "s", "7"}).as_int(), 0);
  for (int i = 0; i < 4; ++i)
    batch.add(stream_keys(core, ch), stream_argv(make_pub("c" + std::to_string(i)), "4", pubsub));
  batch.take(keys, argv);
  r = call(keys, argv);
  ASSERT_EQ(r.elements.size(), 4u);
  EXPECT_EQ(r.elements[0].type, redis::reply::kind::error);
  EXPECT_EQ(r.elements[1].type, redis::reply::kind::error);
  EXPECT_EQ(r.elements[2].elements[0].as_int(), 10);
  EXPECT_EQ(r.elements[3].elements[0].as_int(), 11);
  entries = raw.cmd({"XRANGE", stream, "-", "+"});
  ASSERT_EQ(entries.elements.size(), 4u);
  EXPECT_EQ(entries.elements[0].elements[0].str, "8-0");
  EXPECT_EQ(entries.elements[3].elements[0].str, "11-0");
  for (int off = 10; off <= 11; ++off) {
    redis::reply m = listener.next();
    ASSERT_EQ(m.elements.size(), 3u);
    EXPECT_TRUE(m.elements[2].str.starts_with("__p1:" + std::to_string(off) + ":"))
        << m.elements[2].str;
  }
}

// The batch script runs each publication under pcall: one that fails (its channel's meta
// key holds a string, so HGET answers WRONGTYPE) gets its own error and the others of the
// same call are stored.
TEST(redis_engine, one_failing_publication_of_a_batch_fails_alone) {
  auto e = make_engine(single_cfg());
  ASSERT_NE(e, nullptr);
  raw_client raw(port_of(single_address()));
  ASSERT_TRUE(raw.ok());
  auto* rb = dynamic_cast<redis::redis_broker*>(e->broker.get());
  ASSERT_NE(rb, nullptr);
  redis::engine_core& core = rb->core();
  const auto good = unique_channel("good"), bad = unique_channel("bad");
  ASSERT_EQ(raw.cmd({"SET", core.key("stream.meta", bad), "not a hash"}).text(), "OK");

  // Directly: one call with good, bad, good (three runs of one publication each).
  redis::stream_batch batch;
  for (const auto& ch : {good, bad, good})
    batch.add(stream_keys(core, ch), stream_argv(make_pub("direct"), "10", ""));
  std::vector<std::string> keys, argv;
  batch.take(keys, argv);
  EXPECT_EQ(argv[0], "3");
  std::promise<redis::reply> p;
  core.shard_of(good).exec_script(redis::add_history_stream_batch_script(), keys, argv,
                                  [&p](redis::reply&& r) { p.set_value(std::move(r)); });
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  redis::reply r = f.get();
  ASSERT_EQ(r.type, redis::reply::kind::array) << r.str;
  ASSERT_EQ(r.elements.size(), 3u);
  EXPECT_EQ(r.elements[0].type, redis::reply::kind::array);
  EXPECT_EQ(r.elements[0].elements[0].as_int(), 1);
  EXPECT_EQ(r.elements[1].type, redis::reply::kind::error);
  EXPECT_NE(r.elements[1].str.find("WRONGTYPE"), std::string::npos) << r.elements[1].str;
  EXPECT_EQ(r.elements[2].type, redis::reply::kind::array);
  EXPECT_EQ(r.elements[2].elements[0].as_int(), 2);

  // Through the broker: publications to both channels made together; the good ones are
  // acknowledged and stored, the bad ones fail.
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  std::vector<bool> ok(20, false);
  for (int i = 0; i < 20; ++i) {
    e->broker->publish(i % 2 ? bad : good, make_pub("x"), with_history(100),
                       [&, i](result<publish_outcome> res) {
                         std::lock_guard lock(mu);
                         ok[i] = res.ok();
                         ++answered;
                         cv.notify_all();
                       });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return answered == 20; }));
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ok[i], i % 2 == 0) << "publication " << i;
  history_query q;
  q.limit = -1;
  auto page = history(*e->broker, good, q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->publications.size(), 12u);  // 2 from the direct call, 10 from the broker
}

// A thread running an io_context, standing for one of the server's requests threads.
struct requests_thread {
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  std::thread::id id() const { return thread.get_id(); }
  void stop() {
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }
  ~requests_thread() { stop(); }
};

// Publishes made on requests threads go on that thread's own connection: the answers come
// on the thread that published (no hop through the engine's I/O thread), each thread's
// publications to one channel keep their order, all of them are stored once with the
// offset acknowledged, and a publish from any other thread still goes through the engine.
TEST(redis_engine, publishes_from_requests_threads_use_their_own_connection_in_order) {
  auto e = make_engine(single_cfg());
  ASSERT_NE(e, nullptr);
  auto* rb = dynamic_cast<redis::redis_broker*>(e->broker.get());
  ASSERT_NE(rb, nullptr);
  constexpr int threads = 2, per_thread = 100;
  std::vector<std::unique_ptr<requests_thread>> rt;
  for (int t = 0; t < threads; ++t) rt.push_back(std::make_unique<requests_thread>());
  rb->use_local_threads({&rt[0]->io, &rt[1]->io});
  const auto ch = unique_channel("local");
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0, failed = 0, elsewhere = 0;
  std::vector<std::vector<uint64_t>> offsets(threads, std::vector<uint64_t>(per_thread, 0));
  for (int t = 0; t < threads; ++t) {
    boost::asio::post(rt[t]->io, [&, t] {
      for (int i = 0; i < per_thread; ++i) {
        e->broker->publish(ch, make_pub(std::to_string(t) + ":" + std::to_string(i)),
                           with_history(1000), [&, t, i](result<publish_outcome> r) {
                             const bool here = std::this_thread::get_id() == rt[t]->id();
                             std::lock_guard lock(mu);
                             if (r)
                               offsets[t][i] = r->position.offset;
                             else
                               ++failed;
                             if (!here) ++elsewhere;
                             ++answered;
                             cv.notify_all();
                           });
      }
    });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return answered == threads * per_thread; }))
        << answered << " answered";
  }
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(elsewhere, 0) << "answers must come on the requests thread that published";
  for (int t = 0; t < threads; ++t)
    for (int i = 1; i < per_thread; ++i)
      EXPECT_GT(offsets[t][i], offsets[t][i - 1]) << "thread " << t << " publication " << i;
  // A publish from a thread that is no requests thread.
  auto other = publish(*e->broker, ch, make_pub("other"), with_history(1000));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->position.offset, static_cast<uint64_t>(threads * per_thread + 1));
  history_query q;
  q.limit = -1;
  auto page = history(*e->broker, ch, q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->publications.size(), static_cast<size_t>(threads * per_thread + 1));
  for (size_t k = 0; k + 1 < page->publications.size(); ++k) {
    const auto& p = page->publications[k];
    EXPECT_EQ(p.offset, k + 1);
    const int t = std::stoi(p.data.substr(0, p.data.find(':')));
    const int i = std::stoi(p.data.substr(p.data.find(':') + 1));
    EXPECT_EQ(offsets[t][i], p.offset) << p.data;
  }
  // Stopping the broker lets go of the requests threads' connections while they run.
  e->broker->stop();
  for (auto& r : rt) r->stop();
}

// Redis goes away while a requests thread publishes on its own connection: the publishes
// then fail with an error (on that thread), and once Redis is back they succeed again on it.
TEST(redis_engine, a_requests_thread_connection_fails_its_publishes_in_an_outage_and_recovers) {
  server srv;
  ASSERT_TRUE(srv.start());
  config::redis_config cfg;
  cfg.address_ = {srv.address()};
  cfg.connect_timeout_ = 300ms;
  cfg.io_timeout_ = 1s;
  auto e = make_engine(cfg);
  ASSERT_NE(e, nullptr);
  auto* rb = dynamic_cast<redis::redis_broker*>(e->broker.get());
  ASSERT_NE(rb, nullptr);
  requests_thread rt;
  rb->use_local_threads({&rt.io});
  const auto ch = unique_channel("local_outage");
  std::atomic<bool> run{true};
  std::atomic<int> ok_count{0}, failed_count{0}, elsewhere{0}, ok_after{0};
  std::atomic<bool> restarted{false};
  // One publish at a time, the next one issued from the previous one's answer, 5 ms apart.
  std::function<void()> next;
  boost::asio::steady_timer pause(rt.io);
  next = [&] {
    if (!run.load()) return;
    e->broker->publish(ch, make_pub("x"), with_history(), [&](result<publish_outcome> r) {
      if (std::this_thread::get_id() != rt.id()) ++elsewhere;
      if (r) {
        ++ok_count;
        if (restarted.load()) ++ok_after;
      } else {
        EXPECT_EQ(r.error(), errors::internal);
        ++failed_count;
      }
      pause.expires_after(5ms);
      pause.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) next();
      });
    });
  };
  boost::asio::post(rt.io, next);
  ASSERT_TRUE(eventually([&] { return ok_count.load() > 5; }, 5s)) << "no publish went through";
  srv.stop(SIGTERM);
  EXPECT_TRUE(eventually([&] { return failed_count.load() > 0; }, 5s))
      << "publishes kept succeeding";
  ASSERT_TRUE(srv.start(srv.port()));
  restarted = true;
  EXPECT_TRUE(eventually([&] { return ok_after.load() > 5; }, 10s))
      << "no publish after the restart";
  run = false;
  e->broker->stop();
  rt.stop();
  EXPECT_EQ(elsewhere.load(), 0);
}

}  // namespace
}  // namespace gyre
