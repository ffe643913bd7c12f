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
// Bounds (docs/design/flow-control.md): the inbox holds at most gyre.event_loop_inbox_size
// events. Once full, events are dropped until the loop drains it; after delivering what
// the inbox held, the drain tells the positioned subscribers of every channel that lost a
// publication (client::on_events_lost), so they recover in order through the
// lost-continuity path, before any later event. Tasks (engine callbacks, API actions) are
// never dropped; they are bounded by what posts them (one command in flight per
// connection, a position check per subscription, one task per API action and loop).
// Connections that their transport stopped reading because their queue is over
// client.queue_max_size are held here and disconnected with 3008 when they do not drain
// within websocket.write_timeout.
//
// Configuration: live() is the loop's copy of the node's live_config snapshot. It follows
// the node's generation counter (one acquire load, no lock, no shared reference count per
// read); a snapshot it replaces stays alive until the next tick(), so that a reference
// taken by an operation stays valid for the whole synchronous operation even if a reload
// lands in the middle of it (docs/design/config-reload.md).
//
// Threading: everything except post_event()/post_task(), set_inbox_limit() and the atomic
// counters is touched only by the owning loop's thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "hub/client.hpp"
#include "hub/live_config.hpp"
#include "hub/out_chunk.hpp"
#include "hub/prepared_event.hpp"
#include "hub/subscription.hpp"
#include "hub/timer_wheel.hpp"

namespace gyre {

class client;
class node;
namespace proxy {
class transport;
}

struct string_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Per-loop chunks of one event, created when the first local subscriber needs a variant.
class fanout_chunks {
 public:
  fanout_chunks(chunk_pool& pool, const prepared_event& ev, const runtime_options& opts)
      : pool_(pool), ev_(ev), opts_(opts) {}
  ~fanout_chunks() {
    for (size_t v = 0; v < static_cast<size_t>(pub_variant::count); ++v) {
      for (size_t e = 0; e < 4; ++e) pool_.discard_if_unused(chunks_[e][v]);
      // A compressed slot may hold the plain chunk (below compression_min_size).
      for (size_t e = 0; e < 2; ++e)
        if (deflated_[e][v] != chunks_[e][v]) pool_.discard_if_unused(deflated_[e][v]);
    }
  }
  // `env`: Reply-wrapped or bare pushes (docs/transports.md). `deflate`: the recipient
  // negotiated permessage-deflate (bidirectional WebSocket only, so Reply-wrapped); it gets
  // the shared compressed frame (prepared_event::deflated), or the plain bytes when the event
  // is below websocket.compression_min_size.
  out_chunk* get(protocol::encoding enc, pub_variant v,
                 protocol::push_envelope env = protocol::push_envelope::reply,
                 bool deflate = false) {
    const size_t e = static_cast<size_t>(env) * 2 + static_cast<size_t>(enc);
    if (deflate && env == protocol::push_envelope::reply) {
      out_chunk*& d = deflated_[static_cast<size_t>(enc)][static_cast<size_t>(v)];
      if (d) return d;
      const runtime_options& o = opts_;
      if (const shared_buffer& f =
              ev_.deflated(enc, v, o.compression_level, o.compression_min_size))
        return d = pool_.acquire(f, true);
      return d = get(enc, v, env, false);  // below compression_min_size: the plain chunk
    }
    out_chunk*& c = chunks_[e][static_cast<size_t>(v)];
    if (!c) c = pool_.acquire(ev_.encoded(enc, v, env));
    return c;
  }

 private:
  chunk_pool& pool_;
  const prepared_event& ev_;
  const runtime_options& opts_;
  out_chunk* chunks_[4][static_cast<size_t>(pub_variant::count)] = {};  // [envelope*2+encoding]
  // [encoding][variant], Reply-wrapped pushes compressed for permessage-deflate recipients.
  out_chunk* deflated_[2][static_cast<size_t>(pub_variant::count)] = {};
};

struct shard_counters {
  std::atomic<uint64_t> messages_sent{0};      // pushes queued to connections
  std::atomic<uint64_t> messages_received{0};  // commands decoded
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> slow_disconnects{0};
  std::atomic<uint64_t> read_holds{0};     // connections not read: queue over its limit
  std::atomic<uint64_t> inbox_dropped{0};  // events dropped: inbox full
  std::atomic<uint64_t> conflated{0};      // publications skipped by conflation (replaced)
  std::atomic<int64_t> conflating{0};      // connections behind, holding back publications
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> subscriptions{0};
  std::atomic<int64_t> channels{0};
  std::atomic<int64_t> users{0};  // distinct named users
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
  // Installed once by the event loop: schedules drain_inbox() on the loop thread. Items
  // posted before it is installed are drained once it is (without a waker, e.g. in unit
  // tests, the owner calls drain_inbox() itself).
  void set_waker(std::function<void()> wake);
  shard_counters& counters() { return counters_; }
  // Frames by transport and type (transport_metrics.hpp); written on the loop thread only.
  transport_counts& frames() { return frames_; }
  const transport_counts& frames() const { return frames_; }
  // Per-delivery counting on the loop thread: a plain add, published to the atomic
  // counters once per flush (a locked add per delivered message shows in profiles).
  void count_sent() { ++sent_unpublished_; }
  // The thread that runs this shard's loop (set by the event loop when it starts).
  void set_loop_thread(std::thread::id id) { loop_thread_ = id; }
  bool in_loop_thread() const { return std::this_thread::get_id() == loop_thread_; }

  // Events waiting in the inbox now (for the metrics scrape). Any thread.
  size_t inbox_events() const;
  // gyre.event_loop_inbox_size after a reload. Any thread.
  void set_inbox_limit(size_t events);
  // True while the inbox holds at least half of gyre.event_loop_inbox_size events: the
  // API's requests threads stop reading new requests until it drains
  // (docs/design/flow-control.md). Any thread, lock-free.
  bool backlogged() const {
    return inbox_fill_.load(std::memory_order_relaxed) >=
           backlog_at_.load(std::memory_order_relaxed);
  }

  // ---- loop thread: configuration ----
  const live_config& live() {
    if (live_source_.load(std::memory_order_acquire) != live_generation_) [[unlikely]]
      refresh_live();
    return *live_;
  }
  const std::shared_ptr<const config::config>& cfg() { return live().cfg; }
  const runtime_options& opts() { return live().opts; }
  // The loop's backend proxy transport (docs/proxy.md); null without one (unit tests).
  // Installed before the loop starts.
  proxy::transport* proxies() const { return proxies_; }
  void set_proxies(proxy::transport* t) { proxies_ = t; }

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
  // The broker's subscription of `channel` was re-established and every publication up to
  // `top` has been handed to this shard: positioned subscribers behind it lost some (all
  // of them when `top` is null: it could not be read). See node::on_subscriptions_restored.
  void check_stream_top(std::string_view channel, const stream_position* top);
  // Calls f(channel, count) for every channel with local subscribers.
  template <typename F>
  void for_each_channel(F&& f) const {
    for (const auto& [ch, e] : channels_) f(ch, e.subs.size());
  }

  // Connections.
  void attach(client& c);
  void detach(client& c);
  // The first client of a user on this shard ("" = anonymous), or null; the others
  // follow through client::next_of_user().
  client* first_of(std::string_view user) const;
  void index_user(client& c);  // after the client's user becomes known
  void unindex_user(client& c);
  // Distinct named users on this shard.
  size_t user_count() const { return users_.size() - (users_.count(std::string_view{}) ? 1 : 0); }
  template <typename F>
  void for_each_user(F&& f) const {
    for (const auto& [user, head] : users_) f(user);
  }
  // Every connected client of this shard.
  template <typename F>
  void for_each_client(F&& f);

  // Output.
  chunk_pool& pool() { return pool_; }
  void mark_dirty(client& c);
  void flush_dirty();
  // Work for after the current fan-out pass (unsubscribe on lost continuity, slow close).
  void defer(client& c);
  void run_deferred();

  // Backpressure: the transport stopped reading `c` because its queue is over
  // client.queue_max_size. Unless release() comes first, tick() disconnects it with 3008
  // once websocket.write_timeout has passed. Holding twice is holding once.
  void hold(client& c);
  void release(client& c);
  size_t held_count() const { return held_.size(); }

  timer_wheel& wheel() { return wheel_; }

 private:
  // Subscribers of one channel. Most channels of a large deployment have one local
  // subscriber (personal channels), kept inline without a heap array.
  class sub_list {
   public:
    sub_list() = default;
    sub_list(const sub_list&) = delete;
    sub_list& operator=(const sub_list&) = delete;
    sub_list(sub_list&& o) noexcept : size_(o.size_), cap_(o.cap_) {
      if (cap_ == 1)
        one_ = o.one_;
      else
        many_ = o.many_;
      o.size_ = 0;
      o.cap_ = 1;
    }
    ~sub_list() {
      if (cap_ > 1) delete[] many_;
    }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    subscription** begin() { return cap_ == 1 ? &one_ : many_; }
    subscription** end() { return begin() + size_; }
    subscription* const* begin() const { return cap_ == 1 ? &one_ : many_; }
    subscription* const* end() const { return begin() + size_; }
    subscription*& operator[](size_t i) { return begin()[i]; }
    subscription*& back() { return begin()[size_ - 1]; }
    void push_back(subscription* s) {
      if (size_ == cap_) grow();
      begin()[size_++] = s;
    }
    void pop_back() { --size_; }

   private:
    void grow() {
      uint32_t cap = cap_ * 2;
      auto** fresh = new subscription*[cap];
      std::copy(begin(), end(), fresh);
      if (cap_ > 1) delete[] many_;
      many_ = fresh;
      cap_ = cap;
    }
    union {
      subscription* one_ = nullptr;
      subscription** many_;
    };
    uint32_t size_ = 0;
    uint32_t cap_ = 1;
  };

  struct channel_entry {
    sub_list subs;
  };

  void deliver(const std::shared_ptr<const prepared_event>& ev);
  // Under inbox_mu_: remembers what a dropped event costs its subscribers.
  void note_dropped(const prepared_event& ev);
  // After a drain that followed drops: the positioned subscribers of the channels that
  // lost publications recover.
  void recover_dropped(std::unordered_set<size_t>& lost, bool all);
  void judge_held(int64_t now_ms);
  void refresh_live();

  node& node_;
  unsigned index_;
  const std::atomic<uint64_t>& live_source_;
  uint64_t live_generation_ = 0;
  std::shared_ptr<const live_config> live_;
  std::vector<std::shared_ptr<const live_config>> retired_;  // released by tick()
  std::unordered_map<std::string, channel_entry, string_hash, std::equal_to<>> channels_;
  // user -> first client of that user on this shard; the key views that client's user_.
  std::unordered_map<std::string_view, client*, string_hash> users_;

  mutable std::mutex inbox_mu_;
  std::vector<std::variant<std::shared_ptr<const prepared_event>, task>> inbox_;
  std::vector<std::variant<std::shared_ptr<const prepared_event>, task>> draining_;
  // Under inbox_mu_: events in inbox_ (tasks are not counted), and what was dropped since
  // the last drain: the hashes of the channels that lost a publication (at most
  // inbox_limit_ of them; beyond, every channel counts as having lost one).
  size_t inbox_limit_;
  size_t inbox_events_ = 0;
  // inbox_events_ as seen from other threads without the lock, and half of inbox_limit_
  // (backlogged()).
  std::atomic<size_t> inbox_fill_{0};
  std::atomic<size_t> backlog_at_{1};
  std::unordered_set<size_t> lost_channels_;
  bool lost_all_ = false;
  bool dropping_ = false;
  bool wake_pending_ = false;
  // Written once under inbox_mu_ (set_waker); a post that saw has_waker_ under the lock
  // may call wake_ after releasing it.
  bool has_waker_ = false;
  std::function<void()> wake_;
  std::thread::id loop_thread_;
  proxy::transport* proxies_ = nullptr;

  chunk_pool pool_;
  std::vector<client*> dirty_;
  std::vector<client*> deferred_;
  struct held_client {
    client* c;
    int64_t deadline_ms;
  };
  std::vector<held_client> held_;  // few: only connections over their queue limit
  timer_wheel wheel_;
  shard_counters counters_;
  transport_counts frames_;
  uint64_t sent_unpublished_ = 0;
};

template <typename F>
void shard::for_each_client(F&& f) {
  for (auto& [user, head] : users_)
    for (client* c = head; c; c = c->next_of_user()) f(*c);
}

}  // namespace gyre
