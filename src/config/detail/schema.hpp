// The config schema: one describe() per struct that lists its keys, in file order, and
// binds each to its member. It is the single source of truth for key names; the
// decoder (file/env/flags → structs), the encoder (defaultconfig dump), the env-name
// table and unknown-key detection are all visitors over it.
//
// A visitor V is called as v("key", member) for every key. A struct that appears
// "squashed" in the file (its keys sit next to the parent's, e.g. a namespace's name and
// its options) is described by calling describe() on the base class.
//
// Private to src/config (not installed, not included by public headers).
#pragma once

#include "config/config.hpp"

namespace gyre::config {

template <class V>
void describe(V& v, tls_config& s) {
  v("enabled", s.enabled_);
  v("cert_pem", s.cert_pem_);
  v("key_pem", s.key_pem_);
  v("server_ca_pem", s.server_ca_pem_);
  v("client_ca_pem", s.client_ca_pem_);
  v("insecure_skip_verify", s.insecure_skip_verify_);
  v("server_name", s.server_name_);
}

template <class V>
void describe(V& v, redis_replica_client_config& s) {
  v("enabled", s.enabled_);
}

template <class V>
void describe(V& v, redis_config& s) {
  v("address", s.address_);
  v("prefix", s.prefix_);
  v("connect_timeout", s.connect_timeout_);
  v("io_timeout", s.io_timeout_);
  v("db", s.db_);
  v("user", s.user_);
  v("password", s.password_);
  v("client_name", s.client_name_);
  v("force_resp2", s.force_resp2_);
  v("cluster_address", s.cluster_address_);
  v("sentinel_address", s.sentinel_address_);
  v("sentinel_user", s.sentinel_user_);
  v("sentinel_password", s.sentinel_password_);
  v("sentinel_master_name", s.sentinel_master_name_);
  v("sentinel_client_name", s.sentinel_client_name_);
  v("sentinel_tls", s.sentinel_tls_);
  v("tls", s.tls_);
  v("replica_client", s.replica_client_);
}

template <class V>
void describe(V& v, proxy_error_config& s) {
  v("code", s.code_);
  v("message", s.message_);
  v("temporary", s.temporary_);
}

template <class V>
void describe(V& v, proxy_disconnect_config& s) {
  v("code", s.code_);
  v("reason", s.reason_);
}

template <class V>
void describe(V& v, http_status_transform& s) {
  v("status_code", s.status_code_);
  v("to_error", s.to_error_);
  v("to_disconnect", s.to_disconnect_);
}

template <class V>
void describe(V& v, proxy_http_config& s) {
  v("tls", s.tls_);
  v("static_headers", s.static_headers_);
  v("status_to_code_transforms", s.status_to_code_transforms_);
}

template <class V>
void describe(V& v, proxy_grpc_config& s) {
  v("tls", s.tls_);
  v("credentials_key", s.credentials_key_);
  v("credentials_value", s.credentials_value_);
  v("compression", s.compression_);
  v("static_metadata", s.static_metadata_);
}

template <class V>
void describe(V& v, proxy_config& s) {
  v("endpoint", s.endpoint_);
  v("timeout", s.timeout_);
  v("http_headers", s.http_headers_);
  v("grpc_metadata", s.grpc_metadata_);
  v("emulated_headers", s.emulated_headers_);
  v("binary_encoding", s.binary_encoding_);
  v("include_connection_meta", s.include_connection_meta_);
  v("http", s.http_);
  v("grpc", s.grpc_);
}

template <class V>
void describe(V& v, enableable_proxy_config& s) {
  v("enabled", s.enabled_);
  describe(v, static_cast<proxy_config&>(s));
}

template <class V>
void describe(V& v, named_proxy_config& s) {
  v("name", s.name_);
  describe(v, static_cast<proxy_config&>(s));
}

// ------------------------------------------------------------------ channel options

template <class V>
void describe(V& v, map_options& s) {
  v("mode", s.mode_);
  v("key_ttl", s.key_ttl_);
  v("stream_size", s.stream_size_);
  v("stream_ttl", s.stream_ttl_);
  v("meta_ttl", s.meta_ttl_);
  v("remove_client_on_unsubscribe", s.remove_client_on_unsubscribe_);
  v("client_key", s.client_key_);
  v("allow_publish_for_client", s.allow_publish_for_client_);
  v("allow_publish_for_subscriber", s.allow_publish_for_subscriber_);
  v("allow_publish_for_anonymous", s.allow_publish_for_anonymous_);
  v("allow_remove_for_client", s.allow_remove_for_client_);
  v("allow_remove_for_subscriber", s.allow_remove_for_subscriber_);
  v("allow_remove_for_anonymous", s.allow_remove_for_anonymous_);
  v("publish_proxy_enabled", s.publish_proxy_enabled_);
  v("publish_proxy_name", s.publish_proxy_name_);
  v("remove_proxy_enabled", s.remove_proxy_enabled_);
  v("remove_proxy_name", s.remove_proxy_name_);
  v("default_page_size", s.default_page_size_);
  v("min_page_size", s.min_page_size_);
  v("max_page_size", s.max_page_size_);
  v("live_transition_max_publication_limit", s.live_transition_max_publication_limit_);
  v("subscribe_catch_up_timeout", s.subscribe_catch_up_timeout_);
}

template <class V>
void describe(V& v, shared_poll_options& s) {
  v("proxy_name", s.proxy_name_);
  v("refresh_interval", s.refresh_interval_);
  v("refresh_batch_size", s.refresh_batch_size_);
  v("max_keys_per_connection", s.max_keys_per_connection_);
  v("mode", s.mode_);
  v("channel_shutdown_delay", s.channel_shutdown_delay_);
  v("track_expired_extra_delay", s.track_expired_extra_delay_);
  v("publish_enabled", s.publish_enabled_);
}

template <class V>
void describe(V& v, channel_options& s) {
  v("presence", s.presence_);
  v("join_leave", s.join_leave_);
  v("force_push_join_leave", s.force_push_join_leave_);
  v("history_size", s.history_size_);
  v("history_ttl", s.history_ttl_);
  v("history_meta_ttl", s.history_meta_ttl_);
  v("force_positioning", s.force_positioning_);
  v("allow_positioning", s.allow_positioning_);
  v("force_recovery", s.force_recovery_);
  v("allow_recovery", s.allow_recovery_);
  v("force_recovery_mode", s.force_recovery_mode_);
  v("auto_cache_recover", s.auto_cache_recover_);
  v("allowed_delta_types", s.allowed_delta_types_);
  v("allow_tags_filter", s.allow_tags_filter_);
  v("delta_publish", s.delta_publish_);
  v("allow_subscribe_for_client", s.allow_subscribe_for_client_);
  v("allow_subscribe_for_anonymous", s.allow_subscribe_for_anonymous_);
  v("allow_publish_for_client", s.allow_publish_for_client_);
  v("allow_publish_for_subscriber", s.allow_publish_for_subscriber_);
  v("allow_publish_for_anonymous", s.allow_publish_for_anonymous_);
  v("allow_presence_for_client", s.allow_presence_for_client_);
  v("allow_presence_for_subscriber", s.allow_presence_for_subscriber_);
  v("allow_presence_for_anonymous", s.allow_presence_for_anonymous_);
  v("allow_history_for_client", s.allow_history_for_client_);
  v("allow_history_for_subscriber", s.allow_history_for_subscriber_);
  v("allow_history_for_anonymous", s.allow_history_for_anonymous_);
  v("allow_user_limited_channels", s.allow_user_limited_channels_);
  v("channel_regex", s.channel_regex_);
  v("publication_data_format", s.publication_data_format_);
  v("subscribe_proxy_enabled", s.subscribe_proxy_enabled_);
  v("subscribe_proxy_name", s.subscribe_proxy_name_);
  v("publish_proxy_enabled", s.publish_proxy_enabled_);
  v("publish_proxy_name", s.publish_proxy_name_);
  v("sub_refresh_proxy_enabled", s.sub_refresh_proxy_enabled_);
  v("sub_refresh_proxy_name", s.sub_refresh_proxy_name_);
  v("subscribe_stream_proxy_enabled", s.subscribe_stream_proxy_enabled_);
  v("subscribe_stream_proxy_name", s.subscribe_stream_proxy_name_);
  v("subscribe_stream_proxy_bidirectional", s.subscribe_stream_proxy_bidirectional_);
  v("subscription_type", s.subscription_type_);
  v("map_clients_presence_channel_prefix", s.map_clients_presence_channel_prefix_);
  v("map_users_presence_channel_prefix", s.map_users_presence_channel_prefix_);
  v("map", s.map_);
  v("shared_poll", s.shared_poll_);
  v("gyre_conflation", s.gyre_conflation_);
}

template <class V>
void describe(V& v, channel_namespace& s) {
  v("name", s.name_);
  describe(v, static_cast<channel_options&>(s));
}

// ------------------------------------------------------------------ http_server, log

template <class V>
void describe(V& v, tls_autocert_config& s) {
  v("enabled", s.enabled_);
  v("host_whitelist", s.host_whitelist_);
  v("cache_dir", s.cache_dir_);
  v("email", s.email_);
  v("server_name", s.server_name_);
  v("http", s.http_);
  v("http_addr", s.http_addr_);
}

template <class V>
void describe(V& v, http3_config& s) {
  v("enabled", s.enabled_);
}

template <class V>
void describe(V& v, http_server_config& s) {
  v("address", s.address_);
  v("port", s.port_);
  v("internal_address", s.internal_address_);
  v("internal_port", s.internal_port_);
  v("tls", s.tls_);
  v("tls_autocert", s.tls_autocert_);
  v("tls_external", s.tls_external_);
  v("internal_tls", s.internal_tls_);
  v("http3", s.http3_);
  v("h2c_external", s.h2c_external_);
}

template <class V>
void describe(V& v, log_config& s) {
  v("level", s.level_);
  v("file", s.file_);
}

// ------------------------------------------------------------------ engines

template <class V>
void describe(V& v, engine_redis_config& s) {
  describe(v, static_cast<redis_config&>(s));
  v("history_use_lists", s.history_use_lists_);
  v("presence_ttl", s.presence_ttl_);
  v("presence_hash_field_ttl", s.presence_hash_field_ttl_);
  v("presence_user_mapping", s.presence_user_mapping_);
}

template <class V>
void describe(V& v, engine_config& s) {
  v("type", s.type_);
  v("redis", s.redis_);
}

template <class V>
void describe(V& v, broker_redis_config& s) {
  describe(v, static_cast<redis_config&>(s));
  v("history_use_lists", s.history_use_lists_);
}

template <class V>
void describe(V& v, nats_raw_mode_config& s) {
  v("enabled", s.enabled_);
  v("channel_replacements", s.channel_replacements_);
  v("prefix", s.prefix_);
}

template <class V>
void describe(V& v, nats_broker_config& s) {
  v("prefix", s.prefix_);
  v("url", s.url_);
  v("dial_timeout", s.dial_timeout_);
  v("write_timeout", s.write_timeout_);
  v("tls", s.tls_);
  v("allow_wildcards", s.allow_wildcards_);
  v("raw_mode", s.raw_mode_);
}

template <class V>
void describe(V& v, postgres_outbox_config& s) {
  v("poll_interval", s.poll_interval_);
  v("batch_size", s.batch_size_);
}

template <class V>
void describe(V& v, postgres_broker_config& s) {
  v("dsn", s.dsn_);
  v("tls", s.tls_);
  v("pool_size", s.pool_size_);
  v("num_shards", s.num_shards_);
  v("cleanup_interval", s.cleanup_interval_);
  v("idempotent_result_ttl", s.idempotent_result_ttl_);
  v("binary_data", s.binary_data_);
  v("stream_retention", s.stream_retention_);
  v("use_notify", s.use_notify_);
  v("notify_dsn", s.notify_dsn_);
  v("table_prefix", s.table_prefix_);
  v("skip_schema_init", s.skip_schema_init_);
  v("outbox", s.outbox_);
  v("partition_lookahead_days", s.partition_lookahead_days_);
  v("partition_retention_days", s.partition_retention_days_);
}

template <class V>
void describe(V& v, redisnats_broker_config& s) {
  v("redis", s.redis_);
  v("nats", s.nats_);
}

template <class V>
void describe(V& v, broker_config& s) {
  v("enabled", s.enabled_);
  v("type", s.type_);
  v("redis", s.redis_);
  v("nats", s.nats_);
  v("postgres", s.postgres_);
  v("redisnats", s.redisnats_);
}

template <class V>
void describe(V& v, presence_redis_config& s) {
  describe(v, static_cast<redis_config&>(s));
  v("presence_ttl", s.presence_ttl_);
  v("presence_hash_field_ttl", s.presence_hash_field_ttl_);
  v("presence_user_mapping", s.presence_user_mapping_);
}

template <class V>
void describe(V& v, presence_manager_config& s) {
  v("enabled", s.enabled_);
  v("type", s.type_);
  v("redis", s.redis_);
}

template <class V>
void describe(V& v, map_broker_redis_config& s) {
  describe(v, static_cast<redis_config&>(s));
  v("cleanup_interval", s.cleanup_interval_);
  v("cleanup_batch_size", s.cleanup_batch_size_);
  v("idempotent_result_ttl", s.idempotent_result_ttl_);
  v("skip_pub_sub", s.skip_pub_sub_);
}

template <class V>
void describe(V& v, map_broker_postgres_config& s) {
  describe(v, static_cast<postgres_broker_config&>(s));
  v("ttl_check_interval", s.ttl_check_interval_);
}

template <class V>
void describe(V& v, map_broker_config& s) {
  v("type", s.type_);
  v("redis", s.redis_);
  v("postgres", s.postgres_);
}

template <class V>
void describe(V& v, controller_postgres_config& s) {
  v("dsn", s.dsn_);
  v("tls", s.tls_);
  v("pool_size", s.pool_size_);
  v("num_shards", s.num_shards_);
  v("table_prefix", s.table_prefix_);
  v("poll_interval", s.poll_interval_);
  v("use_notify", s.use_notify_);
  v("notify_dsn", s.notify_dsn_);
  v("partition_retention_days", s.partition_retention_days_);
  v("partition_lookahead_days", s.partition_lookahead_days_);
  v("partition_cleanup_interval", s.partition_cleanup_interval_);
  v("batch_size", s.batch_size_);
  v("skip_schema_init", s.skip_schema_init_);
}

template <class V>
void describe(V& v, controller_config& s) {
  v("enabled", s.enabled_);
  v("type", s.type_);
  v("postgres", s.postgres_);
}

template <class V>
void describe(V& v, shared_poll_config& s) {
  v("hmac_secret_key", s.hmac_secret_key_);
  v("hmac_previous_secret_key", s.hmac_previous_secret_key_);
  v("hmac_previous_secret_key_valid_until", s.hmac_previous_secret_key_valid_until_);
  v("concurrency_limit", s.concurrency_limit_);
}

// ------------------------------------------------------------------ client

template <class V>
void describe(V& v, token_config& s) {
  v("hmac_secret_key", s.hmac_secret_key_);
  v("hmac_previous_secret_key", s.hmac_previous_secret_key_);
  v("hmac_previous_secret_key_valid_until", s.hmac_previous_secret_key_valid_until_);
  v("rsa_public_key", s.rsa_public_key_);
  v("ecdsa_public_key", s.ecdsa_public_key_);
  v("jwks_public_endpoint", s.jwks_public_endpoint_);
  v("audience", s.audience_);
  v("audience_regex", s.audience_regex_);
  v("issuer", s.issuer_);
  v("issuer_regex", s.issuer_regex_);
  v("user_id_claim", s.user_id_claim_);
  v("insecure_skip_jwks_endpoint_safety_check", s.insecure_skip_jwks_endpoint_safety_check_);
}

template <class V>
void describe(V& v, subscription_token_config& s) {
  v("enabled", s.enabled_);
  describe(v, static_cast<token_config&>(s));
}

template <class V>
void describe(V& v, personal_channel_config& s) {
  v("enabled", s.enabled_);
  v("personal_channel_namespace", s.personal_channel_namespace_);
  v("single_connection", s.single_connection_);
}

template <class V>
void describe(V& v, disconnect_target& s) {
  v("code", s.code_);
  v("reason", s.reason_);
}

template <class V>
void describe(V& v, connect_code_disconnect_transform& s) {
  v("code", s.code_);
  v("to", s.to_);
}

template <class V>
void describe(V& v, connect_code_to_disconnect_config& s) {
  v("enabled", s.enabled_);
  v("transforms", s.transforms_);
}

template <class V>
void describe(V& v, client_proxies_config& s) {
  v("connect", s.connect_);
  v("refresh", s.refresh_);
}

template <class V>
void describe(V& v, client_config& s) {
  v("proxy", s.proxy_);
  v("allowed_origins", s.allowed_origins_);
  v("token", s.token_);
  v("subscription_token", s.subscription_token_);
  v("allow_anonymous_connect_without_token", s.allow_anonymous_connect_without_token_);
  v("disallow_anonymous_connection_tokens", s.disallow_anonymous_connection_tokens_);
  v("ping_interval", s.ping_interval_);
  v("pong_timeout", s.pong_timeout_);
  v("expired_close_delay", s.expired_close_delay_);
  v("expired_sub_close_delay", s.expired_sub_close_delay_);
  v("stale_close_delay", s.stale_close_delay_);
  v("channel_limit", s.channel_limit_);
  v("queue_max_size", s.queue_max_size_);
  v("presence_update_interval", s.presence_update_interval_);
  v("concurrency", s.concurrency_);
  v("channel_position_check_delay", s.channel_position_check_delay_);
  v("channel_position_max_time_lag", s.channel_position_max_time_lag_);
  v("connection_limit", s.connection_limit_);
  v("user_connection_limit", s.user_connection_limit_);
  v("connection_rate_limit", s.connection_rate_limit_);
  v("connect_include_server_time", s.connect_include_server_time_);
  v("history_max_publication_limit", s.history_max_publication_limit_);
  v("recovery_max_publication_limit", s.recovery_max_publication_limit_);
  v("insecure_skip_token_signature_verify", s.insecure_skip_token_signature_verify_);
  v("user_id_http_header", s.user_id_http_header_);
  v("insecure", s.insecure_);
  v("subscribe_to_user_personal_channel", s.subscribe_to_user_personal_channel_);
  v("connect_code_to_unidirectional_disconnect", s.connect_code_to_unidirectional_disconnect_);
}

// ------------------------------------------------------------------ channel, rpc, proxies

template <class V>
void describe(V& v, channel_proxies_config& s) {
  v("subscribe", s.subscribe_);
  v("publish", s.publish_);
  v("sub_refresh", s.sub_refresh_);
  v("subscribe_stream", s.subscribe_stream_);
  v("map_publish", s.map_publish_);
  v("map_remove", s.map_remove_);
  v("shared_poll_refresh", s.shared_poll_refresh_);
}

template <class V>
void describe(V& v, channel_config& s) {
  v("proxy", s.proxy_);
  v("without_namespace", s.without_namespace_);
  v("namespaces", s.namespaces_);
  v("history_meta_ttl", s.history_meta_ttl_);
  v("publication_data_format", s.publication_data_format_);
  v("max_length", s.max_length_);
  v("private_prefix", s.private_prefix_);
  v("namespace_boundary", s.namespace_boundary_);
  v("user_boundary", s.user_boundary_);
  v("user_separator", s.user_separator_);
}

template <class V>
void describe(V& v, rpc_options& s) {
  v("proxy_enabled", s.proxy_enabled_);
  v("proxy_name", s.proxy_name_);
}

template <class V>
void describe(V& v, rpc_namespace& s) {
  v("name", s.name_);
  describe(v, static_cast<rpc_options&>(s));
}

template <class V>
void describe(V& v, rpc_ping_config& s) {
  v("enabled", s.enabled_);
  v("method", s.method_);
}

template <class V>
void describe(V& v, rpc_config& s) {
  v("proxy", s.proxy_);
  v("without_namespace", s.without_namespace_);
  v("namespaces", s.namespaces_);
  v("ping", s.ping_);
  v("namespace_boundary", s.namespace_boundary_);
}

// ------------------------------------------------------------------ APIs, consumers

template <class V>
void describe(V& v, http_api_config& s) {
  v("disabled", s.disabled_);
  v("handler_prefix", s.handler_prefix_);
  v("key", s.key_);
  v("error_mode", s.error_mode_);
  v("external", s.external_);
  v("insecure", s.insecure_);
}

template <class V>
void describe(V& v, grpc_api_config& s) {
  v("enabled", s.enabled_);
  v("error_mode", s.error_mode_);
  v("address", s.address_);
  v("port", s.port_);
  v("key", s.key_);
  v("tls", s.tls_);
  v("reflection", s.reflection_);
  v("max_receive_message_size", s.max_receive_message_size_);
}

template <class V>
void describe(V& v, redis_stream_publication_data_mode& s) {
  v("enabled", s.enabled_);
  v("channels_value", s.channels_);
  v("idempotency_key_value", s.idempotency_key_);
  v("delta_value", s.delta_);
  v("version_value", s.version_);
  v("version_epoch_value", s.version_epoch_);
  v("tags_value_prefix", s.tags_prefix_);
}

template <class V>
void describe(V& v, nats_publication_data_mode& s) {
  v("enabled", s.enabled_);
  v("channels_header", s.channels_);
  v("idempotency_key_header", s.idempotency_key_);
  v("delta_header", s.delta_);
  v("version_header", s.version_);
  v("version_epoch_header", s.version_epoch_);
  v("tags_header_prefix", s.tags_prefix_);
}

template <class V>
void describe(V& v, redis_stream_consumer_config& s) {
  describe(v, static_cast<redis_config&>(s));
  v("streams", s.streams_);
  v("consumer_group", s.consumer_group_);
  v("visibility_timeout", s.visibility_timeout_);
  v("num_workers", s.num_workers_);
  v("payload_value", s.payload_value_);
  v("method_value", s.method_value_);
  v("publication_data_mode", s.publication_data_mode_);
}

template <class V>
void describe(V& v, nats_jetstream_consumer_config& s) {
  v("url", s.url_);
  v("credentials_file", s.credentials_file_);
  v("username", s.username_);
  v("password", s.password_);
  v("token", s.token_);
  v("stream_name", s.stream_name_);
  v("use_existing_consumer", s.use_existing_consumer_);
  v("subjects", s.subjects_);
  v("durable_consumer_name", s.durable_consumer_name_);
  v("deliver_policy", s.deliver_policy_);
  v("max_ack_pending", s.max_ack_pending_);
  v("method_header", s.method_header_);
  v("publication_data_mode", s.publication_data_mode_);
  v("tls", s.tls_);
}

template <class V>
void describe(V& v, postgresql_consumer_config& s) {
  v("dsn", s.dsn_);
  v("outbox_table_name", s.outbox_table_name_);
  v("num_partitions", s.num_partitions_);
  v("partition_select_limit", s.partition_select_limit_);
  v("partition_poll_interval", s.partition_poll_interval_);
  v("partition_notification_channel", s.partition_notification_channel_);
  v("partition_notification_dsn", s.partition_notification_dsn_);
  v("tls", s.tls_);
  v("use_try_lock", s.use_try_lock_);
}

template <class V>
void describe(V& v, consumer_config& s) {
  v("name", s.name_);
  v("enabled", s.enabled_);
  v("type", s.type_);
  v("postgresql", s.postgresql_);
  v("kafka", s.kafka_);
  v("nats_jetstream", s.nats_jetstream_);
  v("redis_stream", s.redis_stream_);
  v("google_pub_sub", s.google_pub_sub_);
  v("aws_sqs", s.aws_sqs_);
  v("azure_service_bus", s.azure_service_bus_);
}

// ------------------------------------------------------------------ transports

template <class V>
void describe(V& v, websocket_config& s) {
  v("disabled", s.disabled_);
  v("handler_prefix", s.handler_prefix_);
  v("compression", s.compression_);
  v("compression_min_size", s.compression_min_size_);
  v("compression_level", s.compression_level_);
  v("read_buffer_size", s.read_buffer_size_);
  v("use_write_buffer_pool", s.use_write_buffer_pool_);
  v("write_buffer_size", s.write_buffer_size_);
  v("write_timeout", s.write_timeout_);
  v("message_size_limit", s.message_size_limit_);
  v("decompressed_message_size_limit", s.decompressed_message_size_limit_);
}

template <class V>
void describe(V& v, sse_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
  v("max_request_body_size", s.max_request_body_size_);
}

template <class V>
void describe(V& v, http_stream_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
  v("max_request_body_size", s.max_request_body_size_);
}

template <class V>
void describe(V& v, webtransport_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
  v("message_size_limit", s.message_size_limit_);
}

template <class V>
void describe(V& v, uni_websocket_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
  v("compression", s.compression_);
  v("compression_min_size", s.compression_min_size_);
  v("compression_level", s.compression_level_);
  v("read_buffer_size", s.read_buffer_size_);
  v("use_write_buffer_pool", s.use_write_buffer_pool_);
  v("write_buffer_size", s.write_buffer_size_);
  v("write_timeout", s.write_timeout_);
  v("message_size_limit", s.message_size_limit_);
  v("decompressed_message_size_limit", s.decompressed_message_size_limit_);
  v("disable_closing_handshake", s.disable_closing_handshake_);
  v("disable_disconnect_push", s.disable_disconnect_push_);
  v("join_push_messages", s.join_push_messages_);
}

template <class V>
void describe(V& v, http_response_target& s) {
  v("status_code", s.status_code_);
  v("body", s.body_);
}

template <class V>
void describe(V& v, connect_code_http_transform& s) {
  v("code", s.code_);
  v("to", s.to_);
}

template <class V>
void describe(V& v, connect_code_to_http_response_config& s) {
  v("enabled", s.enabled_);
  v("transforms", s.transforms_);
}

template <class V>
void describe(V& v, uni_sse_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
  v("max_request_body_size", s.max_request_body_size_);
  v("connect_code_to_http_response", s.connect_code_to_http_response_);
}

template <class V>
void describe(V& v, uni_http_stream_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
  v("max_request_body_size", s.max_request_body_size_);
  v("connect_code_to_http_response", s.connect_code_to_http_response_);
}

template <class V>
void describe(V& v, uni_grpc_config& s) {
  v("enabled", s.enabled_);
  v("address", s.address_);
  v("port", s.port_);
  v("max_receive_message_size", s.max_receive_message_size_);
  v("tls", s.tls_);
}

template <class V>
void describe(V& v, emulation_config& s) {
  v("handler_prefix", s.handler_prefix_);
  v("max_request_body_size", s.max_request_body_size_);
}

template <class V>
void describe(V& v, init_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
}

// ------------------------------------------------------------------ ops, process

template <class V>
void describe(V& v, admin_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
  v("password", s.password_);
  v("secret", s.secret_);
  v("insecure", s.insecure_);
  v("web_path", s.web_path_);
  v("web_proxy_address", s.web_proxy_address_);
  v("external", s.external_);
}

template <class V>
void describe(V& v, prometheus_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
  v("instrument_http_handlers", s.instrument_http_handlers_);
  v("recovered_publications_histogram", s.recovered_publications_histogram_);
  v("native_histograms", s.native_histograms_);
}

template <class V>
void describe(V& v, health_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
}

template <class V>
void describe(V& v, swagger_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
}

template <class V>
void describe(V& v, debug_config& s) {
  v("enabled", s.enabled_);
  v("handler_prefix", s.handler_prefix_);
}

template <class V>
void describe(V& v, opentelemetry_config& s) {
  v("enabled", s.enabled_);
  v("api", s.api_);
  v("consuming", s.consuming_);
  v("google_cloud_adc_auth", s.google_cloud_adc_auth_);
}

template <class V>
void describe(V& v, graphite_config& s) {
  v("enabled", s.enabled_);
  v("host", s.host_);
  v("port", s.port_);
  v("prefix", s.prefix_);
  v("interval", s.interval_);
  v("tags", s.tags_);
}

template <class V>
void describe(V& v, usage_stats_config& s) {
  v("disabled", s.disabled_);
}

template <class V>
void describe(V& v, node_config& s) {
  v("name", s.name_);
  v("info_metrics_aggregate_interval", s.info_metrics_aggregate_interval_);
}

template <class V>
void describe(V& v, shutdown_config& s) {
  v("timeout", s.timeout_);
}

template <class V>
void describe(V& v, gyre_http_server_config& s) {
  v("max_header_size", s.max_header_size_);
}

template <class V>
void describe(V& v, gyre_http_api_config& s) {
  v("max_request_body_size", s.max_request_body_size_);
  v("max_batch_commands", s.max_batch_commands_);
  v("max_response_size", s.max_response_size_);
}

template <class V>
void describe(V& v, gyre_opentelemetry_config& s) {
  v("client_commands", s.client_commands_);
}

template <class V>
void describe(V& v, gyre_config& s) {
  v("num_event_loops", s.num_event_loops_);
  v("position_check_batch_size", s.position_check_batch_size_);
  v("http_server", s.http_server_);
  v("http_api", s.http_api_);
  v("read_budget_commands", s.read_budget_commands_);
  v("read_budget_bytes", s.read_budget_bytes_);
  v("event_loop_inbox_size", s.event_loop_inbox_size_);
  v("log_format", s.log_format_);
  v("opentelemetry", s.opentelemetry_);
}

template <class V>
void describe(V& v, config& s) {
  v("http_server", s.http_server_);
  v("log", s.log_);
  v("engine", s.engine_);
  v("broker", s.broker_);
  v("presence_manager", s.presence_manager_);
  v("map_broker", s.map_broker_);
  v("controller", s.controller_);
  v("shared_poll", s.shared_poll_);
  v("client", s.client_);
  v("channel", s.channel_);
  v("rpc", s.rpc_);
  v("proxies", s.proxies_);
  v("http_api", s.http_api_);
  v("grpc_api", s.grpc_api_);
  v("consumers", s.consumers_);
  v("websocket", s.websocket_);
  v("sse", s.sse_);
  v("http_stream", s.http_stream_);
  v("webtransport", s.webtransport_);
  v("uni_sse", s.uni_sse_);
  v("uni_http_stream", s.uni_http_stream_);
  v("uni_websocket", s.uni_websocket_);
  v("uni_grpc", s.uni_grpc_);
  v("emulation", s.emulation_);
  v("init", s.init_);
  v("admin", s.admin_);
  v("prometheus", s.prometheus_);
  v("health", s.health_);
  v("swagger", s.swagger_);
  v("debug", s.debug_);
  v("opentelemetry", s.opentelemetry_);
  v("graphite", s.graphite_);
  v("usage_stats", s.usage_stats_);
  v("node", s.node_);
  v("shutdown", s.shutdown_);
  v("pid_file", s.pid_file_);
  v("enable_unreleased_features", s.enable_unreleased_features_);
  v("gyre", s.gyre_);
}

}  // namespace gyre::config
