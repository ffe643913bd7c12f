// engine_core: what the Redis broker, presence manager and control bus of one engine
// share: the I/O thread (one asio::io_context), the shards, key naming, channel → shard
// placement, dispatch of PUB/SUB messages and health.
//
// What holds:
// - Every connection lives on the core's single I/O thread; public calls from other
//   threads only queue commands (connection::send) or post.
// - PUB/SUB messages on `P.client.*` go to the registered client sink, `P.control` and
//   `P.node.*` to the control sink; a sink is unregistered with a barrier on the I/O
//   thread, so it is never called after unregister returns.
// - The core stops (connections closed, thread joined) when its last owner lets go.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "broker/redis/redis_address.hpp"
#include "broker/redis/redis_shard.hpp"

namespace gyre::redis {

class message_sink {
 public:
  virtual ~message_sink() = default;
  // I/O thread. `channel` is the Redis PUB/SUB channel name.
  virtual void on_message(size_t shard, std::string_view channel, std::string_view payload) = 0;
  // The PUB/SUB connection of `shard` was lost (messages may have been missed).
  virtual void on_pubsub_reset(size_t) {}
  // After a reconnect, these PUB/SUB channels of `shard` are subscribed again (Redis
  // confirmed them); messages published to them meanwhile were missed.
  virtual void on_pubsub_restored(size_t, std::vector<std::string>) {}
};

class engine_core {
 public:
  explicit engine_core(topology topo);
  ~engine_core();
  engine_core(const engine_core&) = delete;
  engine_core& operator=(const engine_core&) = delete;

  void start();
  void stop();

  asio::io_context& io() { return io_; }
  bool on_io_thread() const { return std::this_thread::get_id() == thread_id_.load(); }
  // Runs `fn` on the I/O thread and waits for it (runs inline on the I/O thread itself).
  void run_on_io(const std::function<void()>& fn);

  size_t shard_count() const { return shards_.size(); }
  size_t shard_for(std::string_view channel) const { return shard_index(channel, shards_.size()); }
  shard& shard_at(size_t i) { return *shards_[i]; }
  shard& shard_of(std::string_view channel) { return *shards_[shard_for(channel)]; }
  bool cluster() const { return topo_.cluster(); }
  const std::string& prefix() const { return topo_.prefix; }
  std::chrono::milliseconds io_timeout() const { return topo_.shards[0].io_timeout; }

  // "<prefix>.<kind>.<channel>", the channel part as `{channel}` in a cluster.
  std::string key(std::string_view kind, std::string_view channel) const;
  std::string client_channel(std::string_view channel) const { return key("client", channel); }
  std::string control_channel() const { return topo_.prefix + ".control"; }
  std::string node_channel(std::string_view uid) const {
    return topo_.prefix + ".node." + std::string(uid);
  }
  // The user channel of a `P.client.*` PUB/SUB channel; false for anything else.
  bool channel_of(std::string_view pubsub_channel, std::string& channel) const;

  void set_client_sink(message_sink* s);
  void set_control_sink(message_sink* s);

  bool healthy() const;
  std::vector<std::pair<std::string, bool>> shard_health() const;
  void set_health_handler(std::function<void(size_t shard, bool healthy)> h);
  // Waits until every shard is healthy and answers a STREAM command; false after
  // `timeout` with `error` naming the first shard that is not and why (the last error of
  // its connection).
  bool wait_ready(std::chrono::milliseconds timeout, std::string& error);

 private:
  void dispatch(size_t shard, std::string_view channel, std::string_view payload);

  topology topo_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::vector<std::unique_ptr<shard>> shards_;
  std::atomic<message_sink*> client_sink_{nullptr};
  std::atomic<message_sink*> control_sink_{nullptr};
  std::mutex health_mu_;
  std::function<void(size_t, bool)> health_handler_;
  std::string client_prefix_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace gyre::redis
