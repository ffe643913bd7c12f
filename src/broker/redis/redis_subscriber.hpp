// redis_subscriber: the PUB/SUB side of one shard: one connection in Pub/Sub mode that
// keeps a set of subscribed Redis channels across reconnects.
//
// What holds:
// - subscribe(ch, done) completes `done` once Redis confirmed a SUBSCRIBE of `ch` that was
//   sent after the call (a confirmation of an older SUBSCRIBE, sent before an UNSUBSCRIBE,
//   does not count), or fails it after io_timeout (the channel is then dropped, so a
//   failed subscribe leaves nothing behind; the caller may try again).
// - After the connection is lost every channel is unconfirmed, generation() is bumped and
//   on_reset runs; once it is back every channel is subscribed again (batched).
// - Messages are handed to on_message in the order Redis sent them.
//
// Threads: subscribe/unsubscribe/confirmed/generation from any thread; on_message,
// on_reset and on_state run on the I/O thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/redis/redis_connection.hpp"
#include "core/result.hpp"

namespace gyre::redis {

class subscriber {
 public:
  using done_fn = std::function<void(status)>;

  subscriber(asio::io_context& io, std::shared_ptr<connection> conn);
  ~subscriber();

  // Set before start().
  std::function<void(std::string_view channel, std::string_view payload)> on_message;
  std::function<void()> on_reset;
  std::function<void(bool up)> on_state;

  void start();
  void stop_on_io();

  void subscribe(const std::string& channel, done_fn done);
  void unsubscribe(const std::string& channel);
  // Subscribed and confirmed on the current connection.
  bool confirmed(const std::string& channel) const;
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  bool up() const { return conn_->up(); }
  // See connection::retry_now().
  void retry_now() { conn_->retry_now(); }
  size_t channel_count() const;

 private:
  struct channel_state {
    bool confirmed = false;
    std::vector<std::pair<std::chrono::steady_clock::time_point, done_fn>> waiters;
  };

  void on_push(reply&& r);
  void on_connection_state(bool up);
  void tick();

  asio::io_context& io_;
  std::shared_ptr<connection> conn_;
  asio::steady_timer timer_;
  bool stopped_ = false;  // I/O thread

  mutable std::mutex mu_;
  std::unordered_map<std::string, channel_state> channels_;
  // SUBSCRIBEs sent on the current connection and not yet confirmed, per channel. Kept
  // apart from channels_ so that an UNSUBSCRIBE + SUBSCRIBE pair is counted right.
  std::unordered_map<std::string, uint32_t> unconfirmed_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace gyre::redis
