// Checks of the consumer blocks an enabled consumer needs; see consumers.hpp.
#include "config/consumers.hpp"

namespace gyre::config {

namespace {

void check_data_mode(const publication_data_mode_config& m, const std::string& key,
                     const char* channels_key, consumer_problems& out) {
  if (m.enabled_ && m.channels_.empty())
    out.emplace_back(key + ".publication_data_mode." + channels_key,
                     "required when publication_data_mode is enabled");
}

}  // namespace

void check_redis_stream_consumer(const redis_stream_consumer_config& c, const std::string& key,
                                 consumer_problems& out) {
  if (c.address_.empty() && c.cluster_address_.empty() && c.sentinel_address_.empty())
    out.emplace_back(key + ".address", "a Redis address is required");
  if (c.streams_.empty()) out.emplace_back(key + ".streams", "at least one stream is required");
  for (size_t i = 0; i < c.streams_.size(); ++i)
    if (c.streams_[i].empty())
      out.emplace_back(key + ".streams[" + std::to_string(i) + "]", "empty stream name");
  if (c.consumer_group_.empty()) out.emplace_back(key + ".consumer_group", "required");
  if (c.num_workers_ < 1 || c.num_workers_ > 1024)
    out.emplace_back(key + ".num_workers", "must be between 1 and 1024");
  if (c.visibility_timeout_.count() <= 0)
    out.emplace_back(key + ".visibility_timeout", "must be positive");
  if (c.payload_value_.empty()) out.emplace_back(key + ".payload_value", "required");
  check_data_mode(c.publication_data_mode_, key, "channels_value", out);
}

void check_nats_jetstream_consumer(const nats_jetstream_consumer_config& c, const std::string& key,
                                   consumer_problems& out) {
  if (c.url_.empty()) out.emplace_back(key + ".url", "required");
  if (c.stream_name_.empty()) out.emplace_back(key + ".stream_name", "required");
  if (c.durable_consumer_name_.empty())
    out.emplace_back(key + ".durable_consumer_name", "required");
  if (!c.use_existing_consumer_) {
    if (c.deliver_policy_ != "new" && c.deliver_policy_ != "all")
      out.emplace_back(key + ".deliver_policy",
                       "unknown value \"" + c.deliver_policy_ + "\", expected \"new\" or \"all\"");
    if (c.max_ack_pending_ < 1) out.emplace_back(key + ".max_ack_pending", "must be positive");
  }
  check_data_mode(c.publication_data_mode_, key, "channels_header", out);
}

void check_postgresql_consumer(const postgresql_consumer_config& c, const std::string& key,
                               consumer_problems& out) {
  if (c.dsn_.empty()) out.emplace_back(key + ".dsn", "required");
  if (c.outbox_table_name_.empty()) out.emplace_back(key + ".outbox_table_name", "required");
  if (c.num_partitions_ < 1) out.emplace_back(key + ".num_partitions", "must be positive");
  if (c.partition_select_limit_ < 1)
    out.emplace_back(key + ".partition_select_limit", "must be positive");
  if (c.partition_poll_interval_.count() <= 0)
    out.emplace_back(key + ".partition_poll_interval", "must be positive");
}

}  // namespace gyre::config
