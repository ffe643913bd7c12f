// reload_plan: which keys a reload changes and which of them are refused.
#include "config/reload_plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gyre::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

channel_namespace ns(std::string name, int64_t history_size = 0) {
  channel_namespace n;
  n.name_ = std::move(name);
  n.history_size_ = history_size;
  return n;
}

TEST(ReloadPlan, SameConfigChangesNothing) {
  config c;
  c.channel_.namespaces_.push_back(ns("news"));
  auto p = plan_reload(c, c);
  EXPECT_THAT(p.changed, IsEmpty());
  EXPECT_TRUE(p.allowed());
}

TEST(ReloadPlan, ReloadableKeysAreAllowed) {
  config a;
  a.client_.token_.hmac_secret_key_ = "old";
  a.channel_.namespaces_ = {ns("news"), ns("chat")};
  config b = a;
  b.client_.token_.hmac_secret_key_ = "new";
  b.client_.channel_limit_ = 2;
  b.client_.allowed_origins_ = {"http://a.example"};
  b.log_.level_ = "debug";
  b.channel_.namespaces_ = {ns("chat", 10), ns("news"), ns("extra")};
  auto p = plan_reload(a, b);
  EXPECT_THAT(p.changed, ElementsAre("log.level", "client.allowed_origins",
                                     "client.token.hmac_secret_key", "client.channel_limit",
                                     "channel.namespaces[chat]", "channel.namespaces[extra]"));
  EXPECT_TRUE(p.allowed()) << p.refused.front();
}

TEST(ReloadPlan, RemovedNamespaceIsNamed) {
  config a;
  a.channel_.namespaces_ = {ns("news"), ns("chat")};
  config b = a;
  b.channel_.namespaces_ = {ns("chat")};
  EXPECT_THAT(plan_reload(a, b).changed, ElementsAre("channel.namespaces[news]"));
}

TEST(ReloadPlan, ReorderedNamespacesAreAChange) {
  config a;
  a.channel_.namespaces_ = {ns("news"), ns("chat")};
  config b = a;
  std::swap(b.channel_.namespaces_[0], b.channel_.namespaces_[1]);
  auto p = plan_reload(a, b);
  EXPECT_THAT(p.changed, ElementsAre("channel.namespaces"));
  EXPECT_TRUE(p.allowed());
}

TEST(ReloadPlan, ListenerEngineAndLoopsAreRefused) {
  config a;
  config b = a;
  b.http_server_.port_ = 9001;
  b.engine_.type_ = "redis";
  b.gyre_.num_event_loops_ = 3;
  b.client_.channel_limit_ = 5;  // reloadable, but the whole reload is refused
  auto p = plan_reload(a, b);
  EXPECT_FALSE(p.allowed());
  EXPECT_THAT(p.refused,
              ElementsAre("http_server.port (needs a restart)", "engine.type (needs a restart)",
                          "gyre.num_event_loops (needs a restart)"));
}

TEST(ReloadPlan, RedisAddressIsRefused) {
  config a;
  config b = a;
  b.engine_.redis_.address_ = {"redis://127.0.0.1:6380"};
  EXPECT_THAT(plan_reload(a, b).refused, ElementsAre("engine.redis.address (needs a restart)"));
}

TEST(ReloadPlan, UserConnectionLimitValueReloadsButNotOnOff) {
  config a;
  a.client_.user_connection_limit_ = 2;
  config b = a;
  b.client_.user_connection_limit_ = 5;
  EXPECT_TRUE(plan_reload(a, b).allowed());
  b.client_.user_connection_limit_ = 0;
  EXPECT_THAT(plan_reload(a, b).refused,
              ElementsAre("client.user_connection_limit (turning the limit on or off needs a "
                          "restart)"));
  EXPECT_FALSE(plan_reload(b, a).allowed());
}

TEST(ReloadPlan, PingIntervalIsRefusedPongTimeoutIsNot) {
  // Connected clients were told the ping interval in their connect reply.
  config a;
  config b = a;
  b.client_.pong_timeout_ = std::chrono::seconds(5);
  EXPECT_TRUE(plan_reload(a, b).allowed());
  b.client_.ping_interval_ = std::chrono::seconds(40);
  EXPECT_THAT(plan_reload(a, b).refused, ElementsAre("client.ping_interval (needs a restart)"));
}

TEST(ReloadPlan, AllowList) {
  EXPECT_TRUE(reloadable_key("channel.without_namespace.presence"));
  EXPECT_TRUE(reloadable_key("channel.namespaces[x]"));
  EXPECT_TRUE(reloadable_key("client.token"));
  EXPECT_TRUE(reloadable_key("proxies[auth]"));
  EXPECT_FALSE(reloadable_key("client.tokenx"));  // a prefix only up to '.' or '['
  EXPECT_FALSE(reloadable_key("log.file"));
  EXPECT_FALSE(reloadable_key("websocket.message_size_limit"));
  EXPECT_FALSE(reloadable_key("consumers[kafka]"));
  EXPECT_FALSE(reloadable_key("http_api.key"));
  EXPECT_FALSE(reloadable_key("broker.type"));
  EXPECT_FALSE(reloadable_key("presence_manager.redis.address"));
  EXPECT_FALSE(reloadable_key("node.name"));
  EXPECT_FALSE(reloadable_key("pid_file"));
}

}  // namespace
}  // namespace gyre::config
