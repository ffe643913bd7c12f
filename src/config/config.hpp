// The whole server configuration, laid out exactly like a Centrifugo v6 config file
// (configuration.md §4) so that an existing file maps 1:1: a key path such as
// `client.token.hmac_secret_key` is the member path `client_.token_.hmac_secret_key_`.
//
// What holds:
//  * Plain data, copyable, comparable with ==. Member initializers are the documented
//    defaults; the loader keeps a default whenever the input value is the zero value
//    (so `"port": 0` still means 8000), as Centrifugo does.
//  * Values that default to another key (`http_server.internal_port` = `port`,
//    namespace `history_meta_ttl` = `channel.history_meta_ttl`, `node.name` = host
//    name + port) stay empty/zero here; consumers resolve them (see the helpers below
//    and in channel_resolution.hpp).
//  * One Gyre-only section exists: `gyre` (see gyre_config). Centrifugo ignores it
//    with an unknown-key warning, so a shared file stays usable by both.
//
// Threading: a config is immutable once loaded; share it by const reference or
// shared_ptr<const config>. SIGHUP reload builds a new instance.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/blocks.hpp"
#include "config/channel_options.hpp"
#include "config/consumers.hpp"
#include "config/duration.hpp"

namespace gyre::config {

// ---------------------------------------------------------------------------- http_server

struct tls_autocert_config {
  bool enabled_ = false;
  std::vector<std::string> host_whitelist_;
  std::string cache_dir_;
  std::string email_;
  std::string server_name_;
  bool http_ = false;  // serve the http-01 challenge
  std::string http_addr_ = ":80";
  bool operator==(const tls_autocert_config&) const = default;
};

struct http3_config {
  bool enabled_ = false;
  bool operator==(const http3_config&) const = default;
};

struct http_server_config {
  std::string address_;  // "" = all interfaces
  int64_t port_ = 8000;
  std::string internal_address_;  // "" = address_
  std::string internal_port_;     // "" = port_ (a string in Centrifugo too)
  tls_config tls_;
  tls_autocert_config tls_autocert_;
  bool tls_external_ = false;  // TLS only on the external listener
  tls_config internal_tls_;
  http3_config http3_;
  bool h2c_external_ = false;

  std::string effective_internal_address() const {
    return internal_address_.empty() ? address_ : internal_address_;
  }
  std::string effective_internal_port() const {
    return internal_port_.empty() ? std::to_string(port_) : internal_port_;
  }
  bool operator==(const http_server_config&) const = default;
};

// ---------------------------------------------------------------------------- log

struct log_config {
  std::string level_ = "info";  // none | trace | debug | info | warn | error
  std::string file_;            // "" = standard output
  bool operator==(const log_config&) const = default;
};

// ---------------------------------------------------------------------------- engines

struct engine_redis_config : redis_config {
  bool history_use_lists_ = false;
  duration presence_ttl_ = 60s;
  bool presence_hash_field_ttl_ = false;
  bool presence_user_mapping_ = false;
  bool operator==(const engine_redis_config&) const = default;
};

struct engine_config {
  std::string type_ = "memory";  // memory | redis
  engine_redis_config redis_;
  bool operator==(const engine_config&) const = default;
};

struct broker_redis_config : redis_config {
  bool history_use_lists_ = false;
  bool operator==(const broker_redis_config&) const = default;
};

struct nats_raw_mode_config {
  bool enabled_ = false;
  string_map channel_replacements_;  // e.g. {":": "."}
  std::string prefix_;
  bool operator==(const nats_raw_mode_config&) const = default;
};

struct nats_broker_config {
  std::string prefix_ = "centrifugo";
  std::string url_ = "nats://localhost:4222";
  duration dial_timeout_ = 1s;
  duration write_timeout_ = 1s;
  tls_config tls_;
  bool allow_wildcards_ = false;
  nats_raw_mode_config raw_mode_;
  bool operator==(const nats_broker_config&) const = default;
};

struct postgres_outbox_config {
  duration poll_interval_ = 100ms;
  int64_t batch_size_ = 1000;
  bool operator==(const postgres_outbox_config&) const = default;
};

struct postgres_broker_config {
  std::string dsn_;
  tls_config tls_;
  int64_t pool_size_ = 16;
  int64_t num_shards_ = 8;
  duration cleanup_interval_ = 1min;
  duration idempotent_result_ttl_ = 5min;
  bool binary_data_ = false;
  duration stream_retention_ = 24h;
  bool use_notify_ = false;
  std::string notify_dsn_;
  std::string table_prefix_ = "cf";
  bool skip_schema_init_ = false;
  postgres_outbox_config outbox_;
  int64_t partition_lookahead_days_ = 2;
  int64_t partition_retention_days_ = 7;
  bool operator==(const postgres_broker_config&) const = default;
};

// `broker.redisnats`: schema only; the experimental type reads broker.redis/broker.nats.
struct redisnats_broker_config {
  redis_config redis_;
  nats_broker_config nats_;
  bool operator==(const redisnats_broker_config&) const = default;
};

struct broker_config {
  bool enabled_ = false;
  std::string type_ = "memory";  // memory | redis | nats | postgres | redisnats
  broker_redis_config redis_;
  nats_broker_config nats_;
  postgres_broker_config postgres_;
  redisnats_broker_config redisnats_;
  bool operator==(const broker_config&) const = default;
};

struct presence_redis_config : redis_config {
  duration presence_ttl_ = 60s;
  bool presence_hash_field_ttl_ = false;
  bool presence_user_mapping_ = false;
  bool operator==(const presence_redis_config&) const = default;
};

struct presence_manager_config {
  bool enabled_ = false;
  std::string type_ = "memory";  // memory | redis
  presence_redis_config redis_;
  bool operator==(const presence_manager_config&) const = default;
};

struct map_broker_redis_config : redis_config {
  duration cleanup_interval_ = 1s;  // negative disables
  int64_t cleanup_batch_size_ = 100;
  duration idempotent_result_ttl_ = 5min;
  bool skip_pub_sub_ = false;
  bool operator==(const map_broker_redis_config&) const = default;
};

struct map_broker_postgres_config : postgres_broker_config {
  duration ttl_check_interval_ = 1s;
  bool operator==(const map_broker_postgres_config&) const = default;
};

struct map_broker_config {
  std::string type_ = "memory";  // memory | redis | postgres
  map_broker_redis_config redis_;
  map_broker_postgres_config postgres_;
  bool operator==(const map_broker_config&) const = default;
};

struct controller_postgres_config {
  std::string dsn_;
  tls_config tls_;
  int64_t pool_size_ = 8;
  int64_t num_shards_ = 1;
  std::string table_prefix_ = "cf";
  duration poll_interval_ = 50ms;
  bool use_notify_ = false;
  std::string notify_dsn_;
  int64_t partition_retention_days_ = 1;
  int64_t partition_lookahead_days_ = 2;
  duration partition_cleanup_interval_ = 1min;
  int64_t batch_size_ = 1000;
  bool skip_schema_init_ = false;
  bool operator==(const controller_postgres_config&) const = default;
};

struct controller_config {
  bool enabled_ = false;
  std::string type_;  // OSS: postgres
  controller_postgres_config postgres_;
  bool operator==(const controller_config&) const = default;
};

// ---------------------------------------------------------------------------- shared_poll

struct shared_poll_config {
  std::string hmac_secret_key_;  // required when any namespace uses shared_poll
  std::string hmac_previous_secret_key_;
  int64_t hmac_previous_secret_key_valid_until_ = 0;  // unix seconds
  int64_t concurrency_limit_ = 0;                     // 0 = unlimited
  bool operator==(const shared_poll_config&) const = default;
};

// ---------------------------------------------------------------------------- client

// `client.token` (and, with `enabled`, `client.subscription_token`).
struct token_config {
  std::string hmac_secret_key_;
  std::string hmac_previous_secret_key_;
  int64_t hmac_previous_secret_key_valid_until_ = 0;  // unix seconds, 0 = no deadline
  std::string rsa_public_key_;                        // PEM
  std::string ecdsa_public_key_;                      // PEM
  std::string jwks_public_endpoint_;                  // may hold {{group}} placeholders
  std::string audience_;
  std::string audience_regex_;
  std::string issuer_;
  std::string issuer_regex_;
  std::string user_id_claim_;  // ^[a-zA-Z_]+$
  bool insecure_skip_jwks_endpoint_safety_check_ = false;
  bool operator==(const token_config&) const = default;
};

struct subscription_token_config : token_config {
  bool enabled_ = false;
  bool operator==(const subscription_token_config&) const = default;
};

struct personal_channel_config {
  bool enabled_ = false;
  std::string personal_channel_namespace_;
  bool single_connection_ = false;  // needs presence on that namespace
  bool operator==(const personal_channel_config&) const = default;
};

struct disconnect_target {
  uint32_t code_ = 0;
  std::string reason_;
  bool operator==(const disconnect_target&) const = default;
};
struct connect_code_disconnect_transform {
  uint32_t code_ = 0;
  disconnect_target to_;
  bool operator==(const connect_code_disconnect_transform&) const = default;
};
struct connect_code_to_disconnect_config {
  bool enabled_ = false;
  std::vector<connect_code_disconnect_transform> transforms_;
  bool operator==(const connect_code_to_disconnect_config&) const = default;
};

struct client_proxies_config {
  enableable_proxy_config connect_;
  enableable_proxy_config refresh_;
  bool operator==(const client_proxies_config&) const = default;
};

struct client_config {
  client_proxies_config proxy_;
  std::vector<std::string> allowed_origins_;  // globs; "*" = all; empty = no Origin only
  token_config token_;
  subscription_token_config subscription_token_;
  bool allow_anonymous_connect_without_token_ = false;
  bool disallow_anonymous_connection_tokens_ = false;
  duration ping_interval_ = 25s;  // must be > pong_timeout
  duration pong_timeout_ = 8s;
  duration expired_close_delay_ = 25s;
  duration expired_sub_close_delay_ = 25s;
  duration stale_close_delay_ = 10s;
  int64_t channel_limit_ = 128;
  int64_t queue_max_size_ = 1048576;  // bytes; overflow → disconnect 3008
  duration presence_update_interval_ = 27s;
  int64_t concurrency_ = 0;  // 0/1 = sequential
  duration channel_position_check_delay_ = 40s;
  duration channel_position_max_time_lag_{0};  // 0 = off
  int64_t connection_limit_ = 0;
  int64_t user_connection_limit_ = 0;
  int64_t connection_rate_limit_ = 0;
  bool connect_include_server_time_ = false;
  int64_t history_max_publication_limit_ = 300;
  int64_t recovery_max_publication_limit_ = 300;
  bool insecure_skip_token_signature_verify_ = false;
  std::string user_id_http_header_;
  bool insecure_ = false;
  personal_channel_config subscribe_to_user_personal_channel_;
  connect_code_to_disconnect_config connect_code_to_unidirectional_disconnect_;
  bool operator==(const client_config&) const = default;
};

// ---------------------------------------------------------------------------- channel

// `channel.proxy.*`: the proxies referenced by the name `default`.
struct channel_proxies_config {
  proxy_config subscribe_;
  proxy_config publish_;
  proxy_config sub_refresh_;
  proxy_config subscribe_stream_;
  proxy_config map_publish_;
  proxy_config map_remove_;
  proxy_config shared_poll_refresh_;
  bool operator==(const channel_proxies_config&) const = default;
};

struct channel_config {
  channel_proxies_config proxy_;
  channel_options without_namespace_;
  std::vector<channel_namespace> namespaces_;
  duration history_meta_ttl_ = 720h;  // whole seconds
  std::string publication_data_format_;
  int64_t max_length_ = 255;
  std::string private_prefix_ = "$";
  std::string namespace_boundary_ = ":";
  std::string user_boundary_ = "#";
  std::string user_separator_ = ",";
  bool operator==(const channel_config&) const = default;
};

// ---------------------------------------------------------------------------- rpc

struct rpc_options {
  bool proxy_enabled_ = false;
  std::string proxy_name_ = "default";
  bool operator==(const rpc_options&) const = default;
};

struct rpc_namespace : rpc_options {
  std::string name_;
  bool operator==(const rpc_namespace&) const = default;
};

struct rpc_ping_config {
  bool enabled_ = false;
  std::string method_ = "ping";
  bool operator==(const rpc_ping_config&) const = default;
};

struct rpc_config {
  proxy_config proxy_;  // the proxy named `default`
  rpc_options without_namespace_;
  std::vector<rpc_namespace> namespaces_;
  rpc_ping_config ping_;
  std::string namespace_boundary_ = ":";
  bool operator==(const rpc_config&) const = default;
};

// ---------------------------------------------------------------------------- server APIs

struct http_api_config {
  bool disabled_ = false;
  std::string handler_prefix_ = "/api";
  std::string key_;
  std::string error_mode_;  // "" | transport
  bool external_ = false;
  bool insecure_ = false;
  bool operator==(const http_api_config&) const = default;
};

struct grpc_api_config {
  bool enabled_ = false;
  std::string error_mode_;  // "" | transport
  std::string address_;
  int64_t port_ = 10000;
  std::string key_;
  tls_config tls_;
  bool reflection_ = false;
  int64_t max_receive_message_size_ = 0;  // 0 = gRPC default
  bool operator==(const grpc_api_config&) const = default;
};

// ---------------------------------------------------------------------------- consumers

// `consumers[]` item (docs/consumers.md). The blocks of the types Gyre runs or validates
// are typed (consumers.hpp); the others are kept raw so that a Centrifugo file with them
// loads without warnings.
struct consumer_config {
  std::string name_;  // ^[a-zA-Z0-9_]{2,}$, unique
  bool enabled_ = false;
  std::string type_;
  postgresql_consumer_config postgresql_;
  raw_json kafka_;
  nats_jetstream_consumer_config nats_jetstream_;
  redis_stream_consumer_config redis_stream_;
  raw_json google_pub_sub_;
  raw_json aws_sqs_;
  raw_json azure_service_bus_;
  bool operator==(const consumer_config&) const = default;
};

// ---------------------------------------------------------------------------- transports

struct websocket_config {
  bool disabled_ = false;
  std::string handler_prefix_ = "/connection/websocket";
  bool compression_ = false;
  int64_t compression_min_size_ = 0;
  int64_t compression_level_ = 1;
  int64_t read_buffer_size_ = 0;
  bool use_write_buffer_pool_ = false;
  int64_t write_buffer_size_ = 0;
  duration write_timeout_ = 1000ms;
  int64_t message_size_limit_ = 65536;
  int64_t decompressed_message_size_limit_ = 0;  // 0 = 10 × message_size_limit

  int64_t effective_decompressed_message_size_limit() const {
    return decompressed_message_size_limit_ > 0 ? decompressed_message_size_limit_
                                                : 10 * message_size_limit_;
  }
  bool operator==(const websocket_config&) const = default;
};

struct sse_config {
  bool enabled_ = false;
  std::string handler_prefix_ = "/connection/sse";
  int64_t max_request_body_size_ = 65536;
  bool operator==(const sse_config&) const = default;
};

struct http_stream_config {
  bool enabled_ = false;
  std::string handler_prefix_ = "/connection/http_stream";
  int64_t max_request_body_size_ = 65536;
  bool operator==(const http_stream_config&) const = default;
};

struct webtransport_config {
  bool enabled_ = false;
  std::string handler_prefix_ = "/connection/webtransport";
  int64_t message_size_limit_ = 65536;
  bool operator==(const webtransport_config&) const = default;
};

struct uni_websocket_config {
  bool enabled_ = false;
  std::string handler_prefix_ = "/connection/uni_websocket";
  bool compression_ = false;
  int64_t compression_min_size_ = 0;
  int64_t compression_level_ = 1;
  int64_t read_buffer_size_ = 0;
  bool use_write_buffer_pool_ = false;
  int64_t write_buffer_size_ = 0;
  duration write_timeout_ = 1000ms;
  int64_t message_size_limit_ = 65536;
  int64_t decompressed_message_size_limit_ = 0;
  bool disable_closing_handshake_ = false;
  bool disable_disconnect_push_ = false;
  bool join_push_messages_ = false;
  bool operator==(const uni_websocket_config&) const = default;
};

struct http_response_target {
  int64_t status_code_ = 0;
  std::string body_;
  bool operator==(const http_response_target&) const = default;
};
struct connect_code_http_transform {
  uint32_t code_ = 0;
  http_response_target to_;
  bool operator==(const connect_code_http_transform&) const = default;
};
struct connect_code_to_http_response_config {
  bool enabled_ = false;
  std::vector<connect_code_http_transform> transforms_;
  bool operator==(const connect_code_to_http_response_config&) const = default;
};

struct uni_sse_config {
  bool enabled_ = false;
  std::string handler_prefix_ = "/connection/uni_sse";
  int64_t max_request_body_size_ = 65536;
  connect_code_to_http_response_config connect_code_to_http_response_;
  bool operator==(const uni_sse_config&) const = default;
};

struct uni_http_stream_config {
  bool enabled_ = false;
  std::string handler_prefix_ = "/connection/uni_http_stream";
  int64_t max_request_body_size_ = 65536;
  connect_code_to_http_response_config connect_code_to_http_response_;
  bool operator==(const uni_http_stream_config&) const = default;
};

struct uni_grpc_config {
  bool enabled_ = false;
  std::string address_;
  int64_t port_ = 11000;
  int64_t max_receive_message_size_ = 0;
  tls_config tls_;
  bool operator==(const uni_grpc_config&) const = default;
};

struct emulation_config {
  std::string handler_prefix_ = "/emulation";
  int64_t max_request_body_size_ = 65536;
  bool operator==(const emulation_config&) const = default;
};

struct init_config {
  bool enabled_ = false;
  std::string handler_prefix_ = "/connection/init";
  bool operator==(const init_config&) const = default;
};

// ---------------------------------------------------------------------------- ops

struct admin_config {
  bool enabled_ = false;
  std::string handler_prefix_;
  std::string password_;
  std::string secret_;
  bool insecure_ = false;
  std::string web_path_;
  std::string web_proxy_address_;
  bool external_ = false;
  bool operator==(const admin_config&) const = default;
};

struct prometheus_config {
  bool enabled_ = false;
  std::string handler_prefix_ = "/metrics";
  bool instrument_http_handlers_ = false;
  bool recovered_publications_histogram_ = false;
  bool native_histograms_ = false;
  bool operator==(const prometheus_config&) const = default;
};

// health / swagger / debug share a shape but not a default prefix.
struct health_config {
  bool enabled_ = false;
  std::string handler_prefix_ = "/health";
  bool operator==(const health_config&) const = default;
};
struct swagger_config {
  bool enabled_ = false;
  std::string handler_prefix_ = "/swagger";
  bool operator==(const swagger_config&) const = default;
};
struct debug_config {
  bool enabled_ = false;
  std::string handler_prefix_ = "/debug/pprof";
  bool operator==(const debug_config&) const = default;
};

struct opentelemetry_config {
  bool enabled_ = false;
  bool api_ = false;
  bool consuming_ = false;
  bool google_cloud_adc_auth_ = false;
  bool operator==(const opentelemetry_config&) const = default;
};

struct graphite_config {
  bool enabled_ = false;
  std::string host_ = "localhost";
  int64_t port_ = 2003;
  std::string prefix_ = "centrifugo";
  duration interval_ = 10s;
  bool tags_ = false;
  bool operator==(const graphite_config&) const = default;
};

struct usage_stats_config {
  bool disabled_ = false;
  bool operator==(const usage_stats_config&) const = default;
};

// ---------------------------------------------------------------------------- process

struct node_config {
  std::string name_;  // "" = <hostname>_<port>
  duration info_metrics_aggregate_interval_ = 60s;
  bool operator==(const node_config&) const = default;
};

struct shutdown_config {
  duration timeout_ = 30s;  // hard-exit deadline
  bool operator==(const shutdown_config&) const = default;
};

// `gyre.http_server`: bounds of the HTTP listeners (docs/supported-options.md).
struct gyre_http_server_config {
  int64_t max_header_size_ = 16 * 1024;  // request line + header fields; 431 above
  bool operator==(const gyre_http_server_config&) const = default;
};

// `gyre.http_api`: bounds of the server HTTP API (docs/supported-options.md).
struct gyre_http_api_config {
  int64_t max_request_body_size_ = 16 * 1024 * 1024;  // 413 above
  int64_t max_batch_commands_ = 10000;                // batch/legacy commands, broadcast channels
  int64_t max_response_size_ = 16 * 1024 * 1024;      // bytes of one reply; 106 above
  bool operator==(const gyre_http_api_config&) const = default;
};

// `gyre.opentelemetry`: what Gyre traces beyond Centrifugo (docs/tracing.md).
struct gyre_opentelemetry_config {
  // A span per client command that reaches the broker (subscribe, publish, history,
  // presence, presence_stats). Needs opentelemetry.enabled.
  bool client_commands_ = false;
  bool operator==(const gyre_opentelemetry_config&) const = default;
};

// `gyre`: settings that only Gyre has (Centrifugo warns about and ignores this section).
struct gyre_config {
  // Number of I/O event loops (threads that own connections). 0 = one per CPU core
  // (std::thread::hardware_concurrency()). Env: CENTRIFUGO_GYRE_NUM_EVENT_LOOPS.
  int64_t num_event_loops_ = 0;
  // Channels whose stream position is read in one pipelined batch when the broker's
  // subscriptions come back after a connection loss (docs/design/resubscribe-position-check.md):
  // one batch is one write and one round trip; 1000 metadata reads are ~1 ms of Redis time,
  // so commands of other clients queued behind a batch wait no longer than that, and a
  // node serving 100,000 channels checks them all in ~100 round trips.
  // Env: CENTRIFUGO_GYRE_POSITION_CHECK_BATCH_SIZE.
  int64_t position_check_batch_size_ = 1000;
  gyre_http_server_config http_server_;
  gyre_http_api_config http_api_;
  // Flow control (docs/design/flow-control.md). Commands one read turn of a connection may
  // run before its loop serves the others: a turn of the costliest commands (history of
  // 100-300 publications, ~30 µs each) stays at a few milliseconds, and an SDK's largest
  // batch (connect and client.channel_limit subscribes) takes three turns.
  // Env: CENTRIFUGO_GYRE_READ_BUDGET_COMMANDS.
  int64_t read_budget_commands_ = 64;
  // Bytes one read turn takes from a socket (at least websocket.message_size_limit + 14,
  // so that a whole message always fits). Env: CENTRIFUGO_GYRE_READ_BUDGET_BYTES.
  int64_t read_budget_bytes_ = 65536;
  // Events (publications, joins, leaves) waiting in one event loop's inbox; more are
  // dropped, and positioned subscribers of their channels recover. About a second of a
  // storm of 60,000 publications/s. Env: CENTRIFUGO_GYRE_EVENT_LOOP_INBOX_SIZE.
  int64_t event_loop_inbox_size_ = 65536;
  // Log line format (docs/logging.md): "auto" = human-readable text when the log goes to a
  // terminal, JSON lines otherwise; "text"; "json". Env: CENTRIFUGO_GYRE_LOG_FORMAT.
  std::string log_format_ = "auto";
  gyre_opentelemetry_config opentelemetry_;
  bool operator==(const gyre_config&) const = default;
};

// ---------------------------------------------------------------------------- root

struct config {
  http_server_config http_server_;
  log_config log_;
  engine_config engine_;
  broker_config broker_;
  presence_manager_config presence_manager_;
  map_broker_config map_broker_;
  controller_config controller_;
  shared_poll_config shared_poll_;
  client_config client_;
  channel_config channel_;
  rpc_config rpc_;
  std::vector<named_proxy_config> proxies_;
  http_api_config http_api_;
  grpc_api_config grpc_api_;
  std::vector<consumer_config> consumers_;
  websocket_config websocket_;
  sse_config sse_;
  http_stream_config http_stream_;
  webtransport_config webtransport_;
  uni_sse_config uni_sse_;
  uni_http_stream_config uni_http_stream_;
  uni_websocket_config uni_websocket_;
  uni_grpc_config uni_grpc_;
  emulation_config emulation_;
  init_config init_;
  admin_config admin_;
  prometheus_config prometheus_;
  health_config health_;
  swagger_config swagger_;
  debug_config debug_;
  opentelemetry_config opentelemetry_;
  graphite_config graphite_;
  usage_stats_config usage_stats_;
  node_config node_;
  shutdown_config shutdown_;
  std::string pid_file_;
  bool enable_unreleased_features_ = false;
  gyre_config gyre_;
  bool operator==(const config&) const = default;
};

}  // namespace gyre::config
