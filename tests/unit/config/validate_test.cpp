#include "config/validate.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config_test_util.hpp"
#include "core/go_regex.hpp"

namespace gyre::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Loads JSON (env ignored) and returns the validation errors.
std::vector<std::string> errors_of(const std::string& json) {
  auto o = test::text_options();
  o.use_env_ = false;
  auto r = test::load_json(json, o);
  EXPECT_TRUE(r.ok()) << r.error_;
  EXPECT_THAT(r.unknown_keys_, IsEmpty());
  return validate(r.config_);
}

// Exactly one error, for `key`, mentioning `text`.
void expect_single_error(const std::string& json, const std::string& key, const std::string& text) {
  auto errs = errors_of(json);
  ASSERT_EQ(errs.size(), 1u) << ::testing::PrintToString(errs);
  EXPECT_THAT(errs[0], StartsWith(key + ": "));
  EXPECT_THAT(errs[0], HasSubstr(text));
}

// A namespace item with the given extra JSON members.
std::string ns(const std::string& members) {
  return R"({"channel": {"namespaces": [{"name": "chat")" +
         (members.empty() ? "" : ", " + members) + "}]}}";
}

TEST(validate, defaults_are_valid) {
  EXPECT_THAT(validate(config{}), IsEmpty());
}

TEST(validate, position_check_batch_size_is_positive) {
  expect_single_error(R"({"gyre": {"position_check_batch_size": -5}})",
                      "gyre.position_check_batch_size", "must be at least 1");
  EXPECT_THAT(errors_of(R"({"gyre": {"position_check_batch_size": 1}})"), IsEmpty());
}

TEST(validate, websocket_compression_level_and_sizes) {
  expect_single_error(R"({"websocket": {"compression": true, "compression_level": 10}})",
                      "websocket.compression_level", "must be between -2 and 9");
  expect_single_error(R"({"websocket": {"compression_level": -3}})", "websocket.compression_level",
                      "must be between -2 and 9");
  expect_single_error(R"({"websocket": {"compression_min_size": -1}})",
                      "websocket.compression_min_size", "");
  for (const char* ok : {R"({"websocket": {"compression": true, "compression_level": -2}})",
                         R"({"websocket": {"compression": true, "compression_level": 9}})"})
    EXPECT_THAT(errors_of(ok), IsEmpty());
}

TEST(validate, history_size_and_ttl_go_together) {
  expect_single_error(ns(R"("history_size": 10)"), "channel.namespaces[0].history_ttl",
                      "must be set when history_size is set");
  expect_single_error(ns(R"("history_ttl": "10s")"), "channel.namespaces[0].history_size",
                      "must be set when history_ttl is set");
  EXPECT_THAT(errors_of(ns(R"("history_size": 10, "history_ttl": "10s")")), IsEmpty());
  expect_single_error(R"({"channel": {"without_namespace": {"history_size": 3}}})",
                      "channel.without_namespace.history_ttl", "both or neither");
  expect_single_error(ns(R"("history_size": -1)"), "channel.namespaces[0].history_size",
                      "must not be negative");
}

TEST(validate, history_ttls_are_whole_seconds) {
  expect_single_error(ns(R"("history_size": 1, "history_ttl": "1.5s")"),
                      "channel.namespaces[0].history_ttl", "must be whole seconds, got 1.5s");
  expect_single_error(
      ns(R"("history_size": 1, "history_ttl": "10s", "history_meta_ttl": "100500ms")"),
      "channel.namespaces[0].history_meta_ttl", "whole seconds");
  expect_single_error(R"({"channel": {"history_meta_ttl": "1h0.5s"}})", "channel.history_meta_ttl",
                      "whole seconds");
  // A bare number is nanoseconds, so it fails the whole-seconds rule.
  expect_single_error(ns(R"("history_size": 1, "history_ttl": 300)"),
                      "channel.namespaces[0].history_ttl",
                      "whole seconds, got 300ns (a bare number means nanoseconds");
}

TEST(validate, meta_ttl_not_below_history_ttl) {
  expect_single_error(ns(R"("history_size": 1, "history_ttl": "60s", "history_meta_ttl": "30s")"),
                      "channel.namespaces[0].history_meta_ttl", "must be >= history_ttl");
  expect_single_error(R"({"channel": {"history_meta_ttl": "10s",
                          "namespaces": [{"name": "chat", "history_size": 1, "history_ttl": "60s"}]}})",
                      "channel.namespaces[0].history_ttl", "exceeds channel.history_meta_ttl");
  EXPECT_THAT(
      errors_of(ns(R"("history_size": 1, "history_ttl": "60s", "history_meta_ttl": "60s")")),
      IsEmpty());
}

// Centrifugo refuses force_recovery without history but accepts force_positioning: the
// subscription is positioned on a stream that only has its epoch.
TEST(validate, recovery_needs_history_positioning_does_not) {
  expect_single_error(ns(R"("force_recovery": true)"), "channel.namespaces[0].force_recovery",
                      "requires history");
  EXPECT_THAT(errors_of(ns(R"("force_positioning": true)")), IsEmpty());
}

TEST(validate, conflation_needs_history) {
  expect_single_error(ns(R"("gyre_conflation": true)"), "channel.namespaces[0].gyre_conflation",
                      "requires history");
  expect_single_error(R"({"channel": {"without_namespace": {"gyre_conflation": true}}})",
                      "channel.without_namespace.gyre_conflation", "requires history");
  EXPECT_THAT(errors_of(ns(R"("gyre_conflation": true, "history_size": 10, "history_ttl": "60s")")),
              IsEmpty());
  EXPECT_THAT(errors_of(ns(R"("gyre_conflation": false)")), IsEmpty());
}

TEST(validate, recovery_mode_delta_types_and_data_format) {
  expect_single_error(ns(R"("force_recovery_mode": "memory")"),
                      "channel.namespaces[0].force_recovery_mode", "unknown value \"memory\"");
  EXPECT_THAT(errors_of(ns(R"("force_recovery_mode": "cache")")), IsEmpty());
  expect_single_error(ns(R"("allowed_delta_types": ["fossil", "xdelta"])"),
                      "channel.namespaces[0].allowed_delta_types[1]",
                      "unknown delta type \"xdelta\"");
  expect_single_error(ns(R"("publication_data_format": "xml")"),
                      "channel.namespaces[0].publication_data_format", "unknown value \"xml\"");
  expect_single_error(R"({"channel": {"publication_data_format": "text"}})",
                      "channel.publication_data_format", "unknown value \"text\"");
  EXPECT_THAT(errors_of(ns(R"("publication_data_format": "json_object")")), IsEmpty());
}

TEST(validate, auto_cache_recover_needs_forced_cache_recovery) {
  const std::string history = R"("history_size": 1, "history_ttl": "60s", )";
  expect_single_error(ns(history + R"("auto_cache_recover": true, "force_recovery": true)"),
                      "channel.namespaces[0].auto_cache_recover", "force_recovery_mode \"cache\"");
  expect_single_error(ns(history + R"("auto_cache_recover": true, "force_recovery_mode": "cache")"),
                      "channel.namespaces[0].auto_cache_recover", "requires force_recovery");
  EXPECT_THAT(errors_of(ns(history + R"("auto_cache_recover": true, "force_recovery": true,
                                        "force_recovery_mode": "cache")")),
              IsEmpty());
}

TEST(validate, namespace_names) {
  expect_single_error(R"({"channel": {"namespaces": [{"name": "a"}]}})",
                      "channel.namespaces[0].name", "invalid namespace name \"a\"");
  expect_single_error(R"({"channel": {"namespaces": [{"name": "bad name"}]}})",
                      "channel.namespaces[0].name", "must match ^[-a-zA-Z0-9_.]{2,}$");
  expect_single_error(R"({"channel": {"namespaces": [{"name": "chat"}, {"name": "chat"}]}})",
                      "channel.namespaces[1].name", "duplicate namespace name \"chat\"");
  EXPECT_THAT(errors_of(R"({"channel": {"namespaces": [{"name": "a-b_c.d"}, {"name": "42"}]}})"),
              IsEmpty());
  EXPECT_TRUE(is_valid_namespace_name("ab"));
  EXPECT_FALSE(is_valid_namespace_name("a:b"));
  EXPECT_FALSE(is_valid_namespace_name("\xc3\xa9t\xc3\xa9"));
}

TEST(validate, channel_regex_compiles_with_re2_syntax) {
  expect_single_error(ns(R"("channel_regex": "^[a-z")"), "channel.namespaces[0].channel_regex",
                      "invalid regular expression");
  // Go/RE2 syntax that std::regex would reject is fine.
  EXPECT_THAT(errors_of(ns(R"("channel_regex": "(?i)^(?P<room>[a-z0-9]+)$")")), IsEmpty());
}

// Every regex option is judged by the one compile the token verifier and channel rules
// use (core/go_regex.hpp): Go syntax, including Go 1.22's (?<name>...) spelling that plain
// RE2 rejected here while the verifier accepted it.
TEST(validate, regex_options_accept_exactly_go_syntax) {
  const std::pair<const char*, bool> cases[] = {
      {R"(^(?<tenant>[a-z]+)\.example$)", true},
      {R"(^(?P<tenant>[a-z]+)$)", true},
      {R"(^app-(?i)PROD$)", true},
      {R"(^\pL+$)", true},
      {R"(^(a)\1$)", false},
      {R"(a(?=b))", false},
      {R"((?<=a)b)", false},
      {R"(^[a-z)", false},
  };
  for (const auto& [pattern, valid] : cases) {
    std::string p;  // as a JSON string body
    for (const char* c = pattern; *c; ++c)
      p += *c == '\\' ? std::string("\\\\") : std::string(1, *c);
    for (const std::string& json :
         {ns(R"("channel_regex": ")" + p + "\""),
          R"({"client": {"token": {"issuer_regex": ")" + p + R"("}}})",
          R"({"client": {"token": {"audience_regex": ")" + p + R"("}}})",
          R"({"client": {"subscription_token": {"enabled": true, "issuer_regex": ")" + p +
              R"("}}})"}) {
      auto errs = errors_of(json);
      EXPECT_EQ(errs.empty(), valid) << json << " " << ::testing::PrintToString(errs);
      EXPECT_EQ(errs.empty(), go_regex(pattern).ok()) << json;
    }
  }
}

TEST(validate, ping_interval_greater_than_pong_timeout) {
  expect_single_error(R"({"client": {"ping_interval": "5s", "pong_timeout": "5s"}})",
                      "client.ping_interval", "must be greater than client.pong_timeout");
  expect_single_error(R"({"client": {"pong_timeout": "30s"}})", "client.ping_interval",
                      "25s <= 30s");
}

TEST(validate, token_settings) {
  expect_single_error(R"({"client": {"token": {"user_id_claim": "user-id"}}})",
                      "client.token.user_id_claim", "^[a-zA-Z_]+$");
  EXPECT_THAT(errors_of(R"({"client": {"token": {"user_id_claim": "user_id"}}})"), IsEmpty());
  expect_single_error(R"({"client": {"token": {"audience": "a", "audience_regex": "^a$"}}})",
                      "client.token.audience_regex",
                      "cannot be used together with client.token.audience");
  expect_single_error(R"({"client": {"token": {"issuer": "i", "issuer_regex": "^i$"}}})",
                      "client.token.issuer_regex",
                      "cannot be used together with client.token.issuer");
  expect_single_error(R"({"client": {"token": {"issuer_regex": "(unclosed"}}})",
                      "client.token.issuer_regex", "invalid regular expression");
  // The subscription token block is checked when enabled.
  EXPECT_THAT(errors_of(R"({"client": {"subscription_token": {"user_id_claim": "1"}}})"),
              IsEmpty());
  expect_single_error(
      R"({"client": {"subscription_token": {"enabled": true, "user_id_claim": "1"}}})",
      "client.subscription_token.user_id_claim", "must match");
}

TEST(validate, jwks_endpoint_templates) {
  EXPECT_THAT(errors_of(R"({"client": {"token": {
      "jwks_public_endpoint": "https://auth.example.com/{{tenant}}/jwks",
      "issuer_regex": "^https://auth\\.example\\.com/(?P<tenant>acme|globex)$"}}})"),
              IsEmpty());
  expect_single_error(R"({"client": {"token": {
      "jwks_public_endpoint": "https://auth.example.com/{{tenant}}/jwks",
      "issuer_regex": "^https://auth\\.example\\.com/(?P<tenant>[a-z]+)$"}}})",
                      "client.token.jwks_public_endpoint", "not a literal alternation");
  EXPECT_THAT(errors_of(R"({"client": {"token": {
      "jwks_public_endpoint": "https://auth.example.com/{{tenant}}/jwks",
      "audience_regex": "^(?P<tenant>.+)$", "insecure_skip_jwks_endpoint_safety_check": true}}})"),
              IsEmpty());
  expect_single_error(R"({"client": {"token": {
      "jwks_public_endpoint": "https://auth.example.com/{{tenant}}/jwks"}}})",
                      "client.token.jwks_public_endpoint", "has no named group");
  expect_single_error(R"({"client": {"token": {"jwks_public_endpoint": "ftp://x/jwks"}}})",
                      "client.token.jwks_public_endpoint", "http:// or https://");
  // Never in the host, even with a literal alternation or the safety check off.
  expect_single_error(R"({"client": {"token": {
      "jwks_public_endpoint": "https://{{tenant}}.example.com/jwks",
      "issuer_regex": "^(?P<tenant>acme|globex)$"}}})",
                      "client.token.jwks_public_endpoint", "only allowed in the path");
  expect_single_error(R"({"client": {"token": {
      "jwks_public_endpoint": "https://auth.example.com:{{p}}/jwks",
      "issuer_regex": "^(?P<p>.+)$", "insecure_skip_jwks_endpoint_safety_check": true}}})",
                      "client.token.jwks_public_endpoint", "only allowed in the path");
}

TEST(validate, personal_channel_namespace) {
  const std::string base =
      R"({"client": {"subscribe_to_user_personal_channel": {"enabled": true, )";
  expect_single_error(base + R"("personal_channel_namespace": "personal"}}})",
                      "client.subscribe_to_user_personal_channel.personal_channel_namespace",
                      "namespace \"personal\" is not defined");
  expect_single_error(
      base + R"("personal_channel_namespace": "personal", "single_connection": true}},
                      "channel": {"namespaces": [{"name": "personal"}]}})",
      "client.subscribe_to_user_personal_channel.single_connection",
      "requires presence enabled on namespace \"personal\"");
  EXPECT_THAT(
      errors_of(base + R"("personal_channel_namespace": "personal", "single_connection": true}},
                      "channel": {"namespaces": [{"name": "personal", "presence": true}]}})"),
      IsEmpty());
  expect_single_error(base + R"("single_connection": true}}})",
                      "client.subscribe_to_user_personal_channel.single_connection",
                      "channel.without_namespace");
  // Not enabled: not checked.
  EXPECT_THAT(errors_of(R"({"client": {"subscribe_to_user_personal_channel":
                          {"personal_channel_namespace": "nope"}}})"),
              IsEmpty());
}

TEST(validate, api_error_modes) {
  expect_single_error(R"({"http_api": {"error_mode": "http"}})", "http_api.error_mode",
                      "unknown value \"http\"");
  expect_single_error(R"({"grpc_api": {"error_mode": "x"}})", "grpc_api.error_mode",
                      "\"transport\"");
  EXPECT_THAT(errors_of(R"({"http_api": {"error_mode": "transport"}})"), IsEmpty());
}

TEST(validate, gyre_http_limits_are_not_negative) {
  expect_single_error(R"({"gyre": {"http_api": {"max_batch_commands": -1}}})",
                      "gyre.http_api.max_batch_commands", "must not be negative");
  expect_single_error(R"({"gyre": {"http_api": {"max_response_size": -5}}})",
                      "gyre.http_api.max_response_size", "must not be negative");
  expect_single_error(R"({"gyre": {"http_api": {"max_request_body_size": -5}}})",
                      "gyre.http_api.max_request_body_size", "must not be negative");
  expect_single_error(R"({"gyre": {"http_server": {"max_header_size": 5000000000}}})",
                      "gyre.http_server.max_header_size", "at most");
  EXPECT_THAT(
      errors_of(R"({"gyre": {"http_api": {"max_batch_commands": 5, "max_response_size": 1000,
                                                   "max_request_body_size": 100},
                                      "http_server": {"max_header_size": 65536}}})"),
      IsEmpty());
}

TEST(validate, engine_and_broker_types) {
  expect_single_error(R"({"engine": {"type": "tarantool"}})", "engine.type",
                      "unknown value \"tarantool\"");
  expect_single_error(R"({"broker": {"enabled": true, "type": "kafka"}})", "broker.type",
                      "unknown value \"kafka\"");
  expect_single_error(R"({"presence_manager": {"type": "nats"}})", "presence_manager.type",
                      "unknown value \"nats\"");
  expect_single_error(R"({"map_broker": {"type": "nats"}})", "map_broker.type", "unknown value");
  expect_single_error(R"({"broker": {"enabled": true, "type": "redisnats"}})", "broker.type",
                      "requires enable_unreleased_features");
  EXPECT_THAT(errors_of(R"({"broker": {"enabled": true, "type": "redisnats"},
                           "enable_unreleased_features": true})"),
              IsEmpty());
  expect_single_error(R"({"controller": {"enabled": true, "type": "redis"}})", "controller.type",
                      "unknown value");
  expect_single_error(R"({"log": {"level": "verbose"}})", "log.level", "unknown value \"verbose\"");
}

TEST(validate, log_format_and_graphite) {
  expect_single_error(R"({"gyre": {"log_format": "xml"}})", "gyre.log_format",
                      "unknown value \"xml\"");
  expect_single_error(R"({"graphite": {"enabled": true, "port": 70000}})", "graphite.port",
                      "out of range");
  expect_single_error(R"({"graphite": {"enabled": true, "interval": "-1s"}})", "graphite.interval",
                      "must be positive");
  // Only checked when the export is on.
  EXPECT_THAT(errors_of(R"({"graphite": {"port": 70000}})"), IsEmpty());
}

TEST(validate, client_proxies_need_endpoint_and_timeout) {
  expect_single_error(R"({"client": {"proxy": {"connect": {"enabled": true}}}})",
                      "client.proxy.connect.endpoint", "must be set");
  expect_single_error(R"({"client": {"proxy": {"refresh": {"enabled": true, "endpoint": "http://x",
                          "timeout": "-1s"}}}})",
                      "client.proxy.refresh.timeout", "must be positive");
  EXPECT_THAT(errors_of(R"({"client": {"proxy": {"connect": {"enabled": true,
                           "endpoint": "grpc://backend:10001"}}}})"),
              IsEmpty());
}

TEST(validate, referenced_proxies_exist) {
  expect_single_error(ns(R"("subscribe_proxy_enabled": true)"),
                      "channel.namespaces[0].subscribe_proxy_name",
                      "uses the default proxy but channel.proxy.subscribe.endpoint is not set");
  EXPECT_THAT(errors_of(R"({"channel": {"proxy": {"publish": {"endpoint": "http://x"}},
                           "namespaces": [{"name": "chat", "publish_proxy_enabled": true}]}})"),
              IsEmpty());
  expect_single_error(ns(R"("publish_proxy_enabled": true, "publish_proxy_name": "backend")"),
                      "channel.namespaces[0].publish_proxy_name",
                      "proxy \"backend\" is not defined in proxies");
  EXPECT_THAT(errors_of(R"({"proxies": [{"name": "backend", "endpoint": "http://b"}],
                           "channel": {"namespaces": [{"name": "chat", "sub_refresh_proxy_enabled": true,
                                                       "sub_refresh_proxy_name": "backend"}]}})"),
              IsEmpty());
  expect_single_error(R"({"rpc": {"namespaces": [{"name": "users", "proxy_enabled": true,
                          "proxy_name": "nope"}]}})",
                      "rpc.namespaces[0].proxy_name", "proxy \"nope\" is not defined");
  expect_single_error(R"({"rpc": {"without_namespace": {"proxy_enabled": true}}})",
                      "rpc.without_namespace.proxy_name", "rpc.proxy.endpoint is not set");
  // Not enabled: not checked.
  EXPECT_THAT(errors_of(ns(R"("publish_proxy_name": "nope")")), IsEmpty());
}

TEST(validate, subscribe_stream_proxy_is_exclusive) {
  auto errs = errors_of(R"({"channel": {"proxy": {"subscribe": {"endpoint": "http://x"},
                             "subscribe_stream": {"endpoint": "grpc://y"}},
                             "namespaces": [{"name": "chat", "subscribe_proxy_enabled": true,
                                             "subscribe_stream_proxy_enabled": true}]}})");
  ASSERT_EQ(errs.size(), 1u) << ::testing::PrintToString(errs);
  EXPECT_THAT(errs[0], StartsWith("channel.namespaces[0].subscribe_stream_proxy_enabled: "));
}

TEST(validate, named_proxies) {
  expect_single_error(R"({"proxies": [{"name": "default", "endpoint": "http://x"}]})",
                      "proxies[0].name", "reserved");
  expect_single_error(R"({"proxies": [{"name": "x", "endpoint": "http://x"}]})", "proxies[0].name",
                      "invalid proxy name");
  expect_single_error(R"({"proxies": [{"name": "p1", "endpoint": "http://x"},
                          {"name": "p1", "endpoint": "http://y"}]})",
                      "proxies[1].name", "duplicate proxy name");
  expect_single_error(R"({"proxies": [{"name": "p1"}]})", "proxies[0].endpoint", "must be set");
  expect_single_error(R"({"proxies": [{"name": "p1", "endpoint": "http://x", "http":
                          {"status_to_code_transforms": [{"status_code": 404}]}}]})",
                      "proxies[0].http.status_to_code_transforms[0]",
                      "exactly one of to_error and to_disconnect");
  EXPECT_THAT(errors_of(R"({"proxies": [{"name": "p1", "endpoint": "http://x", "http":
                           {"status_to_code_transforms": [{"status_code": 404,
                            "to_disconnect": {"code": 4404, "reason": "not found"}}]}}]})"),
              IsEmpty());
}

TEST(validate, default_proxy_blocks_status_transforms) {
  expect_single_error(R"({"channel": {"proxy": {"subscribe": {"http": {"status_to_code_transforms":
                          [{"status_code": 403, "to_error": {"code": 1403, "message": "forbidden"},
                            "to_disconnect": {"code": 4403}}]}}}}})",
                      "channel.proxy.subscribe.http.status_to_code_transforms[0]", "exactly one");
  expect_single_error(R"({"rpc": {"proxy": {"http": {"status_to_code_transforms":
                          [{"to_error": {"code": 1500}}]}}}})",
                      "rpc.proxy.http.status_to_code_transforms[0].status_code", "must be set");
  expect_single_error(R"({"client": {"proxy": {"connect": {"enabled": true, "endpoint": "http://x",
                          "http": {"status_to_code_transforms": [{"status_code": 500,
                          "to_disconnect": {"code": 4500, "reason": "caf\u00e9"}}]}}}}})",
                      "client.proxy.connect.http.status_to_code_transforms[0].to_disconnect.reason",
                      "must be ASCII");
}

TEST(validate, rpc_namespace_names) {
  expect_single_error(R"({"rpc": {"namespaces": [{"name": "u"}]}})", "rpc.namespaces[0].name",
                      "invalid rpc namespace name");
  expect_single_error(R"({"rpc": {"namespaces": [{"name": "users"}, {"name": "users"}]}})",
                      "rpc.namespaces[1].name", "duplicate");
}

TEST(validate, subscription_types_map_and_shared_poll) {
  expect_single_error(ns(R"("subscription_type": "queue")"),
                      "channel.namespaces[0].subscription_type", "unknown value \"queue\"");
  expect_single_error(ns(R"("subscription_type": "map")"), "channel.namespaces[0].map.mode",
                      "is required");
  expect_single_error(ns(R"("subscription_type": "map", "map": {"mode": "ephemeral"})"),
                      "channel.namespaces[0].map.key_ttl", "must be positive");
  expect_single_error(
      ns(R"("subscription_type": "map", "map": {"mode": "persistent", "key_ttl": "1m"})"),
      "channel.namespaces[0].map.key_ttl", "must be 0");
  expect_single_error(ns(R"("subscription_type": "map_users", "map": {"mode": "persistent"})"),
                      "channel.namespaces[0].map.mode", "not allowed");
  expect_single_error(
      ns(R"("subscription_type": "map", "map": {"mode": "ephemeral", "key_ttl": "1m",
                           "stream_size": 10})"),
      "channel.namespaces[0].map.stream_size", "must be 0");
  EXPECT_THAT(
      errors_of(
          ns(R"("subscription_type": "map", "map": {"mode": "recoverable", "key_ttl": "1m"})")),
      IsEmpty());
  expect_single_error(R"({"channel": {"proxy": {"shared_poll_refresh": {"endpoint": "http://x"}},
                          "namespaces": [{"name": "poll", "subscription_type": "shared_poll"}]}})",
                      "shared_poll.hmac_secret_key", "is required");
  expect_single_error(R"({"shared_poll": {"hmac_secret_key": "k"},
                          "channel": {"namespaces": [{"name": "poll", "subscription_type": "shared_poll"}]}})",
                      "channel.namespaces[0].shared_poll.proxy_name",
                      "channel.proxy.shared_poll_refresh.endpoint is not set");
}

TEST(validate, consumers) {
  expect_single_error(R"({"consumers": [{"name": "my-kafka", "type": "kafka"}]})",
                      "consumers[0].name", "^[a-zA-Z0-9_]{2,}$");
  expect_single_error(R"({"consumers": [{"name": "k1", "type": "rabbitmq"}]})", "consumers[0].type",
                      "unknown value \"rabbitmq\"");
}

TEST(validate, listeners) {
  expect_single_error(R"({"http_server": {"h2c_external": true}})", "http_server.h2c_external",
                      "separate http_server.internal_port");
  expect_single_error(R"({"http_server": {"port": 70000}})", "http_server.port", "out of range");
  expect_single_error(R"({"http_server": {"internal_port": "90a"}})", "http_server.internal_port",
                      "invalid port");
}

TEST(validate, reports_every_error) {
  auto errs = errors_of(R"({"engine": {"type": "x"}, "http_api": {"error_mode": "y"},
                           "channel": {"namespaces": [{"name": "z"}]}})");
  EXPECT_EQ(errs.size(), 3u) << ::testing::PrintToString(errs);
}

}  // namespace
}  // namespace gyre::config
