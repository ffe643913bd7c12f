// The type-specific blocks of a `consumers[]` item (Centrifugo's keys and defaults) for the
// consumer types Gyre runs (redis_stream, nats_jetstream, postgresql), and
// the checks an enabled consumer must pass. The other types (kafka, google_pub_sub,
// aws_sqs, azure_service_bus) stay raw JSON blocks in consumer_config: accepted, never run.
// Runtime behaviour: docs/consumers.md.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/blocks.hpp"
#include "config/duration.hpp"

namespace gyre::config {

// `publication_data_mode`: the message body is the publication's data; the names of the
// metadata (Redis Stream fields, NATS headers) that carry the rest.
struct publication_data_mode_config {
  bool enabled_ = false;
  std::string channels_ = "centrifugo-channels";
  std::string idempotency_key_ = "centrifugo-idempotency-key";
  std::string delta_ = "centrifugo-delta";
  std::string version_ = "centrifugo-version";
  std::string version_epoch_ = "centrifugo-version-epoch";
  std::string tags_prefix_ = "centrifugo-tag-";
  bool operator==(const publication_data_mode_config&) const = default;
};
// Keys `channels_value`, `idempotency_key_value`, ..., `tags_value_prefix`.
struct redis_stream_publication_data_mode : publication_data_mode_config {
  bool operator==(const redis_stream_publication_data_mode&) const = default;
};
// Keys `channels_header`, `idempotency_key_header`, ..., `tags_header_prefix`.
struct nats_publication_data_mode : publication_data_mode_config {
  bool operator==(const nats_publication_data_mode&) const = default;
};

// `redis_stream`: the <Redis> connection keys next to the consumer's own.
struct redis_stream_consumer_config : redis_config {
  std::vector<std::string> streams_;
  std::string consumer_group_;
  duration visibility_timeout_ = std::chrono::seconds(30);
  int64_t num_workers_ = 1;
  std::string payload_value_ = "payload";
  std::string method_value_ = "method";
  redis_stream_publication_data_mode publication_data_mode_;
  bool operator==(const redis_stream_consumer_config&) const = default;
};

// `nats_jetstream`.
struct nats_jetstream_consumer_config {
  std::string url_ = "nats://127.0.0.1:4222";
  std::string credentials_file_;
  std::string username_;
  std::string password_;
  std::string token_;
  std::string stream_name_;
  bool use_existing_consumer_ = false;
  std::vector<std::string> subjects_;
  std::string durable_consumer_name_;
  std::string deliver_policy_ = "new";
  int64_t max_ack_pending_ = 100;
  std::string method_header_ = "centrifugo-method";
  nats_publication_data_mode publication_data_mode_;
  tls_config tls_;
  bool operator==(const nats_jetstream_consumer_config&) const = default;
};

// `postgresql`: the outbox table consumer.
struct postgresql_consumer_config {
  std::string dsn_;
  std::string outbox_table_name_;
  int64_t num_partitions_ = 1;
  int64_t partition_select_limit_ = 100;
  duration partition_poll_interval_ = std::chrono::milliseconds(300);
  std::string partition_notification_channel_;
  std::string partition_notification_dsn_;
  tls_config tls_;
  bool use_try_lock_ = false;
  bool operator==(const postgresql_consumer_config&) const = default;
};

// (key, message) pairs for what an enabled consumer's block lacks; `key` is the full
// path, e.g. "consumers[1].redis_stream.streams".
using consumer_problems = std::vector<std::pair<std::string, std::string>>;
void check_redis_stream_consumer(const redis_stream_consumer_config& c, const std::string& key,
                                 consumer_problems& out);
void check_nats_jetstream_consumer(const nats_jetstream_consumer_config& c, const std::string& key,
                                   consumer_problems& out);
void check_postgresql_consumer(const postgresql_consumer_config& c, const std::string& key,
                               consumer_problems& out);

}  // namespace gyre::config
