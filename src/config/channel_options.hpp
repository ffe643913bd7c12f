// Channel options (configuration.md §5): what a namespace allows and keeps. One instance
// lives in `channel.without_namespace`, one in every `channel.namespaces[]` item.
//
// What the options mean is in auth-and-proxy.md §5 (permission model). Defaults are the
// member initializers; all booleans default to false. Where a default depends on other
// settings it is left at zero here and resolved by the helpers in channel_resolution.hpp
// (history_meta_ttl → channel.history_meta_ttl, publication_data_format → global value)
// or by the subsystem that uses it (map stream_size/stream_ttl/meta_ttl depend on mode).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/blocks.hpp"
#include "config/duration.hpp"

namespace gyre::config {

// `map` object, used when subscription_type is map, map_clients or map_users.
struct map_options {
  std::string mode_;         // required for map types: ephemeral | recoverable | persistent
  duration key_ttl_{0};      // > 0 for ephemeral/recoverable, 0 for persistent
  int64_t stream_size_ = 0;  // 0 = mode default (100; must stay 0 for ephemeral)
  duration stream_ttl_{0};   // 0 = mode default (1m; must stay 0 for ephemeral)
  duration meta_ttl_{0};     // 0 = mode default (recoverable 10×stream_ttl, persistent never)
  bool remove_client_on_unsubscribe_ = false;
  std::string client_key_;  // "" | client_id | user_id
  bool allow_publish_for_client_ = false;
  bool allow_publish_for_subscriber_ = false;
  bool allow_publish_for_anonymous_ = false;
  bool allow_remove_for_client_ = false;
  bool allow_remove_for_subscriber_ = false;
  bool allow_remove_for_anonymous_ = false;
  bool publish_proxy_enabled_ = false;
  std::string publish_proxy_name_ = "default";
  bool remove_proxy_enabled_ = false;
  std::string remove_proxy_name_ = "default";
  int64_t default_page_size_ = 100;
  int64_t min_page_size_ = 100;
  int64_t max_page_size_ = 1000;
  int64_t live_transition_max_publication_limit_ = 0;  // 0 = max_page_size
  duration subscribe_catch_up_timeout_ = 5s;           // negative = no timeout
  bool operator==(const map_options&) const = default;
};

// `shared_poll` object, used when subscription_type is shared_poll.
struct shared_poll_options {
  std::string proxy_name_;  // "" = default
  duration refresh_interval_ = 10s;
  int64_t refresh_batch_size_ = 1000;
  int64_t max_keys_per_connection_ = 5000;
  std::string mode_;                      // "" / versionless | versioned
  duration channel_shutdown_delay_ = 1s;  // negative = immediate
  duration track_expired_extra_delay_ = 25s;
  bool publish_enabled_ = false;  // requires versioned mode
  bool operator==(const shared_poll_options&) const = default;
};

struct channel_options {
  bool presence_ = false;
  bool join_leave_ = false;
  bool force_push_join_leave_ = false;
  int64_t history_size_ = 0;      // history needs both size and ttl > 0
  duration history_ttl_{0};       // whole seconds
  duration history_meta_ttl_{0};  // whole seconds; 0 = channel.history_meta_ttl
  bool force_positioning_ = false;
  bool allow_positioning_ = false;
  bool force_recovery_ = false;
  bool allow_recovery_ = false;
  std::string force_recovery_mode_;  // "" (= stream) | stream | cache
  bool auto_cache_recover_ = false;
  std::vector<std::string> allowed_delta_types_;  // ⊆ {fossil}
  bool allow_tags_filter_ = false;
  bool delta_publish_ = false;
  bool allow_subscribe_for_client_ = false;
  bool allow_subscribe_for_anonymous_ = false;
  bool allow_publish_for_client_ = false;
  bool allow_publish_for_subscriber_ = false;
  bool allow_publish_for_anonymous_ = false;
  bool allow_presence_for_client_ = false;
  bool allow_presence_for_subscriber_ = false;
  bool allow_presence_for_anonymous_ = false;
  bool allow_history_for_client_ = false;
  bool allow_history_for_subscriber_ = false;
  bool allow_history_for_anonymous_ = false;
  bool allow_user_limited_channels_ = false;
  std::string channel_regex_;            // RE2 syntax; checks the part after "ns:"
  std::string publication_data_format_;  // "" | json | json_object | binary ("" = global)
  bool subscribe_proxy_enabled_ = false;
  std::string subscribe_proxy_name_ = "default";
  bool publish_proxy_enabled_ = false;
  std::string publish_proxy_name_ = "default";
  bool sub_refresh_proxy_enabled_ = false;
  std::string sub_refresh_proxy_name_ = "default";
  bool subscribe_stream_proxy_enabled_ = false;
  std::string subscribe_stream_proxy_name_ = "default";
  bool subscribe_stream_proxy_bidirectional_ = false;
  std::string
      subscription_type_;  // "" (= stream) | stream | map | map_clients | map_users | shared_poll
  std::string map_clients_presence_channel_prefix_;
  std::string map_users_presence_channel_prefix_;
  map_options map_;
  shared_poll_options shared_poll_;
  // Gyre extension (docs/design/conflation.md): a subscriber that falls behind gets only
  // the latest publication of each channel instead of being disconnected. Needs history
  // (every publication then carries an offset, so the subscriber sees what it skipped).
  bool gyre_conflation_ = false;

  // History is kept only when both size and ttl are positive.
  bool history_enabled() const { return history_size_ > 0 && history_ttl_.count() > 0; }
  bool operator==(const channel_options&) const = default;
};

// `channel.namespaces[]` item: `name` next to the options (no extra nesting).
struct channel_namespace : channel_options {
  std::string name_;  // ^[-a-zA-Z0-9_.]{2,}$, unique
  bool operator==(const channel_namespace&) const = default;
};

}  // namespace gyre::config
