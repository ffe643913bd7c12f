// redis_presence: the presence manager of engines.md §4.4 on Redis, wire-compatible with
// Centrifugo: `P.presence.data.ch` (HASH client id → Protobuf ClientInfo) with an expiry
// index `P.presence.expire.ch` (ZSET client id → expire-at, unix s); with user mapping also
// `P.presence.user.expire.ch` and `P.presence.user.clients.ch` so that stats are O(1).
// Entries live presence_ttl after their last add(): the hub refreshes them every
// client.presence_update_interval; entries of a node that died vanish by themselves.
//
// Threads: any thread; callbacks on the engine's I/O thread. After stop() no callback runs.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "broker/presence_manager.hpp"
#include "broker/redis/engine_core.hpp"
#include "core/clock.hpp"

namespace gyre::redis {

class redis_presence final : public presence_manager {
 public:
  struct options {
    std::chrono::seconds ttl{60};
    bool user_mapping = false;
    // Per-field hash TTL (HEXPIRE) instead of the ZSET index; needs Redis >= 7.4.
    bool hash_field_ttl = false;
  };

  redis_presence(std::shared_ptr<engine_core> core, options opts,
                 clock& clk = system_clock::instance());
  ~redis_presence() override;

  void stop() override;
  void add(std::string_view channel, const client_info& info, status_callback done) override;
  void remove(std::string_view channel, std::string_view client_id, std::string_view user,
              status_callback done) override;
  void presence(std::string_view channel, callback<presence_map> done) override;
  void stats(std::string_view channel, callback<presence_stats> done) override;

 private:
  std::vector<std::string> keys(std::string_view channel) const;

  std::shared_ptr<engine_core> core_;
  options opts_;
  clock& clock_;
  std::shared_ptr<std::atomic<bool>> alive_;
};

}  // namespace gyre::redis
