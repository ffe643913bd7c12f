#include "config/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "config/config_test_util.hpp"
#include "config/validate.hpp"

namespace gyre::config {
namespace {

using namespace std::chrono_literals;
using test::load_json;
using test::scoped_env;
using test::text_options;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The minimal example of configuration.md §6, in the three formats.
constexpr const char* k_spec_json = R"({
  "client": {"token": {"hmac_secret_key": "secret"}, "allowed_origins": ["http://localhost:3000"]},
  "http_api": {"key": "api-key"},
  "admin": {"enabled": true, "password": "p", "secret": "s"},
  "engine": {"type": "redis", "redis": {"address": ["redis://127.0.0.1:6379"]}},
  "channel": {"namespaces": [{"name": "chat", "presence": true, "history_size": 10, "history_ttl": "300s",
               "force_recovery": true, "allow_subscribe_for_client": true}]}
})";

constexpr const char* k_spec_yaml = R"(
client:
  token:
    hmac_secret_key: secret
  allowed_origins:
    - http://localhost:3000
http_api:
  key: api-key
admin:
  enabled: true
  password: p
  secret: s
engine:
  type: redis
  redis:
    address: ["redis://127.0.0.1:6379"]
channel:
  namespaces:
    - name: chat
      presence: true
      history_size: 10
      history_ttl: 300s
      force_recovery: true
      allow_subscribe_for_client: true
)";

constexpr const char* k_spec_toml = R"(
[client]
allowed_origins = ["http://localhost:3000"]
[client.token]
hmac_secret_key = "secret"

[http_api]
key = "api-key"

[admin]
enabled = true
password = "p"
secret = "s"

[engine]
type = "redis"
[engine.redis]
address = ["redis://127.0.0.1:6379"]

[[channel.namespaces]]
name = "chat"
presence = true
history_size = 10
history_ttl = "300s"
force_recovery = true
allow_subscribe_for_client = true
)";

TEST(loader, spec_minimal_json_example) {
  auto r = load_json(k_spec_json);
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_TRUE(r.unknown_keys_.empty());
  const config& c = r.config_;
  EXPECT_EQ(c.client_.token_.hmac_secret_key_, "secret");
  EXPECT_THAT(c.client_.allowed_origins_, ElementsAre("http://localhost:3000"));
  EXPECT_EQ(c.http_api_.key_, "api-key");
  EXPECT_TRUE(c.admin_.enabled_);
  EXPECT_EQ(c.admin_.password_, "p");
  EXPECT_EQ(c.admin_.secret_, "s");
  EXPECT_EQ(c.engine_.type_, "redis");
  EXPECT_THAT(c.engine_.redis_.address_, ElementsAre("redis://127.0.0.1:6379"));
  ASSERT_EQ(c.channel_.namespaces_.size(), 1u);
  const channel_namespace& ns = c.channel_.namespaces_[0];
  EXPECT_EQ(ns.name_, "chat");
  EXPECT_TRUE(ns.presence_);
  EXPECT_EQ(ns.history_size_, 10);
  EXPECT_EQ(ns.history_ttl_, 300s);
  EXPECT_TRUE(ns.force_recovery_);
  EXPECT_TRUE(ns.allow_subscribe_for_client_);
  EXPECT_FALSE(ns.join_leave_);
  EXPECT_EQ(ns.subscribe_proxy_name_, "default");  // item defaults apply per element
  EXPECT_TRUE(validate(c).empty());
}

TEST(loader, yaml_and_toml_give_the_same_struct_as_json) {
  auto j = load_json(k_spec_json);
  auto y = load_text(k_spec_yaml, file_format::yaml, text_options());
  auto t = load_text(k_spec_toml, file_format::toml, text_options());
  ASSERT_TRUE(j.ok()) << j.error_;
  ASSERT_TRUE(y.ok()) << y.error_;
  ASSERT_TRUE(t.ok()) << t.error_;
  EXPECT_EQ(y.config_, j.config_);
  EXPECT_EQ(t.config_, j.config_);
  EXPECT_TRUE(y.unknown_keys_.empty());
  EXPECT_TRUE(t.unknown_keys_.empty());
  EXPECT_NE(j.config_, config{});  // equality is not vacuous
}

TEST(loader, empty_input_gives_defaults) {
  for (auto [text, fmt] : {std::pair{"{}", file_format::json},
                           {"", file_format::yaml},
                           {"", file_format::toml},
                           {"# nothing\n", file_format::yaml}}) {
    auto r = load_text(text, fmt, text_options());
    ASSERT_TRUE(r.ok()) << r.error_;
    EXPECT_EQ(r.config_, config{});
    EXPECT_TRUE(r.warnings_.empty());
  }
}

TEST(loader, documented_defaults) {
  const config c;
  EXPECT_EQ(c.http_server_.address_, "");
  EXPECT_EQ(c.http_server_.port_, 8000);
  EXPECT_EQ(c.http_server_.effective_internal_port(), "8000");
  EXPECT_EQ(c.http_server_.tls_autocert_.http_addr_, ":80");
  EXPECT_EQ(c.log_.level_, "info");
  EXPECT_EQ(c.engine_.type_, "memory");
  EXPECT_THAT(c.engine_.redis_.address_, ElementsAre("redis://127.0.0.1:6379"));
  EXPECT_EQ(c.engine_.redis_.prefix_, "centrifugo");
  EXPECT_EQ(c.engine_.redis_.connect_timeout_, 1s);
  EXPECT_EQ(c.engine_.redis_.io_timeout_, 4s);
  EXPECT_EQ(c.engine_.redis_.db_, 0);
  EXPECT_EQ(c.engine_.redis_.presence_ttl_, 60s);
  EXPECT_FALSE(c.engine_.redis_.history_use_lists_);
  EXPECT_FALSE(c.broker_.enabled_);
  EXPECT_EQ(c.broker_.type_, "memory");
  EXPECT_EQ(c.broker_.nats_.prefix_, "centrifugo");
  EXPECT_EQ(c.broker_.nats_.url_, "nats://localhost:4222");
  EXPECT_EQ(c.broker_.nats_.dial_timeout_, 1s);
  EXPECT_EQ(c.broker_.nats_.write_timeout_, 1s);
  EXPECT_FALSE(c.broker_.nats_.allow_wildcards_);
  EXPECT_EQ(c.broker_.postgres_.pool_size_, 16);
  EXPECT_EQ(c.broker_.postgres_.num_shards_, 8);
  EXPECT_EQ(c.broker_.postgres_.outbox_.poll_interval_, 100ms);
  EXPECT_EQ(c.presence_manager_.type_, "memory");
  EXPECT_EQ(c.presence_manager_.redis_.presence_ttl_, 60s);
  EXPECT_EQ(c.map_broker_.type_, "memory");
  EXPECT_EQ(c.map_broker_.redis_.cleanup_interval_, 1s);
  EXPECT_EQ(c.map_broker_.postgres_.ttl_check_interval_, 1s);
  EXPECT_EQ(c.controller_.postgres_.poll_interval_, 50ms);

  const client_config& cl = c.client_;
  EXPECT_TRUE(cl.allowed_origins_.empty());
  EXPECT_EQ(cl.ping_interval_, 25s);
  EXPECT_EQ(cl.pong_timeout_, 8s);
  EXPECT_EQ(cl.expired_close_delay_, 25s);
  EXPECT_EQ(cl.expired_sub_close_delay_, 25s);
  EXPECT_EQ(cl.stale_close_delay_, 10s);
  EXPECT_EQ(cl.channel_limit_, 128);
  EXPECT_EQ(cl.queue_max_size_, 1048576);
  EXPECT_EQ(cl.presence_update_interval_, 27s);
  EXPECT_EQ(cl.channel_position_check_delay_, 40s);
  EXPECT_EQ(cl.channel_position_max_time_lag_, 0s);
  EXPECT_EQ(cl.connection_limit_, 0);
  EXPECT_EQ(cl.history_max_publication_limit_, 300);
  EXPECT_EQ(cl.recovery_max_publication_limit_, 300);
  EXPECT_FALSE(cl.insecure_);
  EXPECT_EQ(cl.proxy_.connect_.timeout_, 1s);
  EXPECT_FALSE(cl.proxy_.connect_.enabled_);
  EXPECT_FALSE(cl.subscription_token_.enabled_);

  const channel_config& ch = c.channel_;
  EXPECT_EQ(ch.history_meta_ttl_, 720h);
  EXPECT_EQ(ch.max_length_, 255);
  EXPECT_EQ(ch.private_prefix_, "$");
  EXPECT_EQ(ch.namespace_boundary_, ":");
  EXPECT_EQ(ch.user_boundary_, "#");
  EXPECT_EQ(ch.user_separator_, ",");
  EXPECT_EQ(ch.publication_data_format_, "");
  EXPECT_TRUE(ch.namespaces_.empty());
  EXPECT_EQ(ch.proxy_.subscribe_.timeout_, 1s);
  const channel_options& o = ch.without_namespace_;
  EXPECT_FALSE(o.presence_);
  EXPECT_EQ(o.history_size_, 0);
  EXPECT_EQ(o.history_ttl_, 0s);
  EXPECT_EQ(o.subscribe_proxy_name_, "default");
  EXPECT_EQ(o.publish_proxy_name_, "default");
  EXPECT_EQ(o.sub_refresh_proxy_name_, "default");
  EXPECT_EQ(o.subscribe_stream_proxy_name_, "default");
  EXPECT_EQ(o.map_.default_page_size_, 100);
  EXPECT_EQ(o.map_.max_page_size_, 1000);
  EXPECT_EQ(o.map_.subscribe_catch_up_timeout_, 5s);
  EXPECT_EQ(o.shared_poll_.refresh_interval_, 10s);
  EXPECT_EQ(o.shared_poll_.max_keys_per_connection_, 5000);
  EXPECT_EQ(o.shared_poll_.track_expired_extra_delay_, 25s);

  EXPECT_EQ(c.rpc_.ping_.method_, "ping");
  EXPECT_FALSE(c.rpc_.ping_.enabled_);
  EXPECT_EQ(c.rpc_.namespace_boundary_, ":");
  EXPECT_EQ(c.rpc_.without_namespace_.proxy_name_, "default");
  EXPECT_EQ(c.http_api_.handler_prefix_, "/api");
  EXPECT_EQ(c.http_api_.error_mode_, "");
  EXPECT_EQ(c.grpc_api_.port_, 10000);
  EXPECT_EQ(c.websocket_.handler_prefix_, "/connection/websocket");
  EXPECT_EQ(c.websocket_.message_size_limit_, 65536);
  EXPECT_EQ(c.websocket_.write_timeout_, 1000ms);
  EXPECT_EQ(c.websocket_.compression_level_, 1);
  EXPECT_EQ(c.websocket_.effective_decompressed_message_size_limit(), 655360);
  EXPECT_EQ(c.sse_.handler_prefix_, "/connection/sse");
  EXPECT_EQ(c.sse_.max_request_body_size_, 65536);
  EXPECT_EQ(c.http_stream_.handler_prefix_, "/connection/http_stream");
  EXPECT_EQ(c.webtransport_.handler_prefix_, "/connection/webtransport");
  EXPECT_EQ(c.uni_websocket_.handler_prefix_, "/connection/uni_websocket");
  EXPECT_EQ(c.uni_sse_.handler_prefix_, "/connection/uni_sse");
  EXPECT_EQ(c.uni_http_stream_.handler_prefix_, "/connection/uni_http_stream");
  EXPECT_EQ(c.uni_grpc_.port_, 11000);
  EXPECT_EQ(c.emulation_.handler_prefix_, "/emulation");
  EXPECT_EQ(c.init_.handler_prefix_, "/connection/init");
  EXPECT_EQ(c.admin_.handler_prefix_, "");
  EXPECT_FALSE(c.admin_.enabled_);
  EXPECT_EQ(c.prometheus_.handler_prefix_, "/metrics");
  EXPECT_EQ(c.health_.handler_prefix_, "/health");
  EXPECT_EQ(c.swagger_.handler_prefix_, "/swagger");
  EXPECT_EQ(c.debug_.handler_prefix_, "/debug/pprof");
  EXPECT_EQ(c.graphite_.port_, 2003);
  EXPECT_EQ(c.graphite_.interval_, 10s);
  EXPECT_EQ(c.node_.info_metrics_aggregate_interval_, 60s);
  EXPECT_EQ(c.shutdown_.timeout_, 30s);
  EXPECT_EQ(c.pid_file_, "");
  EXPECT_FALSE(c.enable_unreleased_features_);
  EXPECT_EQ(c.gyre_.num_event_loops_, 0);
  EXPECT_EQ(c.gyre_.position_check_batch_size_, 1000);
  EXPECT_EQ(c.gyre_.http_server_.max_header_size_, 16 * 1024);
  EXPECT_EQ(c.gyre_.http_api_.max_request_body_size_, 16 * 1024 * 1024);
  EXPECT_EQ(c.gyre_.http_api_.max_batch_commands_, 10000);
  EXPECT_EQ(c.gyre_.http_api_.max_response_size_, 16 * 1024 * 1024);
}

TEST(loader, zero_values_keep_defaults) {
  auto r = load_json(R"({"http_server": {"port": 0}, "http_api": {"handler_prefix": ""},
                         "client": {"ping_interval": "0s"}, "engine": {"redis": {"address": []}}})");
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_EQ(r.config_.http_server_.port_, 8000);
  EXPECT_EQ(r.config_.http_api_.handler_prefix_, "/api");
  EXPECT_EQ(r.config_.client_.ping_interval_, 25s);
  EXPECT_THAT(r.config_.engine_.redis_.address_, ElementsAre("redis://127.0.0.1:6379"));
}

TEST(loader, weak_typing) {
  auto r = load_json(R"({
    "http_server": {"port": "9000", "internal_port": 9001},
    "admin": {"enabled": "1", "insecure": "true", "external": 1},
    "client": {"allowed_origins": "http://a.example", "channel_limit": 12.0,
               "token": {"hmac_secret_key": 12345, "audience": 1e10, "issuer": 2.5}},
    "health": {"enabled": "false"},
    "channel": {"without_namespace": {"history_ttl": 5000000000}}
  })");
  ASSERT_TRUE(r.ok()) << r.error_;
  const config& c = r.config_;
  EXPECT_EQ(c.http_server_.port_, 9000);
  EXPECT_EQ(c.http_server_.internal_port_, "9001");
  EXPECT_TRUE(c.admin_.enabled_);
  EXPECT_TRUE(c.admin_.insecure_);
  EXPECT_TRUE(c.admin_.external_);
  EXPECT_FALSE(c.health_.enabled_);
  EXPECT_THAT(c.client_.allowed_origins_, ElementsAre("http://a.example"));  // scalar → list
  EXPECT_EQ(c.client_.channel_limit_, 12);
  EXPECT_EQ(c.client_.token_.hmac_secret_key_, "12345");
  EXPECT_EQ(c.client_.token_.audience_, "10000000000");  // floats in fixed notation, like Go
  EXPECT_EQ(c.client_.token_.issuer_, "2.5");
  EXPECT_EQ(c.channel_.without_namespace_.history_ttl_, 5s);  // bare number = nanoseconds
}

TEST(loader, keys_are_case_insensitive) {
  auto r = load_json(
      R"({"HTTP_SERVER": {"Port": 9100}, "Channel": {"Namespaces": [{"NAME": "Chat"}]}})");
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_EQ(r.config_.http_server_.port_, 9100);
  ASSERT_EQ(r.config_.channel_.namespaces_.size(), 1u);
  EXPECT_EQ(r.config_.channel_.namespaces_[0].name_, "Chat");  // values keep their case
  EXPECT_TRUE(r.unknown_keys_.empty());
}

TEST(loader, errors_name_the_key) {
  auto r = load_json(R"({"channel": {"namespaces": [{"name": "a1"},
                         {"name": "b1", "history_ttl": "5x"}]}})");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error_, "channel.namespaces[1].history_ttl: invalid duration \"5x\"");

  EXPECT_EQ(load_json(R"({"http_server": {"port": "abc"}})").error_,
            "http_server.port: invalid integer \"abc\"");
  EXPECT_EQ(load_json(R"({"admin": {"enabled": "yes"}})").error_,
            "admin.enabled: invalid boolean \"yes\"");
  EXPECT_EQ(
      load_json(R"({"channel": {"namespaces": [{"name": "a1", "gyre_conflation": "on"}]}})").error_,
      "channel.namespaces[0].gyre_conflation: invalid boolean \"on\"");
  EXPECT_EQ(load_json(R"({"channel": {"without_namespace": {"gyre_conflation": [true]}}})").error_,
            "channel.without_namespace.gyre_conflation: expected a boolean, got an array");
  EXPECT_EQ(load_json(R"({"client": {"token": "x"}})").error_,
            "client.token: expected an object, got a string");
  EXPECT_EQ(load_json(R"({"client": {"allowed_origins": [{"a": 1}]}})").error_,
            "client.allowed_origins[0]: expected a string, got an object");
  EXPECT_EQ(load_json(R"({"client": {"channel_limit": 1.5}})").error_,
            "client.channel_limit: expected an integer, got 1.5");
  EXPECT_EQ(load_json(R"({"proxies": [{"name": "p1", "http": {"status_to_code_transforms":
                          [{"status_code": 404, "to_error": {"code": -1}}]}}]})")
                .error_,
            "proxies[0].http.status_to_code_transforms[0].to_error.code: integer -1 out of range");
  // Several errors are all reported.
  auto many = load_json(R"({"http_server": {"port": "x"}, "log": {"level": []}})");
  EXPECT_THAT(many.error_, HasSubstr("http_server.port: invalid integer \"x\""));
  EXPECT_THAT(many.error_, HasSubstr("log.level: expected a string, got an array"));
}

TEST(loader, invalid_documents_are_errors) {
  EXPECT_THAT(load_json("{").error_, HasSubstr("invalid JSON"));
  EXPECT_THAT(load_json("[1]").error_, HasSubstr("root must be an object"));
  EXPECT_THAT(load_text("a: [1", file_format::yaml, text_options()).error_,
              HasSubstr("invalid YAML"));
  EXPECT_THAT(load_text("a = ", file_format::toml, text_options()).error_,
              HasSubstr("invalid TOML"));
}

TEST(loader, unknown_keys_are_warnings_with_full_paths) {
  auto r = load_json(R"({
    "token_hmac_secret_key": "v5-style",
    "namespaces": [],
    "client": {"token": {"hmac_secret_key": "k", "foo": 1}},
    "channel": {"namespaces": [{"name": "chat", "histroy_size": 10}]},
    "proxies": [{"name": "p1", "endpoint": "http://x", "http": {"static_headers": [{"key": "A", "value": "b", "extra": 1}]}}]
  })");
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_TRUE(test::contains(r.unknown_keys_, "token_hmac_secret_key"));
  EXPECT_TRUE(test::contains(r.unknown_keys_, "namespaces"));
  EXPECT_TRUE(test::contains(r.unknown_keys_, "client.token.foo"));
  EXPECT_TRUE(test::contains(r.unknown_keys_, "channel.namespaces[0].histroy_size"));
  EXPECT_TRUE(test::contains(r.unknown_keys_, "proxies[0].http.static_headers[0].extra"));
  EXPECT_EQ(r.unknown_keys_.size(), 5u);
  EXPECT_TRUE(
      test::contains(r.warnings_, "unknown config key: channel.namespaces[0].histroy_size"));
  // v5 flat keys are ignored, not migrated.
  EXPECT_EQ(r.config_.client_.token_.hmac_secret_key_, "k");
}

TEST(loader, consumers_blocks_are_accepted_raw) {
  auto r = load_json(R"({"consumers": [{"name": "kafka1", "enabled": true, "type": "kafka",
                         "kafka": {"brokers": ["k:9092"], "topics": ["t"], "consumer_group": "g"}}]})");
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_TRUE(r.unknown_keys_.empty());
  ASSERT_EQ(r.config_.consumers_.size(), 1u);
  EXPECT_EQ(r.config_.consumers_[0].kafka_.text_,
            R"({"brokers":["k:9092"],"topics":["t"],"consumer_group":"g"})");
}

TEST(loader, string_maps_object_and_list_forms) {
  scoped_env var("CENTRIFUGO_VAR_TOKEN", "s3cret");
  auto r = load_json(R"({
    "proxies": [{"name": "p1", "endpoint": "http://x",
                 "http": {"static_headers": {"X-Api": "a", "Auth": "Bearer ${CENTRIFUGO_VAR_TOKEN}"}},
                 "grpc": {"static_metadata": [{"key": "X-Keep-Case", "value": "v"}]}}]
  })");
  ASSERT_TRUE(r.ok()) << r.error_;
  const auto& p = r.config_.proxies_.at(0);
  // Object form: keys lower-cased like viper; list form keeps case.
  EXPECT_EQ(p.http_.static_headers_, (string_map{{"x-api", "a"}, {"auth", "Bearer s3cret"}}));
  EXPECT_EQ(p.grpc_.static_metadata_, (string_map{{"X-Keep-Case", "v"}}));

  auto dup = load_json(R"({"channel": {"proxy": {"subscribe": {"http": {"static_headers":
                          [{"key": "A", "value": "1"}, {"key": "A", "value": "2"}]}}}}})");
  EXPECT_EQ(dup.error_, "channel.proxy.subscribe.http.static_headers[1]: duplicate key \"A\"");

  scoped_env unset("CENTRIFUGO_VAR_MISSING", std::nullopt);
  auto missing = load_json(R"({"broker": {"nats": {"raw_mode": {"channel_replacements":
                              {"a": "${CENTRIFUGO_VAR_MISSING}"}}}}})");
  EXPECT_THAT(missing.error_, HasSubstr("broker.nats.raw_mode.channel_replacements.a: "));
  EXPECT_THAT(missing.error_, HasSubstr("CENTRIFUGO_VAR_MISSING"));
}

TEST(loader, yaml_typing_and_merge_keys) {
  auto r = load_text(R"(
defaults: &d
  presence: true
  history_size: 5
client:
  token:
    hmac_secret_key: "0123"
    audience: 'true'
http_server:
  port: 0x2328
channel:
  namespaces:
    - <<: *d
      name: chat
      history_size: 7
      history_ttl: 60s
)",
                     file_format::yaml, text_options());
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_EQ(r.config_.client_.token_.hmac_secret_key_, "0123");  // quoted stays text
  EXPECT_EQ(r.config_.client_.token_.audience_, "true");
  EXPECT_EQ(r.config_.http_server_.port_, 9000);
  const auto& ns = r.config_.channel_.namespaces_.at(0);
  EXPECT_TRUE(ns.presence_);
  EXPECT_EQ(ns.history_size_, 7);  // explicit key beats merged one
  EXPECT_THAT(r.unknown_keys_, ElementsAre("defaults"));
}

// Found by tests/fuzz/config_fuzz.cpp: texts that crashed (stack overflow) or hung the
// loader. Each is now a clear error, returned at once.
TEST(loader, hostile_nesting_and_aliases_are_errors) {
  auto error_of = [](const std::string& text, file_format fmt) {
    return load_text(text, fmt, text_options()).error_;
  };
  // A YAML alias inside its own anchor, directly or through a merge key: infinite trees.
  EXPECT_THAT(error_of("a: &a [*a]\n", file_format::yaml), HasSubstr("nested deeper than 64"));
  EXPECT_THAT(error_of("a: &a\n  <<: *a\n  x: 1\n", file_format::yaml),
              HasSubstr("nested deeper than 64"));
  // "Billion laughs": 10^8 nodes from 400 bytes.
  std::string bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    const char p = static_cast<char>(c - 1);
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int k = 0; k < 10; ++k) bomb += std::string(k ? ",*" : "*") + p;
    bomb += "]\n";
  }
  EXPECT_THAT(error_of(bomb, file_format::yaml), HasSubstr("too many nodes"));
  // Deep YAML, and TOML dotted keys / headers (toml++ does not bound those).
  EXPECT_THAT(
      error_of("a: " + std::string(100, '[') + std::string(100, ']') + "\n", file_format::yaml),
      HasSubstr("nested deeper than 64"));
  EXPECT_THAT(error_of("a: " + std::string(100000, '['), file_format::yaml),
              HasSubstr("invalid YAML"));
  std::string dotted = "a";
  for (int i = 0; i < 100000; ++i) dotted += ".a";
  EXPECT_THAT(error_of(dotted + " = 1\n", file_format::toml), HasSubstr("nested deeper than 64"));
  EXPECT_THAT(error_of("[" + dotted + "]\nx = 1\n", file_format::toml),
              HasSubstr("nested deeper than 64"));
  EXPECT_THAT(error_of("a = {" + dotted + " = 1}\n", file_format::toml),
              HasSubstr("nested deeper than 64"));
  EXPECT_THAT(error_of("[a." + dotted.substr(0, 80) + "]\n" + dotted.substr(0, 80) + " = 1\n",
                       file_format::toml),
              HasSubstr("line 2"));
  // Deep JSON was already refused by Boost.JSON (depth 32).
  EXPECT_THAT(error_of("{\"a\":" + std::string(100000, '[') + "}", file_format::json),
              HasSubstr("invalid JSON"));
}

// Found by config_fuzz: yaml-cpp let invalid UTF-8 through, and a dump of such a config in
// TOML read back as other characters. JSON and TOML texts were already checked.
TEST(loader, yaml_strings_must_be_utf8) {
  EXPECT_THAT(load_text("log:\n  level: \"de\xff"
                        "bug\"\n",
                        file_format::yaml, text_options())
                  .error_,
              HasSubstr("yaml: invalid UTF-8 (line 2)"));
  EXPECT_THAT(load_text("lo\xc3g: x\n", file_format::yaml, text_options()).error_,
              HasSubstr("yaml: invalid UTF-8 (line 1)"));
  EXPECT_THAT(
      load_text("{\"log\": {\"level\": \"\xff\"}}", file_format::json, text_options()).error_,
      HasSubstr("invalid JSON"));
  EXPECT_THAT(load_text("[log]\nlevel = \"\xff\"\n", file_format::toml, text_options()).error_,
              HasSubstr("invalid TOML"));
  auto ok = load_text(
      "log:\n  level: \"d\xc3\xa9"
      "bug\"\n",
      file_format::yaml, text_options());
  EXPECT_TRUE(ok.ok()) << ok.error_;
}

TEST(loader, realistic_nesting_aliases_and_dots_still_load) {
  // Dots in values, quoted keys and strings do not count as nesting.
  std::string floats = "[client]\nallowed_origins = [\"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p\"]\n";
  floats += "[consumers_x]\nv = [";
  for (int i = 0; i < 100; ++i) floats += (i ? ", " : "") + std::string("1.5");
  floats +=
      "]\n\"q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q\" = 1 # a.b.c\n";
  floats += "s = \"\"\"\n" + std::string(200, '.') + "\n\"\"\"\n";
  auto t = load_text(floats, file_format::toml, text_options());
  EXPECT_TRUE(t.ok()) << t.error_;
  // Anchors used many times.
  std::string yaml =
      "d: &d {presence: true, history_size: 5, history_ttl: 60s}\nchannel:\n  namespaces:\n";
  for (int i = 0; i < 200; ++i) yaml += "    - {<<: *d, name: ns" + std::to_string(i) + "}\n";
  auto y = load_text(yaml, file_format::yaml, text_options());
  ASSERT_TRUE(y.ok()) << y.error_;
  EXPECT_EQ(y.config_.channel_.namespaces_.size(), 200u);
}

// ---------------------------------------------------------------------------- env

TEST(loader_env, overrides_file_values) {
  scoped_env port("CENTRIFUGO_HTTP_SERVER_PORT", "9100");
  scoped_env origins("CENTRIFUGO_CLIENT_ALLOWED_ORIGINS", "http://a.example  http://b.example");
  scoped_env ping("CENTRIFUGO_CLIENT_PING_INTERVAL", "30s");
  scoped_env presence("CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE", "true");
  scoped_env redis("CENTRIFUGO_ENGINE_REDIS_ADDRESS", "redis://a:6379 redis://b:6379");
  scoped_env connect("CENTRIFUGO_CLIENT_PROXY_CONNECT_ENDPOINT", "http://backend/connect");
  scoped_env hmac("CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY", "from-env");
  scoped_env replacements("CENTRIFUGO_BROKER_NATS_RAW_MODE_CHANNEL_REPLACEMENTS", R"({":":"."})");
  scoped_env empty("CENTRIFUGO_HTTP_API_KEY", "");  // empty = unset
  scoped_env loops("CENTRIFUGO_GYRE_NUM_EVENT_LOOPS", "3");
  scoped_env batch("CENTRIFUGO_GYRE_HTTP_API_MAX_BATCH_COMMANDS", "77");

  auto r = load_json(R"({"http_server": {"port": 8001}, "http_api": {"key": "file-key"},
                         "client": {"token": {"hmac_secret_key": "from-file"}}})");
  ASSERT_TRUE(r.ok()) << r.error_;
  const config& c = r.config_;
  EXPECT_EQ(c.http_server_.port_, 9100);
  EXPECT_THAT(c.client_.allowed_origins_, ElementsAre("http://a.example", "http://b.example"));
  EXPECT_EQ(c.client_.ping_interval_, 30s);
  EXPECT_TRUE(c.channel_.without_namespace_.presence_);
  EXPECT_THAT(c.engine_.redis_.address_, ElementsAre("redis://a:6379", "redis://b:6379"));
  EXPECT_EQ(c.client_.proxy_.connect_.endpoint_, "http://backend/connect");
  EXPECT_EQ(c.client_.token_.hmac_secret_key_, "from-env");
  EXPECT_EQ(c.broker_.nats_.raw_mode_.channel_replacements_, (string_map{{":", "."}}));
  EXPECT_EQ(c.http_api_.key_, "file-key");
  EXPECT_EQ(c.gyre_.num_event_loops_, 3);
  EXPECT_EQ(c.gyre_.http_api_.max_batch_commands_, 77);
  EXPECT_TRUE(r.unknown_keys_.empty());

  auto off = text_options();
  off.use_env_ = false;
  EXPECT_EQ(load_json("{}", off).config_.http_server_.port_, 8000);
}

TEST(loader_env, bool_forms) {
  for (auto [text, expected] :
       {std::pair{"true", true}, {"1", true}, {"false", false}, {"0", false}}) {
    scoped_env e("CENTRIFUGO_ADMIN_ENABLED", text);
    auto r = load_json("{}");
    ASSERT_TRUE(r.ok()) << r.error_;
    EXPECT_EQ(r.config_.admin_.enabled_, expected) << text;
  }
  scoped_env e("CENTRIFUGO_ADMIN_ENABLED", "maybe");
  EXPECT_EQ(load_json("{}").error_, "admin.enabled: invalid boolean \"maybe\"");
}

TEST(loader_env, named_namespaces_from_space_separated_names) {
  scoped_env names("CENTRIFUGO_CHANNEL_NAMESPACES", "chat my-news.v2");
  scoped_env a("CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_SIZE", "10");
  scoped_env b("CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_TTL", "300s");
  scoped_env c("CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_PRESENCE", "true");
  scoped_env d("CENTRIFUGO_CHANNEL_NAMESPACES_MY_NEWS_V2_ALLOWED_DELTA_TYPES", "fossil");
  scoped_env e("CENTRIFUGO_CHANNEL_NAMESPACES_MY_NEWS_V2_MAP_MODE", "ephemeral");
  scoped_env f("CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_GYRE_CONFLATION", "true");
  auto r = load_json(R"({"channel": {"namespaces": [{"name": "from-file"}]}})");
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_TRUE(r.unknown_keys_.empty()) << r.unknown_keys_.size();
  const auto& nss = r.config_.channel_.namespaces_;
  ASSERT_EQ(nss.size(), 2u);  // env replaced the file's list
  EXPECT_EQ(nss[0].name_, "chat");
  EXPECT_EQ(nss[0].history_size_, 10);
  EXPECT_EQ(nss[0].history_ttl_, 300s);
  EXPECT_TRUE(nss[0].presence_);
  EXPECT_TRUE(nss[0].gyre_conflation_);
  EXPECT_FALSE(nss[1].gyre_conflation_);
  EXPECT_EQ(nss[1].name_, "my-news.v2");
  EXPECT_THAT(nss[1].allowed_delta_types_, ElementsAre("fossil"));
  EXPECT_EQ(nss[1].map_.mode_, "ephemeral");
}

TEST(loader_env, named_namespaces_from_json_and_per_item_over_file) {
  {
    scoped_env names("CENTRIFUGO_CHANNEL_NAMESPACES", R"([{"name":"chat","Presence":true}])");
    scoped_env size("CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_JOIN_LEAVE", "1");
    auto r = load_json("{}");
    ASSERT_TRUE(r.ok()) << r.error_;
    ASSERT_EQ(r.config_.channel_.namespaces_.size(), 1u);
    EXPECT_TRUE(r.config_.channel_.namespaces_[0].presence_);
    EXPECT_TRUE(r.config_.channel_.namespaces_[0].join_leave_);
  }
  {
    // Items from the file are overridden by name too.
    scoped_env size("CENTRIFUGO_CHANNEL_NAMESPACES_NEWS_HISTORY_SIZE", "50");
    auto r = load_json(
        R"({"channel": {"namespaces": [{"name": "chat"}, {"name": "news", "history_size": 5}]}})");
    ASSERT_TRUE(r.ok()) << r.error_;
    EXPECT_EQ(r.config_.channel_.namespaces_.at(0).history_size_, 0);
    EXPECT_EQ(r.config_.channel_.namespaces_.at(1).history_size_, 50);
  }
  {
    scoped_env bad("CENTRIFUGO_CHANNEL_NAMESPACES", "[{broken");
    EXPECT_EQ(load_json("{}").error_, "CENTRIFUGO_CHANNEL_NAMESPACES: invalid JSON array");
  }
}

TEST(loader_env, named_rpc_namespaces_and_proxies) {
  scoped_env rpc("CENTRIFUGO_RPC_NAMESPACES", "users");
  scoped_env rpc1("CENTRIFUGO_RPC_NAMESPACES_USERS_PROXY_ENABLED", "true");
  scoped_env rpc2("CENTRIFUGO_RPC_NAMESPACES_USERS_PROXY_NAME", "backend-1");
  scoped_env px("CENTRIFUGO_PROXIES", "backend-1");
  scoped_env px1("CENTRIFUGO_PROXIES_BACKEND_1_ENDPOINT", "http://backend:9000/rpc");
  scoped_env px2("CENTRIFUGO_PROXIES_BACKEND_1_TIMEOUT", "3s");
  scoped_env px3("CENTRIFUGO_PROXIES_BACKEND_1_HTTP_HEADERS", "Authorization X-Real-Ip");
  scoped_env px4("CENTRIFUGO_PROXIES_BACKEND_1_HTTP_STATIC_HEADERS", R"({"X-Static":"1"})");
  scoped_env cs("CENTRIFUGO_CONSUMERS", "events");
  scoped_env cs1("CENTRIFUGO_CONSUMERS_EVENTS_TYPE", "kafka");
  auto r = load_json("{}");
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_TRUE(r.unknown_keys_.empty());
  const config& c = r.config_;
  ASSERT_EQ(c.rpc_.namespaces_.size(), 1u);
  EXPECT_TRUE(c.rpc_.namespaces_[0].proxy_enabled_);
  EXPECT_EQ(c.rpc_.namespaces_[0].proxy_name_, "backend-1");
  ASSERT_EQ(c.proxies_.size(), 1u);
  EXPECT_EQ(c.proxies_[0].endpoint_, "http://backend:9000/rpc");
  EXPECT_EQ(c.proxies_[0].timeout_, 3s);
  EXPECT_THAT(c.proxies_[0].http_headers_, ElementsAre("Authorization", "X-Real-Ip"));
  EXPECT_EQ(c.proxies_[0].http_.static_headers_, (string_map{{"X-Static", "1"}}));
  ASSERT_EQ(c.consumers_.size(), 1u);
  EXPECT_EQ(c.consumers_[0].type_, "kafka");
  EXPECT_TRUE(validate(c).empty());
}

TEST(loader_env, unknown_variables_are_warned) {
  scoped_env a("CENTRIFUGO_HTTP_SERVER_PORTT", "1");
  scoped_env b("CENTRIFUGO_TOKEN_HMAC_SECRET_KEY", "v5-style");
  scoped_env c("CENTRIFUGO_CHANNEL_NAMESPACES_NOPE_PRESENCE", "true");
  scoped_env var("CENTRIFUGO_VAR_SOMETHING", "x");         // placeholders: not warned
  scoped_env k8s1("CENTRIFUGO_SERVICE_HOST", "10.0.0.1");  // Kubernetes: not warned
  scoped_env k8s2("CENTRIFUGO_PORT_8000_TCP_ADDR", "10.0.0.1");
  scoped_env k8s3("CENTRIFUGO_PORT", "tcp://10.0.0.1:8000");
  auto r = load_json("{}");
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_THAT(r.unknown_keys_,
              ElementsAre("CENTRIFUGO_CHANNEL_NAMESPACES_NOPE_PRESENCE",
                          "CENTRIFUGO_HTTP_SERVER_PORTT", "CENTRIFUGO_TOKEN_HMAC_SECRET_KEY"));
  EXPECT_TRUE(
      test::contains(r.warnings_, "unknown environment variable: CENTRIFUGO_HTTP_SERVER_PORTT"));
}

TEST(loader_env, dotenv_file_is_loaded_without_overriding) {
  test::temp_dir dir;
  std::string path = dir.write(".env",
                               "# comment\n"
                               "CENTRIFUGO_HTTP_API_KEY=from-dotenv\n"
                               "export CENTRIFUGO_ADMIN_PASSWORD=\"quoted value\" \n"
                               "CENTRIFUGO_ADMIN_SECRET=plain # trailing comment\n"
                               "CENTRIFUGO_LOG_LEVEL=debug\n");
  scoped_env k("CENTRIFUGO_HTTP_API_KEY", std::nullopt);
  scoped_env p("CENTRIFUGO_ADMIN_PASSWORD", std::nullopt);
  scoped_env s("CENTRIFUGO_ADMIN_SECRET", std::nullopt);
  scoped_env l("CENTRIFUGO_LOG_LEVEL", "error");  // already set: wins over .env
  auto o = text_options();
  o.dotenv_path_ = path;
  auto r = load_json("{}", o);
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_EQ(r.config_.http_api_.key_, "from-dotenv");
  EXPECT_EQ(r.config_.admin_.password_, "quoted value");
  EXPECT_EQ(r.config_.admin_.secret_, "plain");
  EXPECT_EQ(r.config_.log_.level_, "error");
  EXPECT_TRUE(load_dotenv(dir.file("missing.env")));  // absent file is fine
}

// ---------------------------------------------------------------------------- flags

TEST(loader_flags, precedence_flag_over_env_over_file_over_default) {
  const char* file = R"({"http_server": {"port": 8001}, "log": {"level": "warn"}})";
  auto o = text_options();
  EXPECT_EQ(load_json("{}", o).config_.http_server_.port_, 8000);  // default
  EXPECT_EQ(load_json(file, o).config_.http_server_.port_, 8001);  // file
  scoped_env env("CENTRIFUGO_HTTP_SERVER_PORT", "8002");
  EXPECT_EQ(load_json(file, o).config_.http_server_.port_, 8002);  // env
  o.flags_ = {{"http_server.port", "8003"},
              {"Engine.Type", "redis"},
              {"client.allowed_origins", "http://x http://y"}};
  auto r = load_json(file, o);
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_EQ(r.config_.http_server_.port_, 8003);  // flag
  EXPECT_EQ(r.config_.engine_.type_, "redis");
  EXPECT_THAT(r.config_.client_.allowed_origins_, ElementsAre("http://x", "http://y"));
  EXPECT_EQ(r.config_.log_.level_, "warn");  // untouched by flags
}

TEST(loader_flags, unknown_flag_key_is_an_error) {
  auto o = text_options();
  o.flags_ = {{"http_server.prot", "1"}};
  EXPECT_EQ(load_json("{}", o).error_, "flag http_server.prot: unknown config key");
}

// ---------------------------------------------------------------------------- files

TEST(loader_file, reads_by_extension) {
  test::temp_dir dir;
  auto o = text_options();
  for (auto [name, text] : {std::pair{"c.json", k_spec_json},
                            {"c.yaml", k_spec_yaml},
                            {"c.YML", k_spec_yaml},
                            {"c.toml", k_spec_toml}}) {
    o.path_ = dir.write(name, text);
    auto r = load(o);
    ASSERT_TRUE(r.ok()) << name << ": " << r.error_;
    EXPECT_TRUE(r.file_found_);
    EXPECT_EQ(r.config_, load_json(k_spec_json).config_) << name;
  }
  o.path_ = dir.write("c.ini", "x=1");
  EXPECT_THAT(load(o).error_, HasSubstr("unsupported config file extension"));
  o.path_ = dir.write("bad.json", "{\"a\":");
  EXPECT_THAT(load(o).error_, HasSubstr("bad.json: invalid JSON"));
}

TEST(loader_file, missing_file_is_a_warning_unless_required) {
  test::temp_dir dir;
  auto o = text_options();
  o.path_ = dir.file("config.json");
  auto r = load(o);
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_FALSE(r.file_found_);
  ASSERT_EQ(r.warnings_.size(), 1u);
  EXPECT_THAT(r.warnings_[0], HasSubstr("config file not found"));
  EXPECT_EQ(r.config_, config{});

  o.require_file_ = true;
  EXPECT_THAT(load(o).error_, HasSubstr("config file not found"));
}

// ---------------------------------------------------------------------------- env names

TEST(env_names, are_unique_and_follow_the_spec) {
  EXPECT_EQ(env_name_for("client.token.hmac_secret_key"),
            "CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY");
  auto list = env_listing(config{});
  std::set<std::string> names;
  for (const auto& [name, value] : list) EXPECT_TRUE(names.insert(name).second) << name;
  for (const char* expected :
       {"CENTRIFUGO_HTTP_SERVER_PORT", "CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY",
        "CENTRIFUGO_HTTP_API_KEY", "CENTRIFUGO_ENGINE_REDIS_ADDRESS",
        "CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE", "CENTRIFUGO_LOG_LEVEL",
        "CENTRIFUGO_CLIENT_PING_INTERVAL", "CENTRIFUGO_CLIENT_PROXY_CONNECT_ENDPOINT",
        "CENTRIFUGO_CHANNEL_NAMESPACES", "CENTRIFUGO_GYRE_NUM_EVENT_LOOPS"})
    EXPECT_TRUE(names.count(expected)) << expected;
  EXPECT_GT(names.size(), 500u);
}

TEST(env_names, listing_shows_effective_values_and_named_items) {
  auto r = load_json(R"({"channel": {"namespaces": [{"name": "chat", "history_size": 10}]},
                         "client": {"allowed_origins": ["a", "b"]}})");
  ASSERT_TRUE(r.ok());
  auto list = env_listing(r.config_);
  auto value = [&](const std::string& n) {
    for (const auto& [name, v] : list)
      if (name == n) return v;
    return std::string("<absent>");
  };
  EXPECT_EQ(value("CENTRIFUGO_HTTP_SERVER_PORT"), "8000");
  EXPECT_EQ(value("CENTRIFUGO_CLIENT_PING_INTERVAL"), "25s");
  EXPECT_EQ(value("CENTRIFUGO_CLIENT_ALLOWED_ORIGINS"), "a b");
  EXPECT_EQ(value("CENTRIFUGO_CHANNEL_NAMESPACES"), "chat");
  EXPECT_EQ(value("CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_SIZE"), "10");
  EXPECT_EQ(value("CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_NAME"), "<absent>");
}

// Every listed variable is accepted back by the loader (names and value syntax agree).
TEST(env_names, listing_round_trips_through_the_loader) {
  auto src = load_json(R"({"channel": {"namespaces": [{"name": "chat", "history_size": 10,
                           "history_ttl": "60s", "allowed_delta_types": ["fossil"]}]},
                           "client": {"allowed_origins": ["a", "b"], "ping_interval": "31s"},
                           "proxies": [{"name": "p1", "endpoint": "http://x",
                                        "http": {"static_headers": {"k": "v"}}}]})");
  ASSERT_TRUE(src.ok()) << src.error_;
  std::vector<std::unique_ptr<scoped_env>> envs;
  for (const auto& [name, value] : env_listing(src.config_))
    envs.push_back(std::make_unique<scoped_env>(name, value));
  auto r = load_json("{}");
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_TRUE(r.unknown_keys_.empty());
  EXPECT_EQ(r.config_, src.config_);
}

}  // namespace
}  // namespace gyre::config
