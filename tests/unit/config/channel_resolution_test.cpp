#include "config/channel_resolution.hpp"

#include <gtest/gtest.h>

#include "config/config_test_util.hpp"

namespace gyre::config {
namespace {

using namespace std::chrono_literals;

config sample() {
  auto o = test::text_options();
  o.use_env_ = false;
  auto r = test::load_json(R"({
    "channel": {"publication_data_format": "json",
                "without_namespace": {"presence": true},
                "namespaces": [{"name": "chat", "history_size": 5, "history_ttl": "60s",
                                "history_meta_ttl": "2h"},
                               {"name": "news", "publication_data_format": "binary"}]},
    "rpc": {"namespaces": [{"name": "users", "proxy_enabled": true}]}
  })",
                           o);
  EXPECT_TRUE(r.ok()) << r.error_;
  return r.config_;
}

TEST(channel_resolution, finds_namespaces_by_exact_name) {
  config c = sample();
  ASSERT_NE(find_namespace(c, "chat"), nullptr);
  EXPECT_EQ(find_namespace(c, "chat")->history_size_, 5);
  EXPECT_EQ(find_namespace(c, "Chat"), nullptr);
  EXPECT_EQ(find_namespace(c, ""), nullptr);
  EXPECT_EQ(find_channel_options(c, ""), &c.channel_.without_namespace_);
  EXPECT_EQ(find_channel_options(c, "news"), find_namespace(c, "news"));
  EXPECT_EQ(find_channel_options(c, "nope"), nullptr);
}

TEST(channel_resolution, resolves_channel_names) {
  config c = sample();
  struct tc {
    const char* channel;
    const char* ns;
  };
  for (tc t : {tc{"room", ""}, tc{"chat:room", "chat"}, tc{"$chat:room", "chat"},
               tc{"chat:room:sub", "chat"}, tc{"chat:room#42,43", "chat"}, tc{"news:$x", "news"},
               tc{":x", ""}, tc{"$room", ""}, tc{"#42", ""}}) {
    auto r = resolve_channel(c, t.channel);
    ASSERT_TRUE(r) << t.channel;
    EXPECT_EQ(r->namespace_name_, t.ns) << t.channel;
    EXPECT_EQ(r->options_, find_channel_options(c, t.ns)) << t.channel;
  }
  EXPECT_FALSE(resolve_channel(c, "unknown:room"));  // → error 102
  EXPECT_FALSE(resolve_channel(c, "$unknown:room"));
  EXPECT_FALSE(resolve_channel(c, "$$chat:room"));  // only one prefix is stripped
}

TEST(channel_resolution, honours_custom_boundaries) {
  config c = sample();
  c.channel_.namespace_boundary_ = "/";
  c.channel_.private_prefix_ = "private-";
  EXPECT_EQ(resolve_channel(c, "private-chat/room")->namespace_name_, "chat");
  EXPECT_EQ(resolve_channel(c, "chat:room")->namespace_name_, "");
  EXPECT_TRUE(is_private_channel(c.channel_, "private-x"));
  EXPECT_FALSE(is_private_channel(c.channel_, "$x"));
}

TEST(channel_resolution, fallbacks_to_channel_level_values) {
  config c = sample();
  const auto& ch = c.channel_;
  EXPECT_EQ(effective_publication_data_format(ch, *find_namespace(c, "chat")), "json");
  EXPECT_EQ(effective_publication_data_format(ch, *find_namespace(c, "news")), "binary");
  EXPECT_EQ(effective_history_meta_ttl(ch, *find_namespace(c, "chat")), 2h);
  EXPECT_EQ(effective_history_meta_ttl(ch, *find_namespace(c, "news")), 720h);
}

TEST(channel_resolution, personal_channel) {
  config c = sample();
  EXPECT_EQ(personal_channel(c, "42"), "#42");
  c.client_.subscribe_to_user_personal_channel_.personal_channel_namespace_ = "personal";
  EXPECT_EQ(personal_channel(c, "42"), "personal:#42");
}

TEST(channel_resolution, rpc_methods) {
  config c = sample();
  EXPECT_EQ(resolve_rpc_method(c.rpc_, "getUser"), &c.rpc_.without_namespace_);
  ASSERT_NE(resolve_rpc_method(c.rpc_, "users:get"), nullptr);
  EXPECT_TRUE(resolve_rpc_method(c.rpc_, "users:get")->proxy_enabled_);
  EXPECT_EQ(resolve_rpc_method(c.rpc_, "orders:get"), nullptr);  // → error 104
  EXPECT_EQ(resolve_rpc_method(c.rpc_, ":get"), &c.rpc_.without_namespace_);
}

}  // namespace
}  // namespace gyre::config
