// shard: the part of the hub that belongs to one event loop.
//
// Holds the loop's channel registry (channel -> local subscriptions), the inbox through
// which other threads hand it events and tasks, the per-loop chunk pool, the list of
// connections with output to flush, the timer wheel, and the per-loop counters read by
// the metrics scrape.
//
// Fan-out: an event for channel C is pushed into every shard's inbox (one lock per shard
// per batch, not per subscriber). The loop drains its inbox in one go, walks the local
// subscribers of C, queues the shared encoded bytes on each, and then flushes every
// touched connection once: everything queued for a connection leaves in one write.
//
// Threading: everything except post_event()/post_task() and the atomic counters is
// touched only by the owning loop's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "hub/out_chunk.hpp"
#include "hub/prepared_event.hpp"
#include "hub/subscription.hpp"
#include "hub/timer_wheel.hpp"

namespace gyre {

class client;
class node;

struct string_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Per-loop chunks of one event, created when the first local subscriber needs a variant.
class fanout_chunks {
 public:
  fanout_chunks(chunk_pool& pool, const prepared_event& ev) : pool_(pool), ev_(ev) {}
  ~fanout_chunks() {
    for (auto& row : chunks_)
      for (out_chunk* c : row) pool_.discard_if_unused(c);
  }
  out_chunk* get(protocol::encoding enc, pub_variant v) {
    out_chunk*& c = chunks_[static_cast<size_t>(enc)][static_cast<size_t>(v)];
    if (!c) c = pool_.acquire(ev_.encoded(enc, v));
    return c;
  }

 private:
  chunk_pool& pool_;
  const prepared_event& ev_;
  out_chunk* chunks_[2][static_cast<size_t>(pub_variant::count)] = {};
};

struct shard_counters {
  std::atomic<uint64_t> messages_sent{0};      // pushes queued to connections
  std::atomic<uint64_t> messages_received{0};  // commands decoded
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> slow_disconnects{0};
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> subscriptions{0};
  std::atomic<int64_t> channels{0};
};

class shard {
 public:
  using task = std::function<void(shard&)>;

  shard(node& n, unsigned index, int64_t now_ms);
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;
  ~shard();

  node& owner() { return node_; }
  unsigned index() const { return index_; }

  // ---- any thread ----
  void post_event(std::shared_ptr<const prepared_event> ev);
  void post_task(task t);
  // Installed by the event loop: schedules drain_inbox() on the loop thread.
  void set_waker(std::function<void()> wake) { wake_ = std::move(wake); }
  shard_counters& counters() { return counters_; }
  // The thread that runs this shard's loop (set by the event loop when it starts).
  void set_loop_thread(std::thread::id id) { loop_thread_ = id; }
  bool in_loop_thread() const { return std::this_thread::get_id() == loop_thread_; }

  // ---- loop thread ----
  void drain_inbox();
  void tick(int64_t now_ms);
  int64_t now_ms() const { return wheel_.now_ms(); }

  // Registry. Returns false if the channel was new on this shard (first subscriber).
  bool add_subscription(std::string_view channel, subscription& sub);
  // Returns true if the channel has no subscriber left on this shard.
  bool remove_subscription(subscription& sub);
  size_t channel_count() const { return channels_.size(); }
  size_t local_subscriber_count(std::string_view channel) const;
  // Calls f(channel, count) for every channel with local subscribers.
  template <typename F>
  void for_each_channel(F&& f) const {
    for (const auto& [ch, e] : channels_) f(ch, e.subs.size());
  }

  // Connections.
  void attach(client& c);
  void detach(client& c);
  // Clients of a user on this shard ("" = anonymous).
  const std::vector<client*>* clients_of(std::string_view user) const;
  void index_user(client& c);    // after the client's user becomes known
  void unindex_user(client& c);
  size_t user_count() const { return users_.size(); }
  // Every connected client of this shard.
  template <typename F>
  void for_each_client(F&& f) {
    for (auto& [user, list] : users_)
      for (client* c : list) f(*c);
  }

  // Output.
  chunk_pool& pool() { return pool_; }
  void mark_dirty(client& c);
  void flush_dirty();
  // Work for after the current fan-out pass (unsubscribe on lost continuity, slow close).
  void defer(client& c);
  void run_deferred();

  timer_wheel& wheel() { return wheel_; }

 private:
  struct channel_entry {
    std::vector<subscription*> subs;
  };

  void deliver(const std::shared_ptr<const prepared_event>& ev);

  node& node_;
  unsigned index_;
  std::unordered_map<std::string, channel_entry, string_hash, std::equal_to<>> channels_;
  std::unordered_map<std::string, std::vector<client*>, string_hash, std::equal_to<>> users_;

  std::mutex inbox_mu_;
  std::vector<std::variant<std::shared_ptr<const prepared_event>, task>> inbox_;
  std::vector<std::variant<std::shared_ptr<const prepared_event>, task>> draining_;
  bool wake_pending_ = false;
  std::function<void()> wake_;
  std::thread::id loop_thread_;

  chunk_pool pool_;
  std::vector<client*> dirty_;
  std::vector<client*> deferred_;
  timer_wheel wheel_;
  shard_counters counters_;
};

}  // namespace gyre
