// live_config: the reloadable part of the configuration as the hub reads it: the config
// itself, the values hot paths read (runtime_options, copied out of the config once per
// snapshot) and the token verifiers. A snapshot is immutable; a reload publishes a new one
// (node::reload, docs/design/config-reload.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace gyre {

namespace config {
struct config;
}
namespace auth {
class token_verifier;
}

// Values read on hot or frequent paths, copied out of the config once per snapshot.
struct runtime_options {
  size_t queue_max_size = 1 << 20;
  int64_t ping_interval_ms = 25'000;
  int64_t pong_timeout_ms = 8'000;
  int64_t stale_close_delay_ms = 10'000;
  int64_t expired_close_delay_ms = 25'000;
  int64_t expired_sub_close_delay_ms = 25'000;
  int64_t presence_update_interval_ms = 27'000;
  int64_t position_check_delay_ms = 40'000;
  uint32_t channel_limit = 128;
  uint32_t history_max_publication_limit = 300;
  uint32_t recovery_max_publication_limit = 300;
  uint32_t user_connection_limit = 0;
  // Events buffered per subscription while its subscribe is in flight.
  uint32_t subscribe_buffer_limit = 4096;
  // Channels per stream-position read after a broker resubscription.
  uint32_t position_check_batch = 1000;
  // Flow control (docs/design/flow-control.md): how long a connection that is not read
  // because its queue is over queue_max_size may take to drain (websocket.write_timeout),
  // the read budget of one turn (gyre.read_budget_*), and the events one loop's inbox
  // holds (gyre.event_loop_inbox_size).
  int64_t drain_timeout_ms = 1000;
  uint16_t read_budget_commands = 64;
  uint32_t read_budget_bytes = 65536;
  uint32_t inbox_size = 65536;
  // permessage-deflate of channel events (websocket.compression_level,
  // websocket.compression_min_size; docs/compression.md).
  int compression_level = 1;
  uint32_t compression_min_size = 0;
};

// One snapshot: an operation that reads one sees a config, options and verifiers that
// belong together.
struct live_config {
  std::shared_ptr<const config::config> cfg;
  runtime_options opts;
  std::shared_ptr<const auth::token_verifier> conn_verifier;
  std::shared_ptr<const auth::token_verifier> sub_verifier;  // = conn_verifier if not separate
};

}  // namespace gyre
