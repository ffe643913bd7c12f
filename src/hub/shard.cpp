// shard: per-loop registry, inbox and fan-out; see shard.hpp.
#include "hub/shard.hpp"

#include <algorithm>

#include "core/log.hpp"
#include "hub/client.hpp"
#include "hub/client_transport.hpp"
#include "hub/node.hpp"

namespace gyre {

shard::shard(node& n, unsigned index, int64_t now_ms)
    : node_(n),
      index_(index),
      live_source_(n.live_generation_source()),
      live_generation_(n.live_generation()),
      live_(n.live()),
      inbox_limit_(std::max<size_t>(1, live_->opts.inbox_size)),
      backlog_at_((inbox_limit_ + 1) / 2),
      wheel_(now_ms) {}

shard::~shard() = default;

void shard::refresh_live() {
  live_generation_ = live_source_.load(std::memory_order_acquire);
  retired_.push_back(std::move(live_));
  live_ = node_.live();
}

void shard::set_inbox_limit(size_t events) {
  std::lock_guard lock(inbox_mu_);
  inbox_limit_ = std::max<size_t>(1, events);
  backlog_at_.store((inbox_limit_ + 1) / 2, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------- inbox

void shard::post_event(std::shared_ptr<const prepared_event> ev) {
  bool wake = false;
  bool first_drop = false;
  size_t limit = 0;
  {
    std::lock_guard lock(inbox_mu_);
    limit = inbox_limit_;
    if (inbox_events_ < inbox_limit_) {
      inbox_.emplace_back(std::move(ev));
      inbox_fill_.store(++inbox_events_, std::memory_order_relaxed);
    } else {
      // Full: drop (the event itself is released after the lock) and remember which
      // channel lost a publication; everything already queued stays in order.
      first_drop = !dropping_;
      dropping_ = true;
      note_dropped(*ev);
      counters_.inbox_dropped.fetch_add(1, std::memory_order_relaxed);
    }
    if (!wake_pending_ && has_waker_) wake_pending_ = wake = true;
  }
  if (first_drop) {
    static log::limiter site;
    log::limited(
        site, spdlog::level::warn,
        "event loop {}: inbox full ({} events, gyre.event_loop_inbox_size): dropping events until "
        "it drains; positioned subscribers of the affected channels will recover",
        index_, limit);
  }
  if (wake) wake_();
}

void shard::note_dropped(const prepared_event& ev) {
  // Joins and leaves are not part of a stream: nothing to recover.
  if (ev.kind() != event_kind::publication || lost_all_) return;
  if (lost_channels_.size() >= inbox_limit_) {
    lost_all_ = true;
    lost_channels_ = {};
    return;
  }
  lost_channels_.insert(string_hash{}(ev.channel()));
}

size_t shard::inbox_events() const {
  std::lock_guard lock(inbox_mu_);
  return inbox_events_;
}

void shard::post_task(task t) {
  bool wake = false;
  {
    std::lock_guard lock(inbox_mu_);
    inbox_.emplace_back(std::move(t));
    if (!wake_pending_ && has_waker_) wake_pending_ = wake = true;
  }
  if (wake) wake_();
}

void shard::set_waker(std::function<void()> wake) {
  bool now = false;
  {
    std::lock_guard lock(inbox_mu_);
    wake_ = std::move(wake);
    has_waker_ = true;
    // What was posted before the loop attached (a node heartbeat, a survey from another
    // node) must not wait for a later post to wake the loop.
    if (!inbox_.empty() && !wake_pending_) wake_pending_ = now = true;
  }
  if (now) wake_();
}

void shard::drain_inbox() {
  bool dropped = false;
  bool lost_all = false;
  std::unordered_set<size_t> lost;
  {
    std::lock_guard lock(inbox_mu_);
    draining_.swap(inbox_);
    inbox_events_ = 0;
    inbox_fill_.store(0, std::memory_order_relaxed);
    wake_pending_ = false;
    if (dropping_) {
      // Every event dropped so far came after everything in draining_ and before
      // anything posted from now on.
      dropped = true;
      lost.swap(lost_channels_);
      lost_all = lost_all_;
      lost_all_ = dropping_ = false;
    }
  }
  for (auto& item : draining_) {
    if (auto* ev = std::get_if<std::shared_ptr<const prepared_event>>(&item)) {
      deliver(*ev);
    } else {
      std::get<task>(item)(*this);
    }
    // Deferred work runs between items: a task never sees a half-processed fan-out.
    // Flush first, so that a client over its queue limit is judged by what its socket
    // did not take rather than by what this drain queued before any write.
    if (!deferred_.empty()) {
      flush_dirty();
      run_deferred();
    }
  }
  draining_.clear();
  // Keep the drain vector from holding a huge capacity after a burst.
  if (draining_.capacity() > 4096) draining_.shrink_to_fit();
  if (dropped) {
    recover_dropped(lost, lost_all);
    flush_dirty();
    run_deferred();
  }
  flush_dirty();
}

void shard::recover_dropped(std::unordered_set<size_t>& lost, bool all) {
  // Hashes, not names, are kept while dropping: a collision makes one more channel's
  // subscribers recover, which is harmless.
  const string_hash hash;
  for (auto& [name, entry] : channels_) {
    if (!all && !lost.count(hash(name))) continue;
    for (subscription* sub : entry.subs) sub->owner->on_events_lost(*sub);
  }
}

void shard::deliver(const std::shared_ptr<const prepared_event>& ev) {
  auto it = channels_.find(ev->channel());
  if (it == channels_.end()) return;
  fanout_chunks chunks(pool_, *ev, opts());
  // The list cannot change during this loop: clients only defer their reactions.
  for (subscription* sub : it->second.subs) sub->owner->on_event(ev, *sub, chunks);
}

// ---------------------------------------------------------------------------- timers

void shard::tick(int64_t now_ms) {
  // No operation is running: snapshots replaced since the last tick may go.
  if (!retired_.empty()) retired_.clear();
  wheel_.advance(now_ms,
                 [now_ms](timer_node& n) { static_cast<client*>(n.owner)->on_timer(now_ms); });
  if (!held_.empty()) judge_held(now_ms);
  if (!deferred_.empty()) {
    flush_dirty();
    run_deferred();
  }
  flush_dirty();
}

// ---------------------------------------------------------------------------- registry

bool shard::add_subscription(std::string_view channel, subscription& sub) {
  auto it = channels_.find(channel);
  bool created = false;
  if (it == channels_.end()) {
    it = channels_.emplace(std::string(channel), channel_entry{}).first;
    created = true;
    counters_.channels.fetch_add(1, std::memory_order_relaxed);
    node_.note_local_channel(channel, true);
  }
  sub.channel = &it->first;
  sub.slot = static_cast<uint32_t>(it->second.subs.size());
  it->second.subs.push_back(&sub);
  return created;
}

bool shard::remove_subscription(subscription& sub) {
  auto it = channels_.find(*sub.channel);
  if (it == channels_.end()) return false;
  auto& subs = it->second.subs;
  uint32_t slot = sub.slot;
  if (slot < subs.size() && subs[slot] == &sub) {
    subs[slot] = subs.back();
    subs[slot]->slot = slot;
    subs.pop_back();
  }
  if (subs.empty()) {
    node_.note_local_channel(it->first, false);
    channels_.erase(it);
    counters_.channels.fetch_sub(1, std::memory_order_relaxed);
    sub.channel = nullptr;
    return true;
  }
  return false;
}

void shard::check_stream_top(std::string_view channel, const stream_position* top) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  // Clients only defer their reaction (lost continuity): the list does not change here.
  for (subscription* sub : it->second.subs) sub->owner->check_stream_top(*sub, top);
}

size_t shard::local_subscriber_count(std::string_view channel) const {
  auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.subs.size();
}

// ---------------------------------------------------------------------------- connections

void shard::attach(client&) {
  counters_.connections.fetch_add(1, std::memory_order_relaxed);
}

void shard::detach(client& c) {
  if (c.counted()) counters_.connections.fetch_sub(1, std::memory_order_relaxed);
  if (c.dirty_) std::replace(dirty_.begin(), dirty_.end(), &c, static_cast<client*>(nullptr));
  if (c.deferred_)
    std::replace(deferred_.begin(), deferred_.end(), &c, static_cast<client*>(nullptr));
  if (!held_.empty()) release(c);
}

client* shard::first_of(std::string_view user) const {
  auto it = users_.find(user);
  return it == users_.end() ? nullptr : it->second;
}

void shard::index_user(client& c) {
  // New clients go to the front: the map key then views the new head's user string.
  auto it = users_.find(std::string_view(c.user()));
  client* head = nullptr;
  if (it != users_.end()) {
    head = it->second;
    users_.erase(it);
  }
  c.user_prev_ = nullptr;
  c.user_next_ = head;
  if (head)
    head->user_prev_ = &c;
  else if (!c.user().empty())
    counters_.users.fetch_add(1, std::memory_order_relaxed);
  users_.emplace(std::string_view(c.user()), &c);
}

void shard::unindex_user(client& c) {
  if (c.user_prev_) {
    c.user_prev_->user_next_ = c.user_next_;
    if (c.user_next_) c.user_next_->user_prev_ = c.user_prev_;
  } else {
    // c is the head: the key views c's string, so re-key on the next client.
    auto it = users_.find(std::string_view(c.user()));
    if (it == users_.end() || it->second != &c) return;
    users_.erase(it);
    if (c.user_next_) {
      c.user_next_->user_prev_ = nullptr;
      users_.emplace(std::string_view(c.user_next_->user()), c.user_next_);
    } else if (!c.user().empty()) {
      counters_.users.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  c.user_prev_ = c.user_next_ = nullptr;
}

// ---------------------------------------------------------------------------- output

void shard::mark_dirty(client& c) {
  if (c.dirty_) return;
  c.dirty_ = true;
  dirty_.push_back(&c);
}

void shard::flush_dirty() {
  if (sent_unpublished_) {
    counters_.messages_sent.fetch_add(sent_unpublished_, std::memory_order_relaxed);
    sent_unpublished_ = 0;
  }
  // A flush can make a client close, which can make other clients dirty: loop until done.
  for (size_t i = 0; i < dirty_.size(); ++i) {
    client* c = dirty_[i];
    if (!c) continue;
    c->dirty_ = false;
    dirty_[i] = nullptr;
    c->transport().flush();
  }
  dirty_.clear();
}

void shard::defer(client& c) {
  if (c.deferred_) return;
  c.deferred_ = true;
  deferred_.push_back(&c);
}

void shard::run_deferred() {
  for (size_t i = 0; i < deferred_.size(); ++i) {
    client* c = deferred_[i];
    if (!c) continue;
    c->deferred_ = false;
    deferred_[i] = nullptr;
    c->run_deferred();
  }
  deferred_.clear();
}

// ---------------------------------------------------------------------------- backpressure

void shard::hold(client& c) {
  for (const held_client& h : held_)
    if (h.c == &c) return;
  held_.push_back({&c, now_ms() + opts().drain_timeout_ms});
  counters_.read_holds.fetch_add(1, std::memory_order_relaxed);
}

void shard::release(client& c) {
  for (size_t i = 0; i < held_.size(); ++i) {
    if (held_[i].c != &c) continue;
    held_[i] = held_.back();
    held_.pop_back();
    return;
  }
}

void shard::judge_held(int64_t now_ms) {
  std::vector<client*> late;
  for (size_t i = 0; i < held_.size();) {
    if (held_[i].deadline_ms > now_ms) {
      ++i;
      continue;
    }
    late.push_back(held_[i].c);
    held_[i] = held_.back();
    held_.pop_back();
  }
  // Deletion of a connection is never immediate (poller::retire), so `late` stays valid
  // while the others are disconnected.
  for (client* c : late) {
    if (!c->over_queue_limit()) {
      c->transport().input_ready();  // drained: reading resumes
      continue;
    }
    static log::limiter site;
    log::limited(site, spdlog::level::info,
                 "client {} (user '{}'): disconnected as slow (3008): its queue stayed over "
                 "client.queue_max_size {} ({} bytes) for websocket.write_timeout ({} ms)",
                 c->client_id(), c->user(), opts().queue_max_size, c->out().queued_bytes(),
                 opts().drain_timeout_ms);
    c->disconnect(disconnects::slow);
  }
  flush_dirty();
}

}  // namespace gyre
