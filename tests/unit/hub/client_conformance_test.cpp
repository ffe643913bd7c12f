// Where the connection state machine follows Centrifugo on the wire in cases an SDK rarely
// shows: positioning and recovery flags without history, was_recovering, cache recovery at
// the top, refresh / sub_refresh without expiry, a subscription token whose b64data is not
// JSON, and the channels a client asks for in connect.subs. A real node with the memory
// engine, JSON (and Protobuf) commands through fake transports.
#include <gtest/gtest.h>

#include "auth/jwt.hpp"
#include "auth/token_verifier.hpp"
#include "core/base64.hpp"
#include "hub/client.hpp"
#include "hub/hub_fixture.hpp"

namespace gyre::testing {
namespace {

constexpr int64_t now_s = 1'700'000'000;  // manual_clock's start

class conformance : public hub_fixture {
 protected:
  conformance() : hub_fixture(1) {}

  void SetUp() override {
    hub_fixture::SetUp();
    auth::token_config tc;
    tc.hmac_secret_key = "secret";
    auto v = auth::token_verifier::create(tc);
    ASSERT_TRUE(v);
    node_->set_verifiers(std::make_shared<const auth::token_verifier>(std::move(v.value())),
                         nullptr);
  }

  static config::channel_namespace open_ns(std::string name) {
    config::channel_namespace ns;
    ns.name_ = std::move(name);
    ns.allow_subscribe_for_client_ = true;
    ns.allow_subscribe_for_anonymous_ = true;
    return ns;
  }

  config::config make_config() override {
    config::config c;
    c.client_.allow_anonymous_connect_without_token_ = true;
    auto& root = c.channel_.without_namespace_;
    root.allow_subscribe_for_client_ = true;
    root.allow_subscribe_for_anonymous_ = true;
    auto& nss = c.channel_.namespaces_;
    {
      auto ns = open_ns("hist");
      ns.history_size_ = 100;
      ns.history_ttl_ = std::chrono::seconds(300);
      ns.force_recovery_ = true;
      ns.allowed_delta_types_ = {"fossil"};
      nss.push_back(ns);
    }
    {
      auto ns = open_ns("nohist");  // no history, but positioning and recovery allowed
      ns.allow_positioning_ = true;
      ns.allow_recovery_ = true;
      nss.push_back(ns);
    }
    {
      auto ns = open_ns("fp");  // force_positioning without history
      ns.force_positioning_ = true;
      nss.push_back(ns);
    }
    {
      auto ns = open_ns("cache");
      ns.history_size_ = 10;
      ns.history_ttl_ = std::chrono::seconds(300);
      ns.force_recovery_ = true;
      ns.force_recovery_mode_ = "cache";
      nss.push_back(ns);
    }
    {
      config::channel_namespace ns;  // nobody may subscribe without a token
      ns.name_ = "closed";
      nss.push_back(ns);
    }
    {
      auto ns = open_ns("users");
      ns.allow_subscribe_for_client_ = false;
      ns.allow_user_limited_channels_ = true;
      nss.push_back(ns);
    }
    return c;
  }

  const config::channel_options& ns(std::string_view name) const {
    for (const auto& n : cfg_->channel_.namespaces_)
      if (n.name_ == name) return n;
    throw std::runtime_error("no namespace");
  }

  result<publish_outcome> publish_in(std::string_view nsname, const std::string& channel,
                                     std::string data) {
    return publish(channel, std::move(data), node_->publish_options_for(ns(nsname), *cfg_));
  }

  static std::string token(const std::string& claims) {
    return auth::jwt_signer::hmac(auth::jwt_alg::hs256, "secret").value().sign(claims).value();
  }
  fake_transport& connect_with(const std::string& connect_body,
                               protocol::encoding enc = protocol::encoding::json) {
    return connect(0, enc, R"({"connect":)" + connect_body + R"(,"id":1})");
  }
  fake_transport& connect_token(const std::string& claims, const std::string& rest = "") {
    return connect_with(R"({"token":")" + token(claims) + "\"" + rest + "}");
  }
};

// ---- positioning and recovery without history ----

TEST_F(conformance, positioning_and_recovery_requests_are_honoured_without_history) {
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"nohist:a","positioned":true},"id":2})");
  ASSERT_TRUE(t.saw(R"({"id":2,"subscribe":{)")) << t.all();
  EXPECT_TRUE(t.saw(R"("positioned":true)")) << t.all();
  EXPECT_TRUE(t.saw(R"("epoch":")")) << t.all();
  t.written.clear();
  t.send(R"({"subscribe":{"channel":"nohist:b","recoverable":true},"id":3})");
  EXPECT_TRUE(t.saw(R"("recoverable":true)")) << t.all();
  EXPECT_TRUE(t.saw(R"("positioned":true)")) << t.all();
  // Recovering at the position the stream has (offset 0, its epoch) is a recovery.
  std::string all = t.all();
  auto at = all.find(R"("epoch":")");
  ASSERT_NE(at, std::string::npos);
  std::string epoch = all.substr(at + 9, all.find('"', at + 9) - at - 9);
  ASSERT_FALSE(epoch.empty());
  t.send(R"({"unsubscribe":{"channel":"nohist:b"},"id":4})");
  t.written.clear();
  t.send(R"({"subscribe":{"channel":"nohist:b","recoverable":true,"recover":true,"epoch":")" +
         epoch + R"("},"id":5})");
  EXPECT_TRUE(t.saw(R"("recovered":true)")) << t.all();
  // A publication in a namespace without history has no offset and still arrives.
  t.written.clear();
  ASSERT_TRUE(publish_in("nohist", "nohist:b", R"({"n":1})"));
  drain();
  EXPECT_TRUE(t.saw(R"({"push":{"channel":"nohist:b","pub":{"data":{"n":1}}}})")) << t.all();
  EXPECT_TRUE(t.client().is_subscribed("nohist:b"));
}

TEST_F(conformance, force_positioning_without_history_positions_every_subscription) {
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"fp:a"},"id":2})");
  EXPECT_TRUE(t.saw(R"("positioned":true)")) << t.all();
  EXPECT_TRUE(t.saw(R"("epoch":")")) << t.all();
  EXPECT_FALSE(t.saw(R"("recoverable")")) << t.all();
}

TEST_F(conformance, without_permission_the_flags_are_still_ignored) {
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"plain","positioned":true,"recoverable":true},"id":2})");
  ASSERT_TRUE(t.saw(R"({"id":2,"subscribe":{)")) << t.all();
  EXPECT_FALSE(t.saw(R"("positioned")")) << t.all();
  EXPECT_FALSE(t.saw(R"("epoch")")) << t.all();
}

// ---- was_recovering ----

TEST_F(conformance, was_recovering_echoes_the_clients_recover_in_every_namespace) {
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"plain","recover":true,"offset":3,"epoch":"x"},"id":2})");
  ASSERT_TRUE(t.saw(R"({"id":2,"subscribe":{"was_recovering":true}})")) << t.all();
  t.send(R"({"subscribe":{"channel":"fp:b","recover":true,"offset":3,"epoch":"x"},"id":3})");
  EXPECT_TRUE(t.saw(R"("was_recovering":true)")) << t.all();
  EXPECT_FALSE(t.saw(R"("recovered")")) << t.all();
  // Not asked: not set.
  t.written.clear();
  t.send(R"({"subscribe":{"channel":"plain2"},"id":4})");
  EXPECT_FALSE(t.saw(R"("was_recovering")")) << t.all();
}

// ---- cache recovery at the top ----

TEST_F(conformance, cache_recovery_at_the_top_without_an_epoch_sends_the_newest_publication) {
  ASSERT_TRUE(publish_in("cache", "cache:a", R"({"n":1})"));
  auto second = publish_in("cache", "cache:a", R"({"n":2})");
  ASSERT_TRUE(second);
  const std::string epoch = second->position.epoch;
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"cache:a","recover":true,"offset":2},"id":2})");
  EXPECT_TRUE(t.saw(R"("publications":[{"data":{"n":2},"offset":2)")) << t.all();
  EXPECT_TRUE(t.saw(R"("recovered":true)")) << t.all();
  // With the stream's epoch the client is known to hold it: nothing is sent.
  t.send(R"({"unsubscribe":{"channel":"cache:a"},"id":3})");
  t.written.clear();
  t.send(R"({"subscribe":{"channel":"cache:a","recover":true,"offset":2,"epoch":")" + epoch +
         R"("},"id":4})");
  EXPECT_TRUE(t.saw(R"("recovered":true)")) << t.all();
  EXPECT_FALSE(t.saw(R"("publications")")) << t.all();
}

// ---- refresh and sub_refresh without expiry ----

TEST_F(conformance, refresh_of_a_connection_without_expiry_takes_a_valid_token) {
  fake_transport& t = connect_token(R"({"sub":"u1"})");
  ASSERT_TRUE(t.client().connected()) << t.all();
  EXPECT_FALSE(t.saw(R"("expires")")) << t.all();
  t.send(R"({"refresh":{"token":")" +
         token(R"({"sub":"u1","exp":)" + std::to_string(now_s + 600) + "}") + R"("},"id":2})");
  EXPECT_TRUE(t.saw(R"({"id":2,"refresh":{"expires":true,"ttl":600}})")) << t.all();
  EXPECT_EQ(t.close_code, 0u);
  // Without expiry in the new token either: accepted, nothing expires.
  t.send(R"({"refresh":{"token":")" + token(R"({"sub":"u1"})") + R"("},"id":3})");
  EXPECT_TRUE(t.saw(R"({"id":3,"refresh":{}})")) << t.all();
  // The connection now never expires.
  clock_.advance_ms(700'000);
  node_->shard_at(0).tick(clock_.now_mono_ms());
  EXPECT_EQ(t.close_code, 0u) << t.all();
  // Still refused: an empty token (3501).
  t.send(R"({"refresh":{},"id":4})");
  EXPECT_EQ(t.close_code, disconnects::bad_request.code);
}

TEST_F(conformance, sub_refresh_of_a_subscription_without_expiry_takes_a_valid_token) {
  fake_transport& t = connect_token(R"({"sub":"u1"})");
  t.send(R"({"subscribe":{"channel":"plain"},"id":2})");
  ASSERT_TRUE(t.saw(R"({"id":2,"subscribe":{}})")) << t.all();
  t.send(R"({"sub_refresh":{"channel":"plain","token":")" +
         token(R"({"sub":"u1","channel":"plain","exp":)" + std::to_string(now_s + 300) + "}") +
         R"("},"id":3})");
  EXPECT_TRUE(t.saw(R"({"id":3,"sub_refresh":{"expires":true,"ttl":300}})")) << t.all();
  EXPECT_EQ(t.close_code, 0u);
}

TEST_F(conformance, sub_refresh_of_a_server_side_subscription_is_3501) {
  fake_transport& t = connect_token(R"({"sub":"u1","channels":["plain"]})");
  ASSERT_TRUE(t.client().is_subscribed("plain")) << t.all();
  t.send(R"({"sub_refresh":{"channel":"plain","token":")" +
         token(R"({"sub":"u1","channel":"plain"})") + R"("},"id":2})");
  EXPECT_EQ(t.close_code, disconnects::bad_request.code) << t.all();
}

// ---- subscription token for an unknown namespace ----

TEST_F(conformance, a_subscription_token_for_an_unknown_namespace_is_102_and_the_connection_stays) {
  fake_transport& t = connect();
  for (const std::string ch : {"nope:x", "$nope:y"}) {
    t.written.clear();
    t.send(R"({"subscribe":{"channel":")" + ch + R"(","token":")" +
           token(R"({"sub":"","channel":")" + ch + R"("})") + R"("},"id":2})");
    EXPECT_TRUE(t.saw(R"({"id":2,"error":{"code":102,"message":"unknown channel"}})")) << t.all();
    EXPECT_EQ(t.close_code, 0u) << ch;
  }
}

// ---- b64data that is not JSON ----

TEST_F(conformance, subscription_token_b64data_that_is_not_json_is_refused_on_json_only) {
  const std::string bad = base64_encode(std::string("\xff\x01not json", 10));
  const std::string sub = token(R"({"sub":"","channel":"closed:x","b64data":")" + bad + "\"}");
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"closed:x","token":")" + sub + R"("},"id":2})");
  EXPECT_TRUE(t.saw(R"({"id":2,"error":{"code":103,"message":"permission denied"}})")) << t.all();
  EXPECT_FALSE(t.client().is_subscribed("closed:x"));
  // The connection goes on serving, later commands in the same frame included.
  t.send(R"({"subscribe":{"channel":"plain"},"id":3}
{"subscribe":{"channel":"closed:x","token":")" +
         token(R"({"sub":"","channel":"closed:x","b64data":")" + base64_encode(R"({"ok":1})") +
               "\"}") +
         R"("},"id":4})");
  EXPECT_TRUE(t.saw(R"({"id":3,"subscribe":{}})")) << t.all();
  EXPECT_TRUE(t.saw(R"({"id":4,"subscribe":{"data":{"ok":1}}})")) << t.all();
  EXPECT_EQ(t.close_code, 0u);
}

TEST_F(conformance, connection_token_subs_b64data_that_is_not_json_is_an_invalid_token_on_json) {
  const std::string bad = base64_encode(std::string("\xff\x01not json", 10));
  fake_transport& t =
      connect_token(R"({"sub":"u1","subs":{"plain":{"b64data":")" + bad + R"("}}})");
  EXPECT_EQ(t.close_code, disconnects::invalid_token.code) << t.all();
}

// ---- connect.subs ----

TEST_F(conformance, connect_subs_become_server_side_subscriptions_where_the_client_may_subscribe) {
  fake_transport& t = connect_with(
      R"({"subs":{"plain":{},"hist:a":{},"closed:b":{},"$priv":{},"users:#u1":{},"users:#u2":{}}})");
  ASSERT_TRUE(t.client().connected()) << t.all();
  EXPECT_TRUE(t.client().is_subscribed("plain"));
  EXPECT_TRUE(t.client().is_subscribed("hist:a"));
  EXPECT_FALSE(t.client().is_subscribed("closed:b"));
  EXPECT_FALSE(t.client().is_subscribed("$priv"));
  EXPECT_FALSE(t.client().is_subscribed("users:#u1"));  // anonymous: not listed
  EXPECT_TRUE(t.saw(R"("subs":{)")) << t.all();
  EXPECT_TRUE(t.saw(R"("hist:a":{"recoverable":true,"epoch":")")) << t.all();
  // Publications reach them as server-side subscriptions (no client subscribe needed).
  ASSERT_TRUE(publish("plain", R"({"n":1})"));
  drain();
  EXPECT_TRUE(t.saw(R"({"push":{"channel":"plain","pub":{"data":{"n":1}}}})")) << t.all();
  // A user-limited channel that lists the user.
  fake_transport& u =
      connect_token(R"({"sub":"u1"})", R"(,"subs":{"users:#u1":{},"users:#u2":{}})");
  EXPECT_TRUE(u.client().is_subscribed("users:#u1")) << u.all();
  EXPECT_FALSE(u.client().is_subscribed("users:#u2")) << u.all();
}

TEST_F(conformance, connect_subs_in_an_unknown_namespace_is_3501) {
  fake_transport& t = connect_with(R"({"subs":{"plain":{},"nope:x":{}}})");
  EXPECT_EQ(t.close_code, disconnects::bad_request.code) << t.all();
  EXPECT_FALSE(t.client().connected());
}

TEST_F(conformance, connect_subs_over_the_channel_limit_is_3505) {
  std::string subs;
  for (int i = 0; i < 129; ++i) subs += (i ? "," : "") + ("\"c" + std::to_string(i) + "\":{}");
  fake_transport& t = connect_with(R"({"subs":{)" + subs + "}}");
  EXPECT_EQ(t.close_code, disconnects::channel_limit.code) << t.all();
}

TEST_F(conformance, connect_subs_recover_from_the_position_the_client_sends) {
  auto first = publish_in("hist", "hist:r", "1");
  ASSERT_TRUE(first);
  ASSERT_TRUE(publish_in("hist", "hist:r", "2"));
  ASSERT_TRUE(publish_in("hist", "hist:r", "3"));
  fake_transport& t = connect_with(R"({"subs":{"hist:r":{"recover":true,"offset":1,"epoch":")" +
                                   first->position.epoch + R"("}}})");
  EXPECT_TRUE(t.saw(R"("publications":[{"data":2,"offset":2},{"data":3,"offset":3}])")) << t.all();
  EXPECT_TRUE(t.saw(R"("recovered":true)")) << t.all();
  EXPECT_TRUE(t.saw(R"("was_recovering":true)")) << t.all();
  // Options other than the position are not taken from connect.subs (positioning,
  // recoverable, join_leave are the namespace's).
  fake_transport& p =
      connect_with(R"({"subs":{"nohist:z":{"positioned":true,"recoverable":true}}})");
  EXPECT_TRUE(p.client().is_subscribed("nohist:z"));
  EXPECT_FALSE(p.saw(R"("positioned")")) << p.all();
}

// Centrifugo takes `delta` from the entry too: fossil where the namespace allows it.
TEST_F(conformance, connect_subs_negotiate_delta_where_the_namespace_allows_it) {
  fake_transport& t =
      connect_with(R"({"subs":{"hist:d":{"delta":"fossil"},"plain":{"delta":"fossil"}}})");
  ASSERT_TRUE(t.client().is_subscribed("hist:d")) << t.all();
  EXPECT_TRUE(t.saw(R"("delta":true)")) << t.all();
  const std::string all = t.all();
  const auto plain = all.find(R"("plain":{)");
  ASSERT_NE(plain, std::string::npos) << all;
  EXPECT_EQ(all.find(R"("delta")", plain), std::string::npos) << "no fossil in plain: " << all;
}

TEST_F(conformance, connect_subs_with_a_header_identity_are_not_subscribed) {
  config::config c = make_config();
  c.client_.allow_anonymous_connect_without_token_ = false;
  c.client_.user_id_http_header_ = "X-User";
  start(c);
  transports_.push_back(
      std::make_unique<fake_transport>(node_->shard_at(0), protocol::encoding::json));
  fake_transport& t = *transports_.back();
  t.header = "u1";
  t.send(R"({"connect":{"subs":{"plain":{}}},"id":1})");
  ASSERT_TRUE(t.client().connected()) << t.all();
  EXPECT_FALSE(t.client().is_subscribed("plain"));
}

TEST_F(conformance, connect_subs_are_not_token_channels_for_refresh) {
  fake_transport& t = connect_token(
      R"({"sub":"u1","channels":["hist:t"],"exp":)" + std::to_string(now_s + 100) + "}",
      R"(,"subs":{"plain":{}})");
  ASSERT_TRUE(t.client().is_subscribed("plain")) << t.all();
  ASSERT_TRUE(t.client().is_subscribed("hist:t")) << t.all();
  t.send(R"({"refresh":{"token":")" +
         token(R"({"sub":"u1","channels":["hist:t"],"exp":)" + std::to_string(now_s + 600) + "}") +
         R"("},"id":2})");
  EXPECT_TRUE(t.saw(R"({"id":2,"refresh":{"expires":true,"ttl":600}})")) << t.all();
  EXPECT_EQ(t.close_code, 0u);
}

}  // namespace
}  // namespace gyre::testing
