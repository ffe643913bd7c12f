// redis_subscriber: the PUB/SUB side of one shard: one connection in Pub/Sub mode that
// keeps a set of subscribed Redis channels across reconnects.
//
// What holds:
// - subscribe(ch, done) completes `done` once Redis confirmed a SUBSCRIBE of `ch` that was
//   sent after the call (a confirmation of an older SUBSCRIBE, sent before an UNSUBSCRIBE,
//   does not count), or fails it after io_timeout (the channel is then dropped, so a
//   failed subscribe leaves nothing behind; the caller may try again).
// - After the connection is lost every channel is unconfirmed, generation() is bumped and
//   on_reset runs; once it is back every channel is subscribed again (batched), and
//   on_restored reports the channels whose subscription is confirmed again, in batches
//   of at most restored_batch channels (a batch is reported when full, when the last
//   resubscription is confirmed, or at the next 100 ms tick).
// - Messages are handed to on_message in the order Redis sent them.
// - barrier(done) completes `done` once every message Redis had written to this
//   connection before it processed the barrier has gone through on_message (a PING in
//   Pub/Sub mode is answered in order with the messages); it fails when the connection is
//   lost first, or after io_timeout.
//
// Threads: subscribe/unsubscribe/barrier/confirmed/generation from any thread;
// on_message, on_reset, on_restored, on_state and barrier callbacks run on the I/O thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
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
  std::function<void(std::vector<std::string> channels)> on_restored;
  std::function<void(bool up)> on_state;

  // Channels per on_restored call: the caller reads one pipelined batch per call.
  static constexpr size_t restored_batch = 256;

  void start();
  void stop_on_io();

  void subscribe(const std::string& channel, done_fn done);
  void unsubscribe(const std::string& channel);
  void barrier(done_fn done);
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
  // Takes the confirmed resubscriptions gathered so far when there are `at_least` of them
  // (or the last one came); the caller reports them outside the lock.
  std::vector<std::string> take_restored_locked(size_t at_least);
  void report_restored(std::vector<std::string> batch);

  asio::io_context& io_;
  std::shared_ptr<connection> conn_;
  asio::steady_timer timer_;
  bool stopped_ = false;  // I/O thread

  mutable std::mutex mu_;
  std::unordered_map<std::string, channel_state> channels_;
  // SUBSCRIBEs sent on the current connection and not yet confirmed, per channel. Kept
  // apart from channels_ so that an UNSUBSCRIBE + SUBSCRIBE pair is counted right.
  std::unordered_map<std::string, uint32_t> unconfirmed_;
  // Resubscribed after the last reconnect, not yet confirmed / confirmed and not yet
  // reported through on_restored.
  std::unordered_set<std::string> restoring_;
  std::vector<std::string> restored_;
  struct pending_barrier {
    uint64_t token = 0;
    std::chrono::steady_clock::time_point deadline;
    done_fn done;
  };
  std::deque<pending_barrier> barriers_;
  uint64_t next_barrier_ = 1;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace gyre::redis
