// A production-style Centrifugo v6 YAML config touching most sections: it must load with
// no unknown keys, validate, and map to the expected values.
#include "config/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/channel_resolution.hpp"
#include "config/config_test_util.hpp"
#include "config/validate.hpp"

namespace gyre::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* k_production_yaml = R"(
http_server:
  address: 0.0.0.0
  port: 8000
  internal_port: "9000"
  tls:
    enabled: false
log:
  level: warn
engine:
  type: redis
  redis:
    address:
      - redis://redis-1:6379
      - redis://redis-2:6379
    prefix: myapp
    connect_timeout: 2s
    io_timeout: 5s
    db: 1
    password: pass
    presence_ttl: 90s
    history_use_lists: false
    tls:
      enabled: true
      server_name: redis.internal
broker:
  enabled: true
  type: nats
  nats:
    url: nats://nats:4222
    dial_timeout: 500ms
    raw_mode:
      enabled: true
      channel_replacements:
        ":": "."
      prefix: raw.
presence_manager:
  enabled: false
client:
  allowed_origins: ["https://app.example.com", "https://*.example.com"]
  token:
    hmac_secret_key: secret
    audience: my-app
    issuer_regex: "^https://auth\\.example\\.com/(?P<tenant>acme|globex)$"
    jwks_public_endpoint: https://auth.example.com/{{tenant}}/.well-known/jwks.json
    user_id_claim: user_id
  subscription_token:
    enabled: true
    hmac_secret_key: sub-secret
  ping_interval: 20s
  pong_timeout: 5s
  channel_limit: 256
  user_connection_limit: 10
  connection_rate_limit: 100
  concurrency: 4
  proxy:
    connect:
      enabled: true
      endpoint: http://backend:3000/centrifugo/connect
      timeout: 3s
      http_headers: [Cookie, Authorization]
      emulated_headers: [X-Custom]
      http:
        static_headers:
          - key: X-Centrifugo
            value: "1"
        status_to_code_transforms:
          - status_code: 401
            to_disconnect: {code: 4501, reason: unauthorized}
    refresh:
      enabled: true
      endpoint: grpc://backend:10001
      grpc:
        compression: true
        credentials_key: token
        credentials_value: abc
  subscribe_to_user_personal_channel:
    enabled: true
    personal_channel_namespace: personal
    single_connection: true
channel:
  history_meta_ttl: 168h
  without_namespace:
    allow_subscribe_for_client: true
    allow_presence_for_subscriber: true
  proxy:
    subscribe:
      endpoint: http://backend:3000/centrifugo/subscribe
    publish:
      endpoint: http://backend:3000/centrifugo/publish
      include_connection_meta: true
  namespaces:
    - name: personal
      presence: true
    - name: chat
      presence: true
      join_leave: true
      force_push_join_leave: true
      history_size: 100
      history_ttl: 24h
      force_recovery: true
      force_positioning: true
      allowed_delta_types: [fossil]
      allow_subscribe_for_client: true
      allow_publish_for_subscriber: true
      allow_history_for_subscriber: true
      allow_user_limited_channels: true
      channel_regex: "^[a-z0-9_-]+$"
      publication_data_format: json_object
      subscribe_proxy_enabled: true
      publish_proxy_enabled: true
      publish_proxy_name: publisher
    - name: prices
      history_size: 1
      history_ttl: 60s
      force_recovery: true
      force_recovery_mode: cache
      auto_cache_recover: true
      delta_publish: true
      allowed_delta_types: fossil
rpc:
  proxy:
    endpoint: http://backend:3000/centrifugo/rpc
  without_namespace:
    proxy_enabled: true
  namespaces:
    - name: admin
      proxy_enabled: true
      proxy_name: publisher
  ping:
    enabled: true
proxies:
  - name: publisher
    endpoint: http://publisher:4000/centrifugo
    timeout: 500ms
    binary_encoding: true
http_api:
  key: api-key
  external: false
  error_mode: transport
grpc_api:
  enabled: true
  port: 10000
  key: grpc-key
websocket:
  compression: true
  message_size_limit: 131072
  write_timeout: 2s
sse:
  enabled: true
http_stream:
  enabled: true
uni_websocket:
  enabled: true
uni_sse:
  enabled: true
  connect_code_to_http_response:
    enabled: true
    transforms:
      - code: 3501
        to: {status_code: 400, body: bad request}
uni_grpc:
  enabled: true
admin:
  enabled: true
  password: p
  secret: s
prometheus:
  enabled: true
  instrument_http_handlers: true
health:
  enabled: true
swagger:
  enabled: false
graphite:
  enabled: false
opentelemetry:
  enabled: false
usage_stats:
  disabled: true
node:
  name: node-1
shutdown:
  timeout: 10s
pid_file: /var/run/centrifugo.pid
gyre:
  num_event_loops: 4
)";

TEST(compat, production_style_yaml_loads_and_validates) {
  auto o = test::text_options();
  o.use_env_ = false;
  auto r = load_text(k_production_yaml, file_format::yaml, o);
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_THAT(r.unknown_keys_, IsEmpty());
  EXPECT_THAT(validate(r.config_), IsEmpty());

  const config& c = r.config_;
  EXPECT_EQ(c.http_server_.effective_internal_port(), "9000");
  EXPECT_THAT(c.engine_.redis_.address_,
              ElementsAre("redis://redis-1:6379", "redis://redis-2:6379"));
  EXPECT_EQ(c.engine_.redis_.connect_timeout_, 2s);
  EXPECT_EQ(c.engine_.redis_.db_, 1);
  EXPECT_EQ(c.engine_.redis_.presence_ttl_, 90s);
  EXPECT_TRUE(c.engine_.redis_.tls_.enabled_);
  EXPECT_EQ(c.broker_.nats_.dial_timeout_, 500ms);
  EXPECT_EQ(c.broker_.nats_.write_timeout_, 1s);  // default kept
  EXPECT_EQ(c.broker_.nats_.raw_mode_.channel_replacements_, (string_map{{":", "."}}));
  EXPECT_EQ(c.client_.proxy_.connect_.http_.static_headers_, (string_map{{"X-Centrifugo", "1"}}));
  EXPECT_EQ(c.client_.proxy_.connect_.http_.status_to_code_transforms_.at(0).to_disconnect_.code_,
            4501u);
  EXPECT_EQ(c.client_.proxy_.refresh_.timeout_, 1s);
  EXPECT_TRUE(c.client_.proxy_.refresh_.grpc_.compression_);
  EXPECT_EQ(c.channel_.history_meta_ttl_, 168h);
  const channel_options* chat = find_channel_options(c, "chat");
  ASSERT_NE(chat, nullptr);
  EXPECT_EQ(chat->history_ttl_, 24h);
  EXPECT_EQ(chat->publish_proxy_name_, "publisher");
  EXPECT_EQ(chat->subscribe_proxy_name_, "default");
  EXPECT_THAT(find_channel_options(c, "prices")->allowed_delta_types_, ElementsAre("fossil"));
  EXPECT_EQ(c.proxies_.at(0).timeout_, 500ms);
  EXPECT_EQ(c.uni_sse_.connect_code_to_http_response_.transforms_.at(0).to_.body_, "bad request");
  EXPECT_EQ(c.websocket_.effective_decompressed_message_size_limit(), 1310720);
  EXPECT_EQ(c.gyre_.num_event_loops_, 4);
  EXPECT_EQ(c.shutdown_.timeout_, 10s);
}

}  // namespace
}  // namespace gyre::config
