// The node's per-channel broker subscriptions (node::channel_added / when_channel_ready /
// channel_removed) with a broker whose confirmations the test gives: a failed or late
// confirmation must never leave live subscribers on a channel the node is not subscribed
// to. And the periodic position check, which must not take a publication still on its way
// through the broker's subscription for a loss (docs/design/resubscribe-position-check.md).
#include <gtest/gtest.h>

#include <optional>

#include "broker/memory/memory_presence.hpp"
#include "hub/hub_fixture.hpp"
#include "hub/scripted_broker.hpp"

namespace gyre::testing {
namespace {

class node_channels : public ::testing::Test {
 protected:
  void SetUp() override {
    config::config c;
    c.client_.allow_anonymous_connect_without_token_ = true;
    auto& ns = c.channel_.without_namespace_;
    ns.allow_subscribe_for_client_ = true;
    ns.allow_subscribe_for_anonymous_ = true;
    ns.history_size_ = 100;
    ns.history_ttl_ = std::chrono::seconds(300);
    ns.force_recovery_ = true;
    cfg_ = std::make_shared<const config::config>(std::move(c));
    node_ = std::make_unique<node>(cfg_, broker_, presence_, clock_, registry_, 1);
    node_->shard_at(0).set_loop_thread(std::this_thread::get_id());
    broker_.start(*node_);
  }
  void TearDown() override {
    conns_.clear();
    broker_.stop();
  }

  // Records the outcome of a when_channel_ready.
  struct outcome {
    std::optional<bool> ok;
    status_callback callback() {
      return [this](status s) { ok = static_cast<bool>(s); };
    }
  };

  shard& loop() { return node_->shard_at(0); }
  void tick() { loop().tick(clock_.now_mono_ms()); }
  // A connected client subscribed to "c" (positioned: the namespace forces recovery).
  fake_transport& subscribed_to_c() {
    conns_.push_back(std::make_unique<fake_transport>(loop(), protocol::encoding::json));
    fake_transport& t = *conns_.back();
    t.send(R"({"connect":{},"id":1})");
    t.send(R"({"subscribe":{"channel":"c","recover":false},"id":2})");
    broker_.confirm();
    tick();
    broker_.take();
    broker_.answer();
    tick();
    return t;
  }
  // Moves time until the client's periodic position check reads the stream (answering
  // the pings meanwhile); at most 76 s.
  void until_position_check(fake_transport& t) {
    for (int i = 0; i < 3 && broker_.reads.empty(); ++i) {
      clock_.advance_ms(25'500);  // a ping each time
      tick();
      t.send("{}");  // its pong
    }
  }
  // Runs what the engine's answers posted to the loop, and what that posted in turn.
  void settle() {
    for (int i = 0; i < 4; ++i) {
      loop().drain_inbox();
      tick();
    }
  }

  manual_clock clock_;
  metrics::registry registry_;
  std::shared_ptr<const config::config> cfg_;
  scripted_broker broker_;
  memory_presence presence_{memory_presence::options{1}};
  std::unique_ptr<node> node_;
  std::vector<std::unique_ptr<fake_transport>> conns_;
};

// Two shards hold "c"; the first attempt fails and the first shard's subscriber gives up
// only after a second shard subscribed successfully. The node must stay subscribed for the
// second shard (the failed attempt used to erase the entry, and the first shard's late
// removal then took the second shard's reference).
TEST_F(node_channels, a_late_removal_after_a_failed_subscribe_keeps_the_other_shards_channel) {
  node& n = *node_;
  outcome first, second;
  n.channel_added("c");  // shard 0
  n.when_channel_ready("c", first.callback());
  broker_.confirm(errors::internal);
  ASSERT_EQ(first.ok, std::optional<bool>(false));

  n.channel_added("c");  // shard 1 gets a subscriber before shard 0 lets go
  n.when_channel_ready("c", second.callback());
  ASSERT_EQ(broker_.confirmations.size(), 1u) << "the failed attempt is retried";
  broker_.confirm();
  EXPECT_EQ(second.ok, std::optional<bool>(true));

  n.channel_removed("c");  // shard 0 drops its failed subscriber
  EXPECT_EQ(broker_.subscribed.count("c"), 1u) << "shard 1's subscribers lost their channel";
  n.channel_removed("c");  // shard 1
  EXPECT_EQ(broker_.subscribed.count("c"), 0u);
}

// A subscriber of a shard that still holds the channel after a failed attempt retries.
TEST_F(node_channels, a_subscriber_after_a_failed_attempt_on_the_same_shard_retries) {
  node& n = *node_;
  outcome first, second;
  n.channel_added("c");
  n.when_channel_ready("c", first.callback());
  broker_.confirm(errors::internal);
  n.when_channel_ready("c", second.callback());  // same shard: no channel_added
  ASSERT_EQ(broker_.confirmations.size(), 1u);
  EXPECT_FALSE(second.ok.has_value());
  broker_.confirm();
  EXPECT_EQ(second.ok, std::optional<bool>(true));
}

// Subscribe, unsubscribe and subscribe again before the first confirmation: that
// confirmation answers the first attempt and must not make the new one ready early.
TEST_F(node_channels, the_confirmation_of_an_earlier_attempt_does_not_make_a_new_one_ready) {
  node& n = *node_;
  outcome waiting;
  broker_.deferred_unsubscribe = true;
  n.channel_added("c");
  n.channel_removed("c");
  n.channel_added("c");
  n.when_channel_ready("c", waiting.callback());
  broker_.confirm();  // the first SUBSCRIBE
  EXPECT_FALSE(waiting.ok.has_value()) << "ready before its own subscribe was confirmed";
  broker_.apply_unsubscribe();
  broker_.confirm();  // the second
  EXPECT_EQ(waiting.ok, std::optional<bool>(true));
  EXPECT_EQ(broker_.subscribed.count("c"), 1u);
}

// The periodic check reads the top on the data connection; a publication below it still
// in flight on the PUB/SUB connection is not a loss.
TEST_F(node_channels, the_position_check_does_not_take_a_publication_in_flight_for_a_loss) {
  fake_transport& t = subscribed_to_c();
  ASSERT_TRUE(t.saw(R"({"id":2,"subscribe":{)")) << t.all();

  broker_.make_publication("c");  // offset 1, not delivered yet
  until_position_check(t);
  ASSERT_EQ(broker_.reads.size(), 1u) << "no position check within 76 s: " << t.all();
  broker_.take();
  broker_.answer();  // top 1, the subscriber is at 0
  settle();
  EXPECT_FALSE(t.saw(R"("code":2500)")) << t.all();
  EXPECT_TRUE(t.saw(R"("offset":1)")) << "the publication was delivered: " << t.all();
}

// A publication the node never received (its PUB/SUB connection dropped it) is a loss:
// the subscriber is unsubscribed with 2500 to recover.
TEST_F(node_channels, the_position_check_finds_a_publication_that_never_arrived) {
  fake_transport& t = subscribed_to_c();
  broker_.make_publication("c");
  broker_.in_flight.clear();  // lost on the way
  until_position_check(t);
  ASSERT_EQ(broker_.reads.size(), 1u);
  broker_.take();
  broker_.answer();
  settle();
  EXPECT_TRUE(t.saw(R"("code":2500)")) << t.all();
}

}  // namespace
}  // namespace gyre::testing
