// The connection state machine (docs/design/connection-state-machine.md): connect and its
// failure path, the token-expiry rule, the subscribe steps with a broker whose every
// asynchronous step the test takes, and each timer's own deadline. A real node and shard,
// JSON commands through fake transports.
#include "hub/client.hpp"

#include <gtest/gtest.h>

#include "auth/jwt.hpp"
#include "auth/token_verifier.hpp"
#include "broker/memory/memory_presence.hpp"
#include "hub/hub_fixture.hpp"
#include "hub/scripted_broker.hpp"
#include "hub/token_expiry.hpp"

namespace gyre::testing {
namespace {

constexpr int64_t now_s = 1'700'000'000;  // manual_clock's start

class client_steps : public ::testing::Test {
 protected:
  void SetUp() override { start(make_config()); }
  void TearDown() override {
    conns_.clear();
    broker_.stop();
  }

  virtual config::config make_config() {
    config::config c;
    c.client_.allow_anonymous_connect_without_token_ = true;
    auto& ns = c.channel_.without_namespace_;
    ns.allow_subscribe_for_client_ = true;
    ns.allow_subscribe_for_anonymous_ = true;
    ns.allow_history_for_subscriber_ = true;
    ns.allow_history_for_anonymous_ = true;
    ns.history_size_ = 100;
    ns.history_ttl_ = std::chrono::seconds(300);
    ns.force_recovery_ = true;
    return c;
  }

  void start(config::config c) {
    conns_.clear();
    node_.reset();
    cfg_ = std::make_shared<const config::config>(std::move(c));
    node_ = std::make_unique<node>(cfg_, broker_, presence_, clock_, registry_, 1);
    loop().set_loop_thread(std::this_thread::get_id());  // engine callbacks run inline
    broker_.start(*node_);
    auth::token_config tc;
    tc.hmac_secret_key = "secret";
    auto v = auth::token_verifier::create(tc);
    ASSERT_TRUE(v);
    node_->set_verifiers(std::make_shared<const auth::token_verifier>(std::move(v.value())),
                         nullptr);
  }

  shard& loop() { return node_->shard_at(0); }

  fake_transport& open() {
    conns_.push_back(std::make_unique<fake_transport>(loop(), protocol::encoding::json));
    return *conns_.back();
  }
  fake_transport& connected(std::string connect = R"({"connect":{},"id":1})") {
    fake_transport& t = open();
    t.send(std::move(connect));
    return t;
  }

  static std::string token(const std::string& claims) {
    return auth::jwt_signer::hmac(auth::jwt_alg::hs256, "secret").value().sign(claims).value();
  }

  // Engine steps complete inline (on the loop); what they defer runs and their output is
  // written when the loop gets control back (a tick without moving time).
  void confirm() {
    broker_.confirm();
    loop().tick(clock_.now_mono_ms());
  }
  void answer() {
    broker_.answer();
    loop().tick(clock_.now_mono_ms());
  }

  // Moves both clocks and runs the loop's timers.
  void advance_ms(int64_t ms) {
    clock_.advance_ms(ms);
    loop().tick(clock_.now_mono_ms());
  }

  manual_clock clock_;
  metrics::registry registry_;
  std::shared_ptr<const config::config> cfg_;
  scripted_broker broker_;
  memory_presence presence_{memory_presence::options{1}};
  std::unique_ptr<node> node_;
  std::vector<std::unique_ptr<fake_transport>> conns_;
};

// ---- token expiry ----

TEST(token_expiry, expire_at_decides_when_present_and_never_expires_at_zero_or_below) {
  EXPECT_EQ(effective_expiry(std::nullopt, std::nullopt), 0);
  EXPECT_EQ(effective_expiry(std::nullopt, 500), 500);
  EXPECT_EQ(effective_expiry(700, 500), 700);
  EXPECT_EQ(effective_expiry(0, 500), 0);
  EXPECT_EQ(effective_expiry(-1, 500), 0);
  EXPECT_TRUE(expiry_reached(100, 100));
  EXPECT_FALSE(expiry_reached(101, 100));
  EXPECT_FALSE(expiry_reached(0, 100));
  EXPECT_EQ(ttl_until(130, 100), 30u);
  EXPECT_EQ(ttl_until(90, 100), 0u);
}

// ---- connect ----

TEST_F(client_steps, connect_without_credentials_closes_with_3501) {
  config::config c = make_config();
  c.client_.allow_anonymous_connect_without_token_ = false;
  start(c);
  fake_transport& t = connected();
  EXPECT_EQ(t.close_code, disconnects::bad_request.code);
}

TEST_F(client_steps,
       an_expired_token_gets_109_and_the_connection_is_dropped_at_the_close_deadline) {
  fake_transport& t = open();
  t.linger = true;
  // An `exp` in the past: the verifier reports it expired, connect answers 109.
  t.send(R"({"connect":{"token":")" +
         token(R"({"sub":"u1","exp":)" + std::to_string(now_s - 10) + "}") + R"("},"id":1})");
  EXPECT_TRUE(t.saw(R"({"id":1,"error":{"code":109,"message":"token expired"}})")) << t.all();
  EXPECT_FALSE(t.client().connected());
  // Failed: later commands are ignored, the peer has 5 s to close.
  t.send(R"({"subscribe":{"channel":"x"},"id":2})");
  EXPECT_FALSE(t.saw(R"("id":2)")) << t.all();
  advance_ms(4000);
  EXPECT_FALSE(t.closed());
  advance_ms(1500);
  EXPECT_TRUE(t.closed());
  EXPECT_EQ(t.close_code, disconnects::connection_closed.code);
}

TEST_F(client_steps, expire_at_in_the_past_is_110_and_exp_gives_the_ttl) {
  fake_transport& a = connected(R"({"connect":{"token":")" +
                                token(R"({"sub":"u1","exp":)" + std::to_string(now_s + 100) +
                                      R"(,"expire_at":)" + std::to_string(now_s - 1) + "}") +
                                R"("},"id":1})");
  EXPECT_TRUE(a.saw(R"({"id":1,"error":{"code":110,"message":"expired"}})")) << a.all();
  fake_transport& b = connected(R"({"connect":{"token":")" +
                                token(R"({"sub":"u1","exp":)" + std::to_string(now_s + 100) + "}") +
                                R"("},"id":1})");
  EXPECT_TRUE(b.saw(R"("expires":true,"ttl":100)")) << b.all();
}

// The rule had two outcomes for a negative expire_at: a connection never expired, a
// subscription kept the negative value and accepted sub_refresh as if it expired.
TEST_F(client_steps, expire_at_zero_or_negative_never_expires_for_connections_and_subscriptions) {
  const std::string exp = std::to_string(now_s + 100);
  fake_transport& t =
      connected(R"({"connect":{"token":")" +
                token(R"({"sub":"u1","exp":)" + exp + R"(,"expire_at":-5})") + R"("},"id":1})");
  ASSERT_TRUE(t.saw(R"({"id":1,"connect":{)")) << t.all();
  EXPECT_FALSE(t.saw(R"("expires")")) << t.all();
  const std::string sub_token =
      token(R"({"sub":"u1","channel":"s","exp":)" + exp + R"(,"expire_at":-5})");
  t.send(R"({"subscribe":{"channel":"s","token":")" + sub_token + R"("},"id":2})");
  confirm();
  broker_.take();
  answer();
  ASSERT_TRUE(t.saw(R"({"id":2,"subscribe":{)")) << t.all();
  EXPECT_FALSE(t.saw(R"("expires")")) << t.all();
  // A subscription that never expires still takes a refreshed token (as in Centrifugo):
  // the reply says whether the new one expires.
  t.send(R"({"sub_refresh":{"channel":"s","token":")" + sub_token + R"("},"id":3})");
  EXPECT_TRUE(t.saw(R"({"id":3,"sub_refresh":{}})")) << t.all();
  EXPECT_EQ(t.close_code, 0u) << t.all();
}

TEST_F(client_steps, a_failed_server_side_subscription_fails_connect_and_leaves_nothing_behind) {
  fake_transport& t = open();
  t.linger = true;
  t.send(R"({"connect":{"token":")" + token(R"({"sub":"u1","channels":["a","b"]})") +
         R"("},"id":1})");
  EXPECT_FALSE(t.saw(R"("id":1)")) << "connect waits for its subscriptions";
  confirm();  // a
  confirm();  // b
  broker_.take();
  answer();  // a's read
  broker_.take(errors::internal);
  answer();  // b's read fails
  EXPECT_TRUE(
      t.saw(R"({"id":1,"error":{"code":100,"message":"internal server error","temporary":true}})"))
      << t.all();
  EXPECT_FALSE(t.client().connected());
  EXPECT_EQ(t.client().subscription_count(), 0u);
  EXPECT_EQ(loop().local_subscriber_count("a"), 0u);
  EXPECT_EQ(loop().local_subscriber_count("b"), 0u);
  EXPECT_EQ(loop().first_of("u1"), nullptr);
  // Nothing keeps the node subscribed to the channels (they were left registered, pointing
  // to the client after it was freed).
  EXPECT_EQ(broker_.subscribed.count("a"), 0u);
  EXPECT_EQ(broker_.subscribed.count("b"), 0u);
}

TEST_F(client_steps, a_connect_waiting_for_its_subscriptions_sends_no_ping_at_the_stale_deadline) {
  fake_transport& t = open();
  t.send(R"({"connect":{"token":")" + token(R"({"sub":"u1","channels":["a"]})") + R"("},"id":1})");
  advance_ms(11'000);  // past client.stale_close_delay (10 s)
  EXPECT_TRUE(t.written.empty()) << t.all();
  EXPECT_EQ(t.close_code, 0u);
  confirm();
  broker_.take();
  answer();
  EXPECT_TRUE(t.saw(R"({"id":1,"connect":{)")) << t.all();
  EXPECT_TRUE(t.saw(R"("subs":{"a":{)")) << t.all();
}

// ---- subscribe ----

TEST_F(client_steps, later_commands_wait_for_the_subscribe_and_replies_keep_their_order) {
  fake_transport& t = connected();
  t.send(R"({"subscribe":{"channel":"c"},"id":2}
{"history":{"channel":"c","limit":1},"id":3})");
  EXPECT_FALSE(t.saw(R"("id":2)"));
  confirm();
  broker_.take();
  answer();  // the subscribe's read
  EXPECT_TRUE(t.saw(R"({"id":2,"subscribe":{)")) << t.all();
  ASSERT_TRUE(broker_.can_take()) << "history runs after the subscribe: " << t.all();
  broker_.take();
  answer();
  const std::string all = t.all();
  EXPECT_LT(all.find(R"("id":2)"), all.find(R"("id":3)")) << all;
}

TEST_F(client_steps, an_engine_failure_answers_100_and_leaves_no_subscription) {
  fake_transport& t = connected();
  t.send(R"({"subscribe":{"channel":"c"},"id":2})");
  confirm();
  broker_.take(errors::internal);
  answer();
  EXPECT_TRUE(t.saw(R"({"id":2,"error":{"code":100,)")) << t.all();
  EXPECT_FALSE(t.client().is_subscribed("c"));
  EXPECT_EQ(loop().local_subscriber_count("c"), 0u);
  EXPECT_TRUE(t.client().connected());
}

TEST_F(client_steps, reject_unrecoverable_answers_112) {
  broker_.make_publication("c");
  broker_.make_publication("c");
  fake_transport& t = connected();
  t.send(R"({"subscribe":{"channel":"c","recover":true,"offset":5,"epoch":"E1","flag":2},"id":2})");
  confirm();
  broker_.take();
  answer();
  EXPECT_TRUE(t.saw(R"({"id":2,"error":{"code":112,"message":"unrecoverable position"}})"))
      << t.all();
  EXPECT_FALSE(t.client().is_subscribed("c"));
}

// The SDK ignores an unsubscribe push for a subscription it has not seen subscribed: a
// server unsubscribe that arrives meanwhile is sent right after the reply. It used to go
// out first, and the reply never came.
TEST_F(client_steps, a_server_unsubscribe_during_a_subscribe_follows_its_reply) {
  fake_transport& t = connected();
  t.send(R"({"subscribe":{"channel":"c"},"id":2})");
  bool done = false;
  node_->unsubscribe(connection_filter{}, "c", [&] { done = true; });
  // An API subscribe right after it is made once the unsubscribe took effect.
  server_subscribe_options again;
  again.channel = "c";
  node_->subscribe(connection_filter{}, again, nullptr);
  loop().drain_inbox();
  EXPECT_TRUE(done);
  EXPECT_FALSE(t.saw("unsubscribe")) << t.all();
  confirm();
  broker_.take();
  answer();
  const std::string all = t.all();
  const size_t reply = all.find(R"({"id":2,"subscribe":{)");
  const size_t unsub = all.find(
      R"({"push":{"channel":"c","unsubscribe":{"code":2000,"reason":"server unsubscribe"}}})");
  ASSERT_NE(reply, std::string::npos) << all;
  ASSERT_NE(unsub, std::string::npos) << all;
  EXPECT_LT(reply, unsub);
  confirm();  // the unsubscribe left the channel: the node subscribes to it again
  broker_.take();
  answer();  // the API subscribe's read
  const size_t pushed = t.all().find(R"({"push":{"channel":"c","subscribe":{)");
  ASSERT_NE(pushed, std::string::npos) << t.all();
  EXPECT_GT(pushed, unsub);
  EXPECT_TRUE(t.client().is_subscribed("c"));
}

TEST_F(client_steps, a_buffer_overflow_during_a_subscribe_resubscribes_after_the_reply) {
  fake_transport& t = connected();
  t.send(R"({"subscribe":{"channel":"c"},"id":2})");
  confirm();
  const uint32_t limit = node_->opts().subscribe_buffer_limit;
  for (uint32_t i = 0; i <= limit; ++i) {
    broker_.make_publication("c");
    broker_.deliver();
  }
  loop().drain_inbox();
  EXPECT_FALSE(t.saw("unsubscribe")) << "not before the reply";
  broker_.take();
  answer();
  loop().drain_inbox();
  const std::string all = t.all();
  const size_t reply = all.find(R"({"id":2,"subscribe":{)");
  const size_t unsub = all.find(R"("unsubscribe":{"code":2500,"reason":"insufficient state"})");
  ASSERT_NE(reply, std::string::npos) << all.substr(0, 300);
  ASSERT_NE(unsub, std::string::npos);
  EXPECT_LT(reply, unsub);
  EXPECT_EQ(all.find(R"("pub":)"), std::string::npos) << "nothing delivered from a broken buffer";
}

TEST_F(client_steps, publications_buffered_during_a_subscribe_follow_the_reply_in_offset_order) {
  broker_.make_publication("c");  // 1: the client has it
  broker_.make_publication("c");  // 2: missed
  fake_transport& t = connected();
  t.send(R"({"subscribe":{"channel":"c","recover":true,"offset":1,"epoch":"E1"},"id":2})");
  confirm();
  broker_.make_publication("c");  // 3: in the read and buffered
  broker_.take();
  broker_.make_publication("c");  // 4, 5: buffered only
  broker_.make_publication("c");
  broker_.deliver(1);  // 4 overtakes 3
  broker_.deliver(1);  // 5
  broker_.deliver(0);  // 3
  loop().drain_inbox();
  answer();
  loop().drain_inbox();
  const std::string all = t.all();
  EXPECT_NE(all.find(R"("recovered":true)"), std::string::npos) << all;
  size_t at = all.find(R"("id":2)");
  for (int o = 2; o <= 5; ++o) {
    size_t next = all.find(R"("offset":)" + std::to_string(o) + "}", at);
    ASSERT_NE(next, std::string::npos) << "offset " << o << ": " << all;
    at = next;
  }
  EXPECT_EQ(all.find("unsubscribe"), std::string::npos) << all;
}

// Cache mode with a tags filter reads back far enough to find the newest publication the
// filter lets through (it read only the newest one, which the filter may withhold).
TEST_F(client_steps, cache_recovery_with_a_filter_sends_the_newest_matching_publication) {
  config::config c = make_config();
  config::channel_namespace cache;
  cache.name_ = "cache";
  cache.allow_subscribe_for_client_ = true;
  cache.allow_subscribe_for_anonymous_ = true;
  cache.allow_tags_filter_ = true;
  cache.history_size_ = 10;
  cache.history_ttl_ = std::chrono::seconds(300);
  cache.force_recovery_ = true;
  cache.force_recovery_mode_ = "cache";
  c.channel_.namespaces_.push_back(cache);
  start(c);
  for (int i = 1; i <= 3; ++i) {
    publication p;
    p.data = std::to_string(i);
    p.tags = {{"kind", i == 2 ? "keep" : "drop"}};
    broker_.make_publication("cache:x", p);
  }
  fake_transport& t = connected();
  t.send(R"({"subscribe":{"channel":"cache:x","recover":true,"offset":1,"epoch":"E1",)"
         R"("tf":{"key":"kind","cmp":"eq","val":"keep"}},"id":2})");
  confirm();
  broker_.take();
  answer();
  EXPECT_TRUE(t.saw(R"("publications":[{"data":2,)")) << t.all();
  EXPECT_TRUE(t.saw(R"("recovered":true)")) << t.all();
}

// ---- timers ----

// ---- reload (docs/design/config-reload.md) ----

TEST_F(client_steps, a_reload_applies_to_new_operations_and_leaves_connections_alone) {
  fake_transport& old_conn =
      connected(R"({"connect":{"token":")" + token(R"({"sub":"u1"})") + R"("},"id":1})");
  ASSERT_TRUE(old_conn.client().connected()) << old_conn.all();
  const live_config& before = loop().live();
  EXPECT_EQ(before.opts.channel_limit, 128u);

  config::config c = make_config();
  c.client_.channel_limit_ = 0;  // every new subscribe is over the limit
  auth::token_config tc;
  tc.hmac_secret_key = "rotated";
  auto v = auth::token_verifier::create(tc);
  ASSERT_TRUE(v);
  node_->reload(std::make_shared<const config::config>(c),
                std::make_shared<const auth::token_verifier>(std::move(v.value())), nullptr);

  // The loop follows at once; what an operation already holds stays valid until a tick.
  EXPECT_EQ(loop().live().opts.channel_limit, 0u);
  EXPECT_EQ(before.opts.channel_limit, 128u);

  // The connected client stays, and its next subscribe meets the new limit.
  old_conn.send(R"({"subscribe":{"channel":"x"},"id":2})");
  EXPECT_TRUE(old_conn.saw(R"({"id":2,"error":{"code":106,"message":"limit exceeded"}})"))
      << old_conn.all();
  EXPECT_FALSE(old_conn.closed());

  // New connections: the new key signs, the old one does not.
  auto signed_with = [](const char* key) {
    return auth::jwt_signer::hmac(auth::jwt_alg::hs256, key)
        .value()
        .sign(R"({"sub":"u2"})")
        .value();
  };
  fake_transport& fresh =
      connected(R"({"connect":{"token":")" + signed_with("rotated") + R"("},"id":1})");
  EXPECT_TRUE(fresh.client().connected()) << fresh.all();
  fake_transport& stale =
      connected(R"({"connect":{"token":")" + signed_with("secret") + R"("},"id":1})");
  EXPECT_EQ(stale.close_code, disconnects::invalid_token.code);

  advance_ms(1000);  // a tick releases the replaced snapshot
  EXPECT_FALSE(old_conn.closed());
}

TEST_F(client_steps, a_connection_that_never_sends_connect_is_closed_as_stale) {
  fake_transport& t = open();
  advance_ms(9'000);
  EXPECT_EQ(t.close_code, 0u);
  advance_ms(1'500);
  EXPECT_EQ(t.close_code, disconnects::stale.code);
}

TEST_F(client_steps, pings_come_every_interval_and_an_unanswered_one_disconnects_3012) {
  fake_transport& t = connected();
  advance_ms(25'500);  // the first ping comes within the first interval
  ASSERT_TRUE(t.saw("{}\n")) << t.all();
  t.send("{}");  // pong
  advance_ms(25'500);
  EXPECT_EQ(t.close_code, 0u);
  advance_ms(9'000);  // the second ping is not answered within client.pong_timeout (8 s)
  EXPECT_EQ(t.close_code, disconnects::no_pong.code);
}

TEST_F(client_steps, a_closing_connection_whose_peer_does_not_answer_is_dropped_after_5_s) {
  fake_transport& t = connected();
  t.linger = true;
  node_->disconnect(connection_filter{}, disconnects::force_reconnect, nullptr);
  loop().drain_inbox();
  EXPECT_EQ(t.close_code, disconnects::force_reconnect.code);
  EXPECT_FALSE(t.closed());
  advance_ms(5'500);
  EXPECT_TRUE(t.closed());
}

}  // namespace
}  // namespace gyre::testing
