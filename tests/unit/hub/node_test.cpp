// Node, shards and clients together: fan-out, positioning, slow clients, API actions and
// the control plane, driven by JSON command frames through fake transports.
#include "hub/node.hpp"

#include <gtest/gtest.h>

#include "hub/hub_fixture.hpp"

namespace gyre::testing {
namespace {

using fanout = hub_fixture;

TEST_F(fanout, one_encoding_is_shared_by_every_subscriber_on_every_loop) {
  std::vector<fake_transport*> subs;
  for (unsigned i = 0; i < 6; ++i) {
    fake_transport& t = connect(i % 2);
    t.send(R"({"subscribe":{"channel":"news"},"id":2})");
    ASSERT_TRUE(t.saw(R"("id":2,"subscribe":{)")) << t.all();
    subs.push_back(&t);
  }
  ASSERT_TRUE(publish("news", R"({"n":1})"));
  drain();
  const char* first = nullptr;
  for (auto* t : subs) {
    ASSERT_TRUE(t->saw(R"({"push":{"channel":"news","pub":{"data":{"n":1},"offset":1)"))
        << t->all();
    const char* mine = t->chunk_ptrs.back();
    if (!first) first = mine;
    EXPECT_EQ(mine, first) << "every subscriber must receive the same encoded bytes";
  }
}

TEST_F(fanout, publications_queued_in_one_pass_arrive_in_order) {
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"c","recoverable":true,"positioned":true},"id":2})");
  for (int i = 1; i <= 50; ++i) ASSERT_TRUE(publish("c", std::to_string(i)));
  drain();
  std::string all = t.all();
  size_t pos = 0;
  for (int i = 1; i <= 50; ++i) {
    size_t at = all.find("\"data\":" + std::to_string(i) + ",\"offset\":" + std::to_string(i), pos);
    ASSERT_NE(at, std::string::npos) << "offset " << i;
    pos = at;
  }
}

TEST_F(fanout, a_gap_in_offsets_unsubscribes_a_positioned_subscriber_with_2500) {
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"c","positioned":true},"id":2})");
  ASSERT_TRUE(t.saw(R"("positioned":true)")) << t.all();
  // Deliver offset 2 while the subscriber is at 0: offset 1 was lost.
  auto dp = std::make_shared<delivered_publication>();
  dp->channel = "c";
  dp->pub.offset = 2;
  dp->pub.data = "2";
  // Learn the epoch first so only the offset is wrong.
  ASSERT_TRUE(publish("other", "x"));
  history_query q;
  std::optional<result<history_page>> page;
  broker_->history("c", q, [&](result<history_page> r) { page = std::move(r); });
  dp->epoch = page->value().top.epoch;
  node_->on_publication(dp);
  drain();
  EXPECT_TRUE(t.saw(
      R"({"push":{"channel":"c","unsubscribe":{"code":2500,"reason":"insufficient state"}}})"))
      << t.all();
  EXPECT_FALSE(t.client().is_subscribed("c"));
}

// Forwards everything to the node except publications of one channel: the node's
// subscription to that channel "lost" them, as a Redis PUB/SUB connection down for a while.
class losing_handler final : public broker_event_handler {
 public:
  losing_handler(node& n, std::string lost) : node_(n), lost_(std::move(lost)) {}
  void on_publication(std::shared_ptr<const delivered_publication> p) override {
    if (p->channel != lost_) node_.on_publication(std::move(p));
  }
  void on_join(std::string_view ch, const client_info& i) override { node_.on_join(ch, i); }
  void on_leave(std::string_view ch, const client_info& i) override { node_.on_leave(ch, i); }

 private:
  node& node_;
  std::string lost_;
};

TEST_F(fanout,
       restored_broker_subscriptions_unsubscribe_exactly_the_subscribers_behind_the_stream_top) {
  config::config c = make_config();
  c.gyre_.position_check_batch_size_ = 1;  // one channel per read: the batches chain
  TearDown();
  start(c);
  // Positioned subscribers of "quiet" on both loops, of "idle" (nothing missed), and an
  // unpositioned subscriber of "quiet" (nothing to compare).
  std::vector<fake_transport*> quiet;
  for (unsigned i = 0; i < 2; ++i) {
    fake_transport& t = connect(i);
    t.send(R"({"subscribe":{"channel":"quiet","recoverable":true,"positioned":true},"id":2})");
    t.send(R"({"subscribe":{"channel":"idle","recoverable":true,"positioned":true},"id":3})");
    ASSERT_TRUE(t.saw(R"("id":3,"subscribe":{)")) << t.all();
    quiet.push_back(&t);
  }
  fake_transport& plain = connect(0);
  plain.send(R"({"subscribe":{"channel":"quiet"},"id":2})");
  ASSERT_TRUE(publish("quiet", "1"));
  ASSERT_TRUE(publish("idle", "1"));
  drain();

  losing_handler losing(*node_, "quiet");
  broker_->start(losing);
  ASSERT_TRUE(publish("quiet", "2"));  // never reaches the node
  broker_->start(*node_);
  drain();
  for (auto* t : quiet) EXPECT_FALSE(t->saw("unsubscribe")) << "nothing tells the node yet";

  node_->on_subscriptions_restored({"quiet", "idle", "unknown"});
  drain();
  for (auto* t : quiet) {
    EXPECT_TRUE(t->saw(
        R"({"push":{"channel":"quiet","unsubscribe":{"code":2500,"reason":"insufficient state"}}})"))
        << t->all();
    EXPECT_FALSE(t->client().is_subscribed("quiet"));
    EXPECT_TRUE(t->client().is_subscribed("idle")) << "the idle channel missed nothing";
    EXPECT_EQ(t->close_code, 0u);
  }
  EXPECT_TRUE(plain.client().is_subscribed("quiet"));
  EXPECT_FALSE(plain.saw("unsubscribe"));

  // A second restore finds everyone in place: nothing happens.
  const size_t before = quiet[0]->written.size();
  node_->on_subscriptions_restored({"idle"});
  drain();
  EXPECT_EQ(quiet[0]->written.size(), before);
}

TEST_F(fanout, a_client_that_does_not_keep_up_is_disconnected_as_slow) {
  config::config c = make_config();
  c.client_.queue_max_size_ = 4096;
  TearDown();
  start(c);
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"c"},"id":2})");
  t.stuck = true;  // the peer stops reading
  // Ten 1 KB publications reach the shard in one inbox pass: the queue limit is crossed,
  // and the flush that follows cannot empty it.
  std::string big(1000, 'x');
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(publish("c", "\"" + big + "\""));
  for (unsigned i = 0; i < shard_count_; ++i) node_->shard_at(i).drain_inbox();
  EXPECT_EQ(t.close_code, disconnects::slow.code);
}

TEST_F(fanout, a_burst_that_a_reading_client_drains_is_not_slowness) {
  config::config c = make_config();
  c.client_.queue_max_size_ = 4096;
  TearDown();
  start(c);
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"c"},"id":2})");
  std::string big(1000, 'x');
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(publish("c", "\"" + big + "\""));
  for (unsigned i = 0; i < shard_count_; ++i) node_->shard_at(i).drain_inbox();
  EXPECT_EQ(t.close_code, 0u);
  EXPECT_TRUE(t.client().connected());
}

TEST_F(fanout, api_disconnect_reaches_clients_on_every_shard_and_spares_the_whitelist) {
  fake_transport& a = connect(0, protocol::encoding::json, R"({"connect":{},"id":1})");
  fake_transport& b = connect(1, protocol::encoding::json, R"({"connect":{},"id":1})");
  connection_filter f;  // anonymous users
  f.whitelist.push_back(b.client().client_id());
  bool done = false;
  node_->disconnect(f, disconnects::force_no_reconnect, [&] { done = true; });
  drain();
  EXPECT_TRUE(done);
  EXPECT_EQ(a.close_code, 3503u);
  EXPECT_EQ(b.close_code, 0u);
}

// A loop may attach after work was posted to its shard (during start-up the first node
// heartbeat, or a survey from another node, can come first): that work is drained once the
// loop attaches, and later posts wake the loop once per batch as usual.
TEST_F(fanout, work_posted_before_the_loop_attaches_is_drained_once_it_does) {
  shard& s = node_->shard_at(0);
  int ran = 0;
  s.post_task([&](shard&) { ++ran; });
  int wakes = 0;
  s.set_waker([&] { ++wakes; });
  EXPECT_EQ(wakes, 1);
  s.drain_inbox();
  EXPECT_EQ(ran, 1);
  s.post_task([&](shard&) { ++ran; });
  s.post_task([&](shard&) { ++ran; });
  EXPECT_EQ(wakes, 2);
  s.drain_inbox();
  EXPECT_EQ(ran, 3);
}

// The interest filter: a publication (or join/leave) of a channel that no loop holds is
// dropped by the node before it is posted, so an API publish to such a channel wakes no
// loop; once a loop holds the channel its events are posted again, and after its last
// subscriber left they are dropped again.
TEST_F(fanout, events_of_a_channel_without_local_subscribers_are_not_posted_to_the_loops) {
  auto queued = [&] {
    size_t n = 0;
    for (unsigned i = 0; i < node_->shard_count(); ++i) n += node_->shard_at(i).inbox_events();
    return n;
  };
  ASSERT_TRUE(publish("nobody", "1"));
  node_->on_join("nobody", client_info{});
  EXPECT_EQ(queued(), 0u);
  EXPECT_FALSE(node_->may_have_local_subscribers("nobody"));

  fake_transport& t = connect(1);
  t.send(R"({"subscribe":{"channel":"nobody","recoverable":true,"positioned":true},"id":2})");
  ASSERT_TRUE(t.saw(R"("id":2,"subscribe":{)")) << t.all();
  EXPECT_TRUE(node_->may_have_local_subscribers("nobody"));
  ASSERT_TRUE(publish("nobody", "2"));
  EXPECT_EQ(queued(), node_->shard_count()) << "posted to every loop";
  drain();
  EXPECT_TRUE(t.saw(R"("data":2,"offset":2)")) << t.all();

  t.send(R"({"unsubscribe":{"channel":"nobody"},"id":3})");
  ASSERT_TRUE(t.saw(R"("id":3)")) << t.all();
  drain();
  EXPECT_FALSE(node_->may_have_local_subscribers("nobody"));
  ASSERT_TRUE(publish("nobody", "3"));
  EXPECT_EQ(queued(), 0u);
}

TEST_F(fanout, info_counts_clients_users_channels_and_subscriptions) {
  fake_transport& a = connect(0);
  a.send(R"({"subscribe":{"channel":"x"},"id":2})");
  fake_transport& b = connect(1);
  b.send(R"({"subscribe":{"channel":"x"},"id":2})");
  b.send(R"({"subscribe":{"channel":"y"},"id":3})");
  std::vector<node_info_entry> got;
  node_->info([&](std::vector<node_info_entry> n) { got = std::move(n); });
  drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].num_clients, 2u);
  EXPECT_EQ(got[0].num_channels, 2u);  // x counted once although it lives on two loops
  EXPECT_EQ(got[0].num_subs, 3u);
}

// Two nodes joined by an in-process bus: what the Redis or NATS bus does across machines.
class pair_bus final : public control_bus {
 public:
  void start(control_handler& h, std::string_view uid) override {
    nodes_.emplace_back(std::string(uid), &h);
  }
  void stop() override {}
  void broadcast(std::string_view payload) override {
    for (auto& [uid, h] : nodes_) h->on_control(payload);
  }
  void send_to(std::string_view to, std::string_view payload) override {
    for (auto& [uid, h] : nodes_)
      if (uid == to) h->on_control(payload);
  }

 private:
  std::vector<std::pair<std::string, control_handler*>> nodes_;
};

TEST(control_plane, two_nodes_see_each_other_and_share_api_actions) {
  manual_clock clk;
  metrics::registry reg;
  config::config c;
  c.client_.insecure_ = true;
  auto cfg = std::make_shared<const config::config>(c);
  memory_broker b1(clk), b2(clk);
  memory_presence p1, p2;
  node n1(cfg, b1, p1, clk, reg, 1), n2(cfg, b2, p2, clk, reg, 1);
  for (node* n : {&n1, &n2}) n->shard_at(0).set_loop_thread(std::this_thread::get_id());
  b1.start(n1);
  b2.start(n2);
  pair_bus bus;
  n1.start_control(bus);
  n2.start_control(bus);
  clk.advance_ms(3000);
  n1.tick_control();
  n2.tick_control();
  n1.shard_at(0).drain_inbox();  // each heartbeat leaves once its node's shards reported
  n2.shard_at(0).drain_inbox();

  fake_transport on_n2(n2.shard_at(0), protocol::encoding::json);
  on_n2.send(R"({"connect":{},"id":1})");
  on_n2.send(R"({"subscribe":{"channel":"remote"},"id":2})");

  std::vector<node_info_entry> nodes;
  n1.info([&](std::vector<node_info_entry> v) { nodes = std::move(v); });
  n1.shard_at(0).drain_inbox();
  ASSERT_EQ(nodes.size(), 2u);

  std::optional<result<std::map<std::string, uint32_t>>> channels;
  n1.channels([&](result<std::map<std::string, uint32_t>> r) { channels = std::move(r); });
  for (int i = 0; i < 3; ++i) {
    n1.shard_at(0).drain_inbox();
    n2.shard_at(0).drain_inbox();
  }
  ASSERT_TRUE(channels && channels->ok());
  EXPECT_EQ(channels->value().at("remote"), 1u);

  // A disconnect sent to node 1 reaches the client on node 2.
  n1.disconnect(connection_filter{}, disconnects::force_reconnect, nullptr);
  n2.shard_at(0).drain_inbox();
  EXPECT_EQ(on_n2.close_code, disconnects::force_reconnect.code);

  // A node that stops sending heartbeats disappears from info.
  clk.advance_ms(11000);
  n1.tick_control();
  n1.info([&](std::vector<node_info_entry> v) { nodes = std::move(v); });
  n1.shard_at(0).drain_inbox();
  EXPECT_EQ(nodes.size(), 1u);
  n1.stop_control();
  n2.stop_control();
  b1.stop();
  b2.stop();
}

// What other nodes show for a node is what it shows for itself: a user with connections
// on two event loops, both subscribed to one channel, is one user and one channel.
TEST(control_plane, heartbeats_count_a_user_and_a_channel_spread_over_loops_once) {
  manual_clock clk;
  metrics::registry reg;
  config::config c;
  c.client_.user_id_http_header_ = "X-User";
  c.channel_.without_namespace_.allow_subscribe_for_client_ = true;
  auto cfg = std::make_shared<const config::config>(c);
  memory_broker b1(clk), b2(clk);
  memory_presence p1, p2;
  node n1(cfg, b1, p1, clk, reg, 1), n2(cfg, b2, p2, clk, reg, 2);
  n1.shard_at(0).set_loop_thread(std::this_thread::get_id());
  for (unsigned i = 0; i < 2; ++i) n2.shard_at(i).set_loop_thread(std::this_thread::get_id());
  b1.start(n1);
  b2.start(n2);
  pair_bus bus;
  n1.start_control(bus);
  n2.start_control(bus);

  std::vector<std::unique_ptr<fake_transport>> conns;
  for (unsigned i = 0; i < 2; ++i) {
    conns.push_back(std::make_unique<fake_transport>(n2.shard_at(i), protocol::encoding::json));
    conns.back()->header = "alice";
    conns.back()->send(R"({"connect":{},"id":1})");
    conns.back()->send(R"({"subscribe":{"channel":"x"},"id":2})");
    ASSERT_TRUE(conns.back()->saw(R"("id":2,"subscribe")")) << conns.back()->all();
  }
  clk.advance_ms(3000);
  n2.tick_control();
  for (unsigned i = 0; i < 2; ++i) n2.shard_at(i).drain_inbox();

  std::vector<node_info_entry> nodes;
  n1.info([&](std::vector<node_info_entry> v) { nodes = std::move(v); });
  n1.shard_at(0).drain_inbox();
  ASSERT_EQ(nodes.size(), 2u);
  const node_info_entry& remote = nodes[1];
  EXPECT_EQ(remote.uid, n2.uid());
  EXPECT_EQ(remote.num_clients, 2u);
  EXPECT_EQ(remote.num_subs, 2u);
  EXPECT_EQ(remote.num_users, 1u);
  EXPECT_EQ(remote.num_channels, 1u);

  conns.clear();
  n1.stop_control();
  n2.stop_control();
  b1.stop();
  b2.stop();
}

}  // namespace
}  // namespace gyre::testing
