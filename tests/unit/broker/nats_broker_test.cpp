// The NATS broker against a real nats-server on 127.0.0.1: the shared engine suite
// (history tests skipped by the suite), then what only a network broker shows: two
// instances on one server, ordering under concurrent publishers, join/leave, wildcards,
// raw mode both ways, the wire format seen by a plain NATS client, channel validation,
// bounded queueing, stop() and the factory's errors.
#include "broker/nats/nats_broker.hpp"

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/broker_suite.hpp"
#include "broker/nats/nats_factory.hpp"
#include "broker/nats/nats_link.hpp"
#include "broker/nats_test_env.hpp"
#include "core/random.hpp"
#include "protocol/client.pb.h"

namespace gyre {
namespace {

using broker_test::await_result;
using broker_test::engine_suite_params;
using broker_test::recording_handler;
using test::eventually;
using test::shared_nats_config;

constexpr auto timeout = std::chrono::milliseconds(5000);

std::unique_ptr<nats_broker> make_broker(const config::nats_broker_config& cfg,
                                         const nats_engine_options& eo = {}) {
  std::string err;
  auto b = make_nats_broker(cfg, err, eo);
  EXPECT_NE(b, nullptr) << err;
  return b;
}

engine_suite_params nats_params() {
  engine_suite_params p;
  p.name = "nats";
  p.make_broker = [](clock&) -> std::unique_ptr<broker> {
    if (test::shared_nats() == nullptr) {
      [] { GTEST_SKIP() << test::nats_missing_message; }();  // GTEST_SKIP returns void
      return nullptr;
    }
    return make_broker(shared_nats_config());
  };
  p.time = broker_test::suite_time::none;  // no TTLs without history
  p.idempotency = false;
  p.timeout = timeout;
  return p;
}

GYRE_INSTANTIATE_ENGINE_SUITE(nats, nats_params());

std::string unique_channel(std::string_view name) {
  return "t_" + random_epoch() + "_" + std::string(name);
}

status subscribe(broker& b, const std::string& ch) {
  return await_result<ok_t>([&](status_callback cb) { b.subscribe(ch, std::move(cb)); }, timeout);
}

result<publish_outcome> publish(broker& b, const std::string& ch, std::string data,
                                publish_options opts = {}) {
  publication pub;
  pub.data = std::move(data);
  return await_result<publish_outcome>(
      [&](callback<publish_outcome> cb) { b.publish(ch, std::move(pub), opts, std::move(cb)); },
      timeout);
}

// A started broker with its recording handler.
struct node {
  explicit node(const config::nats_broker_config& cfg, const nats_engine_options& eo = {})
      : b(make_broker(cfg, eo)) {
    if (b) b->start(h);
  }
  ~node() {
    if (b) b->stop();
  }
  recording_handler h;
  std::unique_ptr<nats_broker> b;
};

// A plain cnats client, standing for another NATS user (or a Centrifugo node).
class raw_client {
 public:
  explicit raw_client(const std::string& url) {
    EXPECT_EQ(natsConnection_ConnectTo(&nc_, url.c_str()), NATS_OK);
  }
  ~raw_client() {
    for (auto* s : subs_) natsSubscription_Destroy(s);
    natsConnection_Destroy(nc_);
  }
  void publish(const std::string& subject, const std::string& data) {
    ASSERT_EQ(
        natsConnection_Publish(nc_, subject.c_str(), data.data(), static_cast<int>(data.size())),
        NATS_OK);
    ASSERT_EQ(natsConnection_FlushTimeout(nc_, 2000), NATS_OK);
  }
  void subscribe(const std::string& subject) {
    natsSubscription* s = nullptr;
    ASSERT_EQ(natsConnection_Subscribe(&s, nc_, subject.c_str(), &raw_client::on_msg, this),
              NATS_OK);
    subs_.push_back(s);
    ASSERT_EQ(natsConnection_FlushTimeout(nc_, 2000), NATS_OK);
  }
  std::vector<std::pair<std::string, std::string>> received() {
    std::lock_guard lock(mu_);
    return got_;
  }
  bool wait(size_t n) {
    return eventually([&] {
      std::lock_guard lock(mu_);
      return got_.size() >= n;
    });
  }

 private:
  static void on_msg(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
    auto* self = static_cast<raw_client*>(closure);
    {
      std::lock_guard lock(self->mu_);
      self->got_.emplace_back(
          natsMsg_GetSubject(m),
          std::string(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m))));
    }
    natsMsg_Destroy(m);
  }
  natsConnection* nc_ = nullptr;
  std::vector<natsSubscription*> subs_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> got_;
};

class nats_broker_test : public ::testing::Test {
 protected:
  void SetUp() override { GYRE_REQUIRE_NATS(); }
};

// ---------------------------------------------------------------------------------------
// Two nodes on one server

TEST_F(nats_broker_test, two_instances_see_each_others_publications) {
  node a(shared_nats_config());
  node b(shared_nats_config());
  const auto ch = unique_channel("cross");
  ASSERT_TRUE(subscribe(*a.b, ch).ok());
  ASSERT_TRUE(subscribe(*b.b, ch).ok());

  publication pub;
  pub.data = std::string("\x00\x01{\"k\":1}\xff", 10);
  pub.info = client_info{"u1", "c1", R"({"name":"x"})", R"({"ch":1})"};
  pub.tags = {{"b", "2"}, {"a", "1"}};
  pub.time = 1'700'000'000'123;
  publish_options opts;
  opts.use_delta = true;
  opts.history_size = 10;  // ignored: no history
  opts.history_ttl_seconds = 60;
  auto r = await_result<publish_outcome>(
      [&](callback<publish_outcome> cb) { a.b->publish(ch, pub, opts, std::move(cb)); }, timeout);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->position, stream_position{}) << "no history: empty position";
  EXPECT_FALSE(r->suppressed);

  ASSERT_TRUE(b.h.wait_publications(ch, 1, timeout));
  ASSERT_TRUE(a.h.wait_publications(ch, 1, timeout));
  for (auto* n : {&a, &b}) {
    const auto got = n->h.publications(ch);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]->channel, ch);
    EXPECT_EQ(got[0]->specific_channel, "");
    EXPECT_EQ(got[0]->pub.data, pub.data);
    EXPECT_EQ(got[0]->pub.info, pub.info);
    EXPECT_EQ(got[0]->pub.tags, (tags_map{{"a", "1"}, {"b", "2"}})) << "sorted by key";
    EXPECT_EQ(got[0]->pub.time, pub.time);
    EXPECT_EQ(got[0]->pub.offset, 0u);
    EXPECT_TRUE(got[0]->use_delta);
    EXPECT_FALSE(got[0]->pub.delta) << "the wire flag becomes use_delta";
    EXPECT_EQ(got[0]->prev_data, nullptr);
  }

  ASSERT_TRUE(publish(*b.b, ch, "from b").ok());
  ASSERT_TRUE(a.h.wait_publications(ch, 2, timeout));
  EXPECT_EQ(a.h.publications(ch)[1]->pub.data, "from b");
}

TEST_F(nats_broker_test, concurrent_publishers_keep_their_order_on_every_node) {
  node a(shared_nats_config());
  node b(shared_nats_config());
  const auto ch = unique_channel("order");
  ASSERT_TRUE(subscribe(*a.b, ch).ok());
  ASSERT_TRUE(subscribe(*b.b, ch).ok());

  constexpr int threads = 4;
  constexpr int per_thread = 500;
  std::atomic<int> failures{0};
  std::atomic<int> completed{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        publication pub;
        pub.data = std::to_string(t) + ":" + std::to_string(i);
        // Pipelined: no wait between publishes of one thread.
        a.b->publish(ch, std::move(pub), publish_options{}, [&](result<publish_outcome> r) {
          if (!r.ok()) ++failures;
          ++completed;
        });
      }
    });
  }
  for (auto& w : workers) w.join();
  ASSERT_TRUE(eventually([&] { return completed.load() == threads * per_thread; }));
  EXPECT_EQ(failures.load(), 0);
  for (auto* n : {&a, &b}) {
    ASSERT_TRUE(n->h.wait_publications(ch, threads * per_thread, timeout));
    const auto got = n->h.publications(ch);
    ASSERT_EQ(got.size(), static_cast<size_t>(threads * per_thread));
    std::vector<int> next(threads, 0);
    for (const auto& p : got) {
      const auto& d = p->pub.data;
      const int t = std::stoi(d.substr(0, d.find(':')));
      const int i = std::stoi(d.substr(d.find(':') + 1));
      ASSERT_EQ(i, next[t]++) << "thread " << t << " out of order";
    }
  }
}

TEST_F(nats_broker_test, join_and_leave_cross_nodes) {
  node a(shared_nats_config());
  node b(shared_nats_config());
  const auto ch = unique_channel("presence");
  ASSERT_TRUE(subscribe(*b.b, ch).ok());
  const client_info alice{"alice", "c-1", R"({"a":1})", ""};
  ASSERT_TRUE(
      await_result<ok_t>([&](status_callback cb) { a.b->publish_join(ch, alice, cb); }, timeout)
          .ok());
  ASSERT_TRUE(
      await_result<ok_t>([&](status_callback cb) { a.b->publish_leave(ch, alice, cb); }, timeout)
          .ok());
  ASSERT_TRUE(b.h.wait_joins(1, timeout));
  ASSERT_TRUE(b.h.wait_leaves(1, timeout));
  EXPECT_EQ(b.h.joins()[0].channel, ch);
  EXPECT_EQ(b.h.joins()[0].info, alice);
  EXPECT_EQ(b.h.leaves()[0].info, alice);
  EXPECT_TRUE(a.h.joins().empty()) << "a is not subscribed";
}

TEST_F(nats_broker_test, unsubscribe_stops_delivery) {
  node a(shared_nats_config());
  node b(shared_nats_config());
  const auto ch = unique_channel("unsub");
  const auto barrier = unique_channel("barrier");
  ASSERT_TRUE(subscribe(*b.b, ch).ok());
  ASSERT_TRUE(subscribe(*b.b, barrier).ok());
  ASSERT_TRUE(publish(*a.b, ch, "1").ok());
  ASSERT_TRUE(b.h.wait_publications(ch, 1, timeout));
  b.b->unsubscribe(ch);
  // unsubscribe is queued before this subscribe: once it is confirmed, the UNSUB is too.
  ASSERT_TRUE(subscribe(*b.b, unique_channel("sync")).ok());
  ASSERT_TRUE(publish(*a.b, ch, "2").ok());
  ASSERT_TRUE(publish(*a.b, barrier, "after").ok());
  // One publisher connection to one subscriber connection keeps order across subjects.
  ASSERT_TRUE(b.h.wait_publications(barrier, 1, timeout));
  EXPECT_EQ(b.h.publications(ch).size(), 1u);
  EXPECT_EQ(b.b->snapshot().subscriptions, 2u);
}

TEST_F(nats_broker_test, history_is_not_available) {
  node a(shared_nats_config());
  EXPECT_FALSE(a.b->supports_history());
  auto h = await_result<history_page>(
      [&](callback<history_page> cb) { a.b->history("ch", history_query{}, std::move(cb)); },
      timeout);
  EXPECT_EQ(h.error(), errors::not_available);
  auto r = await_result<ok_t>([&](status_callback cb) { a.b->remove_history("ch", cb); }, timeout);
  EXPECT_EQ(r.error(), errors::not_available);
}

// ---------------------------------------------------------------------------------------
// Wildcards

TEST_F(nats_broker_test, wildcard_channels_need_allow_wildcards) {
  node a(shared_nats_config());
  EXPECT_EQ(subscribe(*a.b, "news.*").error(), errors::bad_request);
  EXPECT_EQ(subscribe(*a.b, "news.>").error(), errors::bad_request);
  EXPECT_EQ(publish(*a.b, "news.*", "x").error(), errors::bad_request);
}

TEST_F(nats_broker_test, wildcard_subscription_delivers_concrete_channels) {
  auto cfg = shared_nats_config();
  cfg.allow_wildcards_ = true;
  node a(cfg);
  node b(cfg);
  const auto root = unique_channel("news");
  const auto star = root + ".*";
  const auto tail = root + ".>";
  const auto sport = root + ".sport";
  ASSERT_TRUE(subscribe(*a.b, star).ok());
  ASSERT_TRUE(subscribe(*a.b, tail).ok());
  ASSERT_TRUE(subscribe(*a.b, sport).ok());

  ASSERT_TRUE(publish(*b.b, sport, "s").ok());
  ASSERT_TRUE(publish(*b.b, root + ".eu.fr", "deep").ok());
  EXPECT_EQ(publish(*b.b, star, "x").error(), errors::bad_request) << "never publish to a pattern";
  EXPECT_EQ(publish(*b.b, root + ".a>b", "x").error(), errors::bad_request);

  ASSERT_TRUE(a.h.wait_publications(sport, 1, timeout));
  ASSERT_TRUE(a.h.wait_publications(star, 1, timeout));
  ASSERT_TRUE(a.h.wait_publications(tail, 2, timeout));
  const auto s = a.h.publications(sport);
  EXPECT_EQ(s[0]->specific_channel, "") << "a concrete subscription needs no specific channel";
  const auto st = a.h.publications(star);
  ASSERT_EQ(st.size(), 1u) << "'*' matches one token only";
  EXPECT_EQ(st[0]->specific_channel, sport);
  EXPECT_EQ(st[0]->pub.data, "s");
  const auto tl = a.h.publications(tail);
  ASSERT_EQ(tl.size(), 2u);
  EXPECT_EQ(tl[0]->specific_channel, sport);
  EXPECT_EQ(tl[1]->specific_channel, root + ".eu.fr");

  // Joins through a wildcard subscription are dropped; the concrete one delivers them.
  ASSERT_TRUE(await_result<ok_t>(
                  [&](status_callback cb) {
                    b.b->publish_join(sport, {"u", "c"}, cb);
                  },
                  timeout)
                  .ok());
  ASSERT_TRUE(a.h.wait_joins(1, timeout));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(a.h.joins().size(), 1u);
  EXPECT_EQ(a.h.joins()[0].channel, sport);
}

TEST_F(nats_broker_test, publish_completes_after_every_matching_local_subscription) {
  auto cfg = shared_nats_config();
  cfg.allow_wildcards_ = true;
  node a(cfg);
  const auto root = unique_channel("local");
  ASSERT_TRUE(subscribe(*a.b, root + ".*").ok());
  ASSERT_TRUE(subscribe(*a.b, root + ".x").ok());
  for (int i = 0; i < 20; ++i) {
    std::atomic<size_t> seen{0};
    auto r = await_result<publish_outcome>(
        [&](callback<publish_outcome> cb) {
          publication pub;
          pub.data = std::to_string(i);
          a.b->publish(root + ".x", std::move(pub), publish_options{},
                       [&, cb = std::move(cb)](result<publish_outcome> res) {
                         seen = a.h.publications().size();
                         cb(std::move(res));
                       });
        },
        timeout);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(seen.load(), static_cast<size_t>(2 * (i + 1))) << "both subscriptions handled it";
  }
}

// ---------------------------------------------------------------------------------------
// Raw mode

TEST_F(nats_broker_test, raw_mode_both_directions) {
  auto cfg = shared_nats_config();
  cfg.raw_mode_.enabled_ = true;
  cfg.raw_mode_.prefix_ = "raw_" + random_epoch() + ".";
  cfg.raw_mode_.channel_replacements_ = {{":", "."}};
  node a(cfg);
  EXPECT_EQ(a.b->subject_for("chat:room"), cfg.raw_mode_.prefix_ + "chat.room");
  raw_client other(test::shared_nats()->url());

  // Another NATS user publishes raw bytes → delivered as the publication's data.
  ASSERT_TRUE(subscribe(*a.b, "chat:room").ok());
  const std::string bytes("\x01\x02 not a protobuf \xff", 19);
  other.publish(cfg.raw_mode_.prefix_ + "chat.room", bytes);
  ASSERT_TRUE(a.h.wait_publications("chat:room", 1, timeout));
  const auto got = a.h.publications("chat:room");
  EXPECT_EQ(got[0]->channel, "chat:room") << "the original channel";
  EXPECT_EQ(got[0]->pub.data, bytes);
  EXPECT_FALSE(got[0]->pub.info.has_value());

  // The broker publishes → the subject carries exactly the data bytes.
  other.subscribe(cfg.raw_mode_.prefix_ + "chat.out");
  publication pub;
  pub.data = R"({"hello":"world"})";
  pub.info = client_info{"u", "c", "", ""};
  pub.tags = {{"t", "1"}};
  ASSERT_TRUE(await_result<publish_outcome>(
                  [&](callback<publish_outcome> cb) {
                    a.b->publish("chat:out", pub, publish_options{}, std::move(cb));
                  },
                  timeout)
                  .ok());
  ASSERT_TRUE(other.wait(1));
  EXPECT_EQ(other.received()[0].first, cfg.raw_mode_.prefix_ + "chat.out");
  EXPECT_EQ(other.received()[0].second, pub.data);

  // No joins or leaves on raw subjects.
  ASSERT_TRUE(await_result<ok_t>([&](status_callback cb) { a.b->publish_join("chat:out", {}, cb); },
                                 timeout)
                  .ok());
  ASSERT_TRUE(publish(*a.b, "chat:out", "second").ok());
  ASSERT_TRUE(other.wait(2));
  EXPECT_EQ(other.received().size(), 2u);
  EXPECT_EQ(other.received()[1].second, "second");
}

TEST_F(nats_broker_test, raw_mode_wildcard_gets_the_subject_channel) {
  auto cfg = shared_nats_config();
  cfg.raw_mode_.enabled_ = true;
  cfg.raw_mode_.prefix_ = "rawwc_" + random_epoch() + ".";
  cfg.allow_wildcards_ = true;
  node a(cfg);
  raw_client other(test::shared_nats()->url());
  ASSERT_TRUE(subscribe(*a.b, "sensors.>").ok());
  other.publish(cfg.raw_mode_.prefix_ + "sensors.t1.temp", "21.5");
  ASSERT_TRUE(a.h.wait_publications("sensors.>", 1, timeout));
  const auto got = a.h.publications("sensors.>");
  EXPECT_EQ(got[0]->specific_channel, "sensors.t1.temp");
  EXPECT_EQ(got[0]->pub.data, "21.5");
}

// ---------------------------------------------------------------------------------------
// Wire format: what a Centrifugo node publishes and reads

TEST_F(nats_broker_test, wire_format_is_centrifugos_push) {
  const auto cfg = shared_nats_config();
  node a(cfg);
  raw_client centrifugo(test::shared_nats()->url());
  const auto ch = unique_channel("wire");
  const auto subject = cfg.prefix_ + ".client." + ch;
  EXPECT_EQ(a.b->subject_for(ch), subject);
  centrifugo.subscribe(subject);

  publication pub;
  pub.data = R"({"x":1})";
  pub.info = client_info{"u", "c", "", R"({"i":2})"};
  pub.tags = {{"k", "v"}};
  pub.time = 42;
  publish_options o;
  o.use_delta = true;
  ASSERT_TRUE(
      await_result<publish_outcome>(
          [&](callback<publish_outcome> cb) { a.b->publish(ch, pub, o, std::move(cb)); }, timeout)
          .ok());
  ASSERT_TRUE(await_result<ok_t>([&](status_callback cb) { a.b->publish_leave(ch, *pub.info, cb); },
                                 timeout)
                  .ok());
  ASSERT_TRUE(centrifugo.wait(2));
  namespace pb = centrifugal::centrifuge::protocol;
  pb::Push push;
  ASSERT_TRUE(push.ParseFromString(centrifugo.received()[0].second));
  EXPECT_EQ(push.channel(), ch);
  ASSERT_TRUE(push.has_pub());
  EXPECT_EQ(push.pub().data(), pub.data);
  EXPECT_EQ(push.pub().info().user(), "u");
  EXPECT_EQ(push.pub().info().client(), "c");
  EXPECT_EQ(push.pub().info().chan_info(), R"({"i":2})");
  EXPECT_EQ(push.pub().tags().at("k"), "v");
  EXPECT_TRUE(push.pub().delta()) << "use_delta travels in pub.delta";
  EXPECT_EQ(push.pub().time(), 42);
  EXPECT_EQ(push.pub().offset(), 0u);
  pb::Push leave;
  ASSERT_TRUE(leave.ParseFromString(centrifugo.received()[1].second));
  EXPECT_TRUE(leave.has_leave());
  EXPECT_EQ(leave.leave().info().user(), "u");

  // A Centrifugo node's publication (with the stream-position variant) reaches us.
  ASSERT_TRUE(subscribe(*a.b, ch).ok());
  pb::Push in;
  in.set_channel(ch);
  in.mutable_pub()->set_data("from centrifugo");
  in.mutable_pub()->set_offset(7);
  (*in.mutable_pub()->mutable_tags())["__centrifugo_epoch"] = "abcd";
  (*in.mutable_pub()->mutable_tags())["z"] = "1";
  centrifugo.publish(subject, in.SerializeAsString());
  ASSERT_TRUE(a.h.wait_publications(ch, 1, timeout));
  const auto got = a.h.publications(ch);
  EXPECT_EQ(got[0]->pub.data, "from centrifugo");
  EXPECT_EQ(got[0]->pub.offset, 7u);
  EXPECT_EQ(got[0]->epoch, "abcd");
  EXPECT_EQ(got[0]->pub.tags, (tags_map{{"z", "1"}}));

  // Garbage is counted and dropped, delivery goes on.
  centrifugo.publish(subject, "\xff\xff\xff not protobuf");
  centrifugo.publish(subject, in.SerializeAsString());
  ASSERT_TRUE(a.h.wait_publications(ch, 2, timeout));
  EXPECT_EQ(a.b->snapshot().undecodable, 1u);
}

// ---------------------------------------------------------------------------------------
// Input validation, bounds, lifecycle

TEST_F(nats_broker_test, channels_that_cannot_be_subjects_are_bad_requests) {
  node a(shared_nats_config());
  for (const std::string ch : {"", "a b", "tab\there", "a..b", ".lead", "trail.", "nl\n"}) {
    EXPECT_EQ(subscribe(*a.b, ch).error(), errors::bad_request) << "[" << ch << "]";
    EXPECT_EQ(publish(*a.b, ch, "x").error(), errors::bad_request) << "[" << ch << "]";
  }
  EXPECT_TRUE(subscribe(*a.b, "chat:room#42,user$1").ok()) << "Centrifugo-style names are fine";
}

TEST_F(nats_broker_test, full_queue_fails_fast_and_every_callback_runs) {
  nats_engine_options eo;
  eo.max_queued_ops = 8;
  node a(shared_nats_config(), eo);
  constexpr int n = 2000;
  std::atomic<int> ok{0};
  std::atomic<int> rejected{0};
  std::atomic<int> other{0};
  for (int i = 0; i < n; ++i) {
    publication pub;
    pub.data = "x";
    a.b->publish("bounded", std::move(pub), publish_options{}, [&](result<publish_outcome> r) {
      if (r.ok()) {
        ++ok;
      } else if (r.error() == errors::too_many_requests) {
        ++rejected;
      } else {
        ++other;
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return ok + rejected + other == n; }));
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(rejected.load(), 0) << "a queue of 8 cannot take 2000 at once";
  EXPECT_EQ(other.load(), 0);
}

TEST_F(nats_broker_test, oversized_payload_is_a_bad_request) {
  node a(shared_nats_config());
  // nats-server's default max_payload is 1 MiB.
  EXPECT_EQ(publish(*a.b, "big", std::string(2 << 20, 'x')).error(), errors::bad_request);
  EXPECT_TRUE(publish(*a.b, "big", "small").ok());
}

TEST_F(nats_broker_test, stop_releases_every_subscription_and_fails_later_calls) {
  const auto before = nats_link::live_subscription_contexts();
  {
    node a(shared_nats_config());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(subscribe(*a.b, "ch" + std::to_string(i)).ok());
    for (int i = 0; i < 25; ++i) a.b->unsubscribe("ch" + std::to_string(i));
    EXPECT_TRUE(a.b->healthy());
    a.b->stop();
    EXPECT_FALSE(a.b->healthy());
    EXPECT_EQ(subscribe(*a.b, "late").error(), errors::internal);
    EXPECT_EQ(publish(*a.b, "late", "x").error(), errors::internal);
    a.b->stop();  // twice is fine
  }
  EXPECT_TRUE(eventually([&] { return nats_link::live_subscription_contexts() == before; }))
      << "cnats' completion callback released every subscription context";
}

TEST_F(nats_broker_test, stop_during_traffic_leaves_nothing_running) {
  node a(shared_nats_config());
  node b(shared_nats_config());
  const auto ch = unique_channel("busy");
  ASSERT_TRUE(subscribe(*a.b, ch).ok());
  ASSERT_TRUE(subscribe(*b.b, ch).ok());
  std::atomic<bool> run{true};
  std::thread pub([&] {
    for (int i = 0; run && i < 100'000; ++i) {
      publication p;
      p.data = std::to_string(i);
      b.b->publish(ch, std::move(p), publish_options{}, nullptr);
      if (i % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  ASSERT_TRUE(a.h.wait_publications(ch, 100, timeout));
  a.b->stop();
  const size_t seen = a.h.publications(ch).size();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(a.h.publications(ch).size(), seen) << "no delivery after stop()";
  run = false;
  pub.join();
}

TEST_F(nats_broker_test, messages_before_start_are_dropped) {
  auto b = make_broker(shared_nats_config());
  ASSERT_TRUE(subscribe(*b, "early").ok());
  ASSERT_TRUE(publish(*b, "early", "x").ok()) << "completes although nothing is handled";
  recording_handler h;
  b->start(h);
  ASSERT_TRUE(publish(*b, "early", "y").ok());
  ASSERT_TRUE(h.wait_publications("early", 1, timeout));
  EXPECT_EQ(h.publications("early")[0]->pub.data, "y");
  b->stop();
}

// ---------------------------------------------------------------------------------------
// Factory

TEST_F(nats_broker_test, factory_errors_name_the_key) {
  std::string err;
  auto cfg = shared_nats_config();
  cfg.url_ = "nats://127.0.0.1:" + std::to_string(test::free_loopback_port());
  cfg.dial_timeout_ = std::chrono::milliseconds(300);
  EXPECT_EQ(make_nats_broker(cfg, err), nullptr);
  EXPECT_NE(err.find("broker.nats.url"), std::string::npos) << err;
  EXPECT_NE(err.find(cfg.url_), std::string::npos) << err;

  cfg = shared_nats_config();
  cfg.prefix_ = "";
  EXPECT_EQ(make_nats_broker(cfg, err), nullptr);
  EXPECT_NE(err.find("broker.nats.prefix"), std::string::npos) << err;
  cfg.prefix_ = "bad prefix";
  EXPECT_EQ(make_nats_control_bus(cfg, err), nullptr);
  EXPECT_NE(err.find("broker.nats.prefix"), std::string::npos) << err;

  cfg = shared_nats_config();
  cfg.write_timeout_ = config::duration::zero();
  EXPECT_EQ(make_nats_broker(cfg, err), nullptr);
  EXPECT_NE(err.find("broker.nats.write_timeout"), std::string::npos) << err;

  cfg = shared_nats_config();
  cfg.tls_.enabled_ = true;
  cfg.tls_.cert_pem_ = "/nonexistent/cert.pem";
  cfg.tls_.key_pem_ = "/nonexistent/key.pem";
  EXPECT_EQ(make_nats_broker(cfg, err), nullptr);
  EXPECT_NE(err.find("broker.nats.tls.cert_pem"), std::string::npos) << err;

  cfg = shared_nats_config();
  cfg.tls_.enabled_ = true;  // the test server speaks no TLS
  cfg.dial_timeout_ = std::chrono::milliseconds(500);
  EXPECT_EQ(make_nats_broker(cfg, err), nullptr);
  EXPECT_NE(err.find("broker.nats.url"), std::string::npos) << err;
}

TEST_F(nats_broker_test, limitations_text_lists_what_is_missing) {
  auto cfg = shared_nats_config();
  cfg.raw_mode_.enabled_ = true;
  const auto text = nats_broker_limitations(cfg);
  for (const char* word : {"history", "recovery", "positioning", "idempotent", "version",
                           "Presence", "Raw mode", "108"}) {
    EXPECT_NE(text.find(word), std::string::npos) << word << " in: " << text;
  }
}

}  // namespace
}  // namespace gyre
