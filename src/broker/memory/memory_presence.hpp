// memory_presence: the single-node presence manager (engines.md §3): channel -> client id
// -> client_info, in lock stripes chosen by channel hash.
//
// Invariants:
// - A channel appears in the table only while it has at least one client.
// - Per channel, the user counts hold exactly the distinct users of its clients, so stats
//   cost O(1): num_clients = entries, num_users = distinct user ids.
// - No TTL: entries live until remove() (the hub removes them on unsubscribe/disconnect).
//
// Threads: every method may be called from any thread; callbacks run synchronously,
// after the stripe lock is released. After stop() calls complete with errors::internal.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string_view>

#include "broker/presence_manager.hpp"

namespace gyre {

class memory_presence final : public presence_manager {
 public:
  struct options {
    // Lock stripes; rounded up to a power of two.
    size_t stripes = 4096;
  };

  memory_presence();
  explicit memory_presence(options opts);
  ~memory_presence() override;

  memory_presence(const memory_presence&) = delete;
  memory_presence& operator=(const memory_presence&) = delete;

  void stop() override;
  void add(std::string_view channel, const client_info& info, status_callback done) override;
  // `user` is ignored: the stored entry knows its user.
  void remove(std::string_view channel, std::string_view client_id, std::string_view user,
              status_callback done) override;
  void presence(std::string_view channel, callback<presence_map> done) override;
  void stats(std::string_view channel, callback<presence_stats> done) override;

  // Channels with at least one client (takes every stripe lock in turn).
  size_t channel_count() const;

 private:
  struct stripe;
  stripe& stripe_for(std::string_view channel) const;

  size_t stripe_mask_ = 0;
  std::unique_ptr<stripe[]> stripes_;
  std::atomic<bool> stopped_{false};
};

}  // namespace gyre
