// Flow control in the hub (docs/design/flow-control.md): the command budget of a read
// turn, replies over client.queue_max_size (the client stops taking commands and is not
// judged slow for them; the shard disconnects it with 3008 if it is held past
// websocket.write_timeout), and the bounded inbox of an event loop (dropped publications
// make positioned subscribers recover, plain ones miss them, tasks are never dropped; an
// inbox half full asks the API's requests threads to postpone reading).
#include "hub/shard.hpp"

#include <gtest/gtest.h>

#include <string>

#include "hub/hub_fixture.hpp"

namespace gyre::testing {
namespace {

class flow_control : public hub_fixture {
 protected:
  flow_control() : hub_fixture(1) {}

  config::config make_config() override {
    config::config c = hub_fixture::make_config();
    c.gyre_.read_budget_commands_ = 5;
    c.gyre_.event_loop_inbox_size_ = 4;
    return c;
  }

  static std::string unsubscribes(int first, int count) {
    std::string frame;
    for (int id = first; id < first + count; ++id) {
      if (!frame.empty()) frame += '\n';
      frame += R"({"unsubscribe":{"channel":"nothing"},"id":)" + std::to_string(id) + "}";
    }
    return frame;
  }
  static size_t count_of(const std::string& all, const std::string& needle) {
    size_t n = 0;
    for (size_t at = all.find(needle); at != std::string::npos; at = all.find(needle, at + 1)) ++n;
    return n;
  }
  shard& loop() { return node_->shard_at(0); }
};

TEST_F(flow_control, a_turn_runs_at_most_the_command_budget_and_the_rest_waits_in_order) {
  fake_transport& t = connect();
  t.written.clear();
  t.send(unsubscribes(2, 12));  // one message, twelve commands, a budget of five
  EXPECT_EQ(count_of(t.all(), R"("unsubscribe":{})"), 5u) << t.all();
  EXPECT_FALSE(t.client().accepting_input()) << "commands wait: the transport must not read";
  EXPECT_FALSE(t.client().waiting_for_engine());
  EXPECT_FALSE(t.client().over_queue_limit());
  t.client().begin_turn();
  loop().flush_dirty();
  EXPECT_EQ(count_of(t.all(), R"("unsubscribe":{})"), 10u);
  t.client().begin_turn();
  loop().flush_dirty();
  EXPECT_EQ(count_of(t.all(), R"("unsubscribe":{})"), 12u);
  EXPECT_TRUE(t.client().accepting_input());
  // In order, each exactly once.
  std::string all = t.all();
  size_t pos = 0;
  for (int id = 2; id < 14; ++id) {
    size_t at = all.find(R"({"id":)" + std::to_string(id) + ",", pos);
    ASSERT_NE(at, std::string::npos) << "reply " << id << " in " << all;
    pos = at;
  }
}

TEST_F(flow_control, a_message_handed_over_while_commands_wait_runs_after_them) {
  fake_transport& t = connect();
  t.written.clear();
  t.send(unsubscribes(2, 7));
  std::string more = unsubscribes(100, 2);
  more.reserve(more.size() + protocol::decode_padding);
  t.client().on_frame(more);  // a transport should not, but the order must hold anyway
  for (int turn = 0; turn < 3; ++turn) {
    t.client().begin_turn();
    loop().flush_dirty();
  }
  std::string all = t.all();
  size_t pos = 0;
  for (int id : {2, 3, 4, 5, 6, 7, 8, 100, 101}) {
    size_t at = all.find(R"({"id":)" + std::to_string(id) + ",", pos);
    ASSERT_NE(at, std::string::npos) << "reply " << id << " in " << all;
    pos = at;
  }
  EXPECT_EQ(t.close_code, 0u);
}

TEST_F(flow_control, a_malformed_command_behind_waiting_ones_still_ends_the_connection) {
  fake_transport& t = connect();
  t.send(unsubscribes(2, 6) + "\n\n" + unsubscribes(8, 1));  // an empty line after six
  EXPECT_EQ(t.close_code, 0u) << "the bad line is not reached in this turn";
  t.client().begin_turn();
  loop().flush_dirty();
  EXPECT_EQ(t.close_code, disconnects::bad_request.code);
  EXPECT_EQ(count_of(t.all(), R"("unsubscribe":{})"), 6u);
}

TEST_F(flow_control,
       replies_over_the_queue_limit_stop_the_commands_without_making_the_client_slow) {
  config::config c = make_config();
  c.client_.queue_max_size_ = 1000;
  c.gyre_.read_budget_commands_ = 256;
  TearDown();
  start(c);
  fake_transport& t = connect();
  t.written.clear();
  t.stuck = true;  // the peer stops reading
  t.send(unsubscribes(2, 100));
  // Each reply costs its bytes plus the per-message overhead: the limit stops the batch
  // after a handful, not after a hundred.
  const size_t queued = t.client().out().size();
  EXPECT_GT(queued, 5u);
  EXPECT_LT(queued, 20u);
  EXPECT_TRUE(t.client().over_queue_limit());
  EXPECT_FALSE(t.client().accepting_input());
  // Its own replies do not make it slow: a drain judges it, and it stays connected.
  drain();
  loop().tick(loop().now_ms() + 250);
  EXPECT_EQ(t.close_code, 0u);
  // Once the peer reads, the rest runs.
  t.stuck = false;
  t.flush();
  for (int turn = 0; turn < 20 && !t.client().accepting_input(); ++turn) {
    t.client().begin_turn();
    loop().flush_dirty();
  }
  EXPECT_TRUE(t.client().accepting_input());
  EXPECT_EQ(count_of(t.all(), R"("unsubscribe":{})"), 100u);
}

TEST_F(flow_control, a_push_that_finds_the_queue_over_the_limit_makes_the_client_slow) {
  config::config c = make_config();
  c.client_.queue_max_size_ = 1000;
  c.gyre_.read_budget_commands_ = 256;
  TearDown();
  start(c);
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"c"},"id":2})");
  t.stuck = true;
  t.send(unsubscribes(3, 100));
  ASSERT_TRUE(t.client().over_queue_limit());
  ASSERT_TRUE(publish("c", "1"));
  drain();
  EXPECT_EQ(t.close_code, disconnects::slow.code);
}

TEST_F(flow_control, a_held_client_is_disconnected_with_3008_unless_it_drains_in_time) {
  config::config c = make_config();
  c.client_.queue_max_size_ = 1000;
  c.websocket_.write_timeout_ = std::chrono::milliseconds(1000);
  c.gyre_.read_budget_commands_ = 256;
  TearDown();
  start(c);
  fake_transport& held = connect();
  fake_transport& drained = connect();
  for (fake_transport* t : {&held, &drained}) {
    t->stuck = true;
    t->send(unsubscribes(2, 100));
    ASSERT_TRUE(t->client().over_queue_limit());
    loop().hold(t->client());
    loop().hold(t->client());  // twice is once
  }
  EXPECT_EQ(loop().held_count(), 2u);
  const int64_t t0 = loop().now_ms();
  loop().tick(t0 + 500);
  EXPECT_EQ(held.close_code, 0u);
  drained.stuck = false;
  drained.flush();
  loop().tick(t0 + 1250);
  EXPECT_EQ(held.close_code, disconnects::slow.code);
  EXPECT_EQ(drained.close_code, 0u);
  EXPECT_EQ(loop().held_count(), 0u);
  EXPECT_EQ(loop().counters().read_holds.load(), 2u);
}

TEST_F(flow_control, a_full_inbox_drops_events_in_order_and_positioned_subscribers_recover) {
  fake_transport& positioned = connect();
  positioned.send(R"({"subscribe":{"channel":"c","positioned":true},"id":2})");
  ASSERT_TRUE(positioned.saw(R"("positioned":true)")) << positioned.all();
  fake_transport& plain = connect();
  plain.send(R"({"subscribe":{"channel":"c"},"id":2})");
  fake_transport& other = connect();
  other.send(R"({"subscribe":{"channel":"quiet","positioned":true},"id":2})");
  positioned.written.clear();
  plain.written.clear();
  // Ten publications while the loop is busy: the inbox takes four.
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(publish("c", std::to_string(i)));
  int tasks_run = 0;
  for (int i = 0; i < 10; ++i) loop().post_task([&](shard&) { ++tasks_run; });
  EXPECT_EQ(loop().inbox_events(), 4u);
  EXPECT_EQ(loop().counters().inbox_dropped.load(), 6u);
  drain();
  EXPECT_EQ(tasks_run, 10) << "tasks are never dropped";
  // The positioned subscriber got what the inbox held, in order, then lost continuity.
  std::string all = positioned.all();
  size_t last_pub = all.rfind(R"("offset":4)");
  size_t unsub = all.find(R"("unsubscribe":{"code":2500)");
  ASSERT_NE(last_pub, std::string::npos) << all;
  ASSERT_NE(unsub, std::string::npos) << all;
  EXPECT_LT(last_pub, unsub);
  EXPECT_EQ(all.find(R"("offset":5)"), std::string::npos) << all;
  EXPECT_FALSE(positioned.client().is_subscribed("c"));
  // The plain subscriber missed six and stays subscribed; a channel that lost nothing is
  // not disturbed.
  EXPECT_EQ(count_of(plain.all(), R"("push":{"channel":"c","pub")"), 4u) << plain.all();
  EXPECT_TRUE(plain.client().is_subscribed("c"));
  EXPECT_TRUE(other.client().is_subscribed("quiet"));
  // After the drain the inbox takes events again.
  ASSERT_TRUE(publish("c", "11"));
  drain();
  EXPECT_TRUE(plain.saw(R"("data":11)")) << plain.all();
  EXPECT_EQ(loop().counters().inbox_dropped.load(), 6u);
}

TEST_F(flow_control, an_inbox_half_full_asks_the_api_to_postpone_reading_until_it_drains) {
  fake_transport& sub = connect();
  sub.send(R"({"subscribe":{"channel":"c"},"id":2})");
  ASSERT_TRUE(sub.saw(R"("id":2)")) << sub.all();
  EXPECT_FALSE(node_->fan_out_backlogged());
  ASSERT_TRUE(publish("c", "1"));
  EXPECT_FALSE(loop().backlogged()) << "one event of four";
  ASSERT_TRUE(publish("c", "2"));
  EXPECT_TRUE(loop().backlogged()) << "two of four: half full";
  EXPECT_TRUE(node_->fan_out_backlogged());
  // Tasks are not events: they do not count.
  loop().post_task([](shard&) {});
  drain();
  EXPECT_FALSE(loop().backlogged());
  EXPECT_FALSE(node_->fan_out_backlogged());
  EXPECT_TRUE(sub.saw(R"("data":2)")) << sub.all();
  EXPECT_EQ(loop().counters().inbox_dropped.load(), 0u);
}

}  // namespace
}  // namespace gyre::testing
