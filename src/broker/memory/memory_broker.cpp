// memory_broker: see memory_broker.hpp for the model and the threading rules.
#include "broker/memory/memory_broker.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "broker/memory/striped_map.hpp"
#include "core/random.hpp"

namespace gyre {

namespace {

using memory_detail::string_map;
using stored_ptr = std::shared_ptr<const delivered_publication>;

// The newest publications of one stream, oldest first, in a ring that grows on demand up
// to the history size (a channel publishing rarely into a big history_size does not pay
// for it up front). Holds no more than `cap` entries after push(..., cap).
class publication_ring {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // i-th oldest entry, i < size().
  const stored_ptr& at(size_t i) const { return slots_[(head_ + i) % slots_.size()]; }
  const stored_ptr& newest() const { return at(size_ - 1); }

  void push(stored_ptr p, size_t cap) {
    if (cap == 0) cap = 1;
    if (size_ >= cap) drop_oldest(size_ - cap + 1);
    if (size_ == slots_.size()) grow(std::min(cap, std::max<size_t>(4, size_ * 2)));
    slots_[(head_ + size_) % slots_.size()] = std::move(p);
    ++size_;
  }

  // Releases the storage too: an expired stream keeps only its metadata.
  void clear() {
    std::vector<stored_ptr>().swap(slots_);
    head_ = size_ = 0;
  }

 private:
  void drop_oldest(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      slots_[head_].reset();
      head_ = (head_ + 1) % slots_.size();
    }
    size_ -= n;
  }

  void grow(size_t capacity) {
    std::vector<stored_ptr> next;
    next.reserve(capacity);
    for (size_t i = 0; i < size_; ++i)
      next.push_back(std::move(slots_[(head_ + i) % slots_.size()]));
    next.resize(capacity);
    slots_ = std::move(next);
    head_ = 0;
  }

  std::vector<stored_ptr> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
};

struct stream {
  std::string epoch;
  uint64_t top = 0;
  publication_ring pubs;          // offsets (top - pubs.size(), top]
  int64_t content_expire_at = 0;  // mono ms; 0 = nothing stored
  int64_t meta_expire_at = 0;     // mono ms; 0 = never
  int64_t scheduled_at = 0;       // time of this stream's live expiry-heap entry; 0 = none
  uint64_t version = 0;           // 0 = no version seen
  std::string version_epoch;

  // Earliest time at which sweeping this stream changes something (0 = never).
  int64_t deadline() const {
    int64_t d = meta_expire_at;
    if (!pubs.empty() && content_expire_at != 0 && (d == 0 || content_expire_at < d)) {
      d = content_expire_at;
    }
    return d;
  }
};

struct idempotent_result {
  stream_position position;
  int64_t expire_at = 0;  // mono ms
};

// Min-heap entry: at `at`, look at `key` (a channel or an idempotency result key).
struct expiry_item {
  int64_t at = 0;
  std::string key;
  friend bool operator>(const expiry_item& a, const expiry_item& b) { return a.at > b.at; }
};

class expiry_heap {
 public:
  void push(int64_t at, std::string key) {
    items_.push_back({at, std::move(key)});
    std::push_heap(items_.begin(), items_.end(), std::greater<>{});
  }
  bool due(int64_t now) const { return !items_.empty() && items_.front().at <= now; }
  expiry_item pop() {
    std::pop_heap(items_.begin(), items_.end(), std::greater<>{});
    expiry_item item = std::move(items_.back());
    items_.pop_back();
    return item;
  }

 private:
  std::vector<expiry_item> items_;
};

// Idempotency results are kept per (channel, key); the channel length prefix keeps the
// composite unambiguous whatever either part contains.
std::string result_key(std::string_view channel, std::string_view key) {
  std::string k = std::to_string(channel.size());
  k.reserve(k.size() + 1 + channel.size() + key.size());
  k.push_back(':');
  k.append(channel);
  k.append(key);
  return k;
}

int64_t seconds_to_ms(int64_t s) {
  return s * 1000;
}

template <typename T>
void complete(const callback<T>& done, result<T> r) {
  if (done) done(std::move(r));
}

void complete(const status_callback& done, status s) {
  if (done) done(s);
}

}  // namespace

struct alignas(64) memory_broker::stripe {
  mutable std::mutex mu;
  string_map<stream> streams;
  string_map<idempotent_result> results;
  expiry_heap stream_expiry;
  expiry_heap result_expiry;

  // Puts `st` on the expiry heap unless an entry at or before its deadline is pending.
  void schedule(std::string_view channel, stream& st) {
    const int64_t d = st.deadline();
    if (d == 0 || (st.scheduled_at != 0 && st.scheduled_at <= d)) return;
    st.scheduled_at = d;
    stream_expiry.push(d, std::string(channel));
  }

  // Applies whatever expired in `st` by `now`. Returns false when the metadata expired.
  static bool expire(stream& st, int64_t now) {
    if (st.meta_expire_at != 0 && st.meta_expire_at <= now) return false;
    if (st.content_expire_at != 0 && st.content_expire_at <= now) {
      st.pubs.clear();
      st.content_expire_at = 0;
    }
    return true;
  }

  // The live stream of `channel`, or null. Expired content is dropped; a stream whose
  // metadata expired is erased (its pending heap entry turns stale).
  stream* find_live(std::string_view channel, int64_t now) {
    auto it = streams.find(channel);
    if (it == streams.end()) return nullptr;
    if (!expire(it->second, now)) {
      streams.erase(it);
      return nullptr;
    }
    return &it->second;
  }

  stream& open(std::string_view channel, int64_t now) {
    if (stream* st = find_live(channel, now)) return *st;
    stream& st = streams.try_emplace(std::string(channel)).first->second;
    st.epoch = random_epoch();
    return st;
  }

  const idempotent_result* find_result(const std::string& key, int64_t now) const {
    auto it = results.find(key);
    return it == results.end() || it->second.expire_at <= now ? nullptr : &it->second;
  }

  void store_result(std::string key, const stream_position& pos, int64_t expire_at) {
    results.insert_or_assign(key, idempotent_result{pos, expire_at});
    result_expiry.push(expire_at, std::move(key));
  }

  // Examines up to `budget` due heap entries; returns how many it examined.
  size_t sweep(int64_t now, size_t budget) {
    size_t examined = 0;
    while (examined < budget && stream_expiry.due(now)) {
      expiry_item item = stream_expiry.pop();
      ++examined;
      auto it = streams.find(item.key);
      if (it == streams.end() || it->second.scheduled_at != item.at) continue;  // stale
      stream& st = it->second;
      st.scheduled_at = 0;
      if (!expire(st, now)) {
        streams.erase(it);
        continue;
      }
      schedule(item.key, st);
    }
    while (examined < budget && result_expiry.due(now)) {
      expiry_item item = result_expiry.pop();
      ++examined;
      auto it = results.find(item.key);
      // A result stored again after expiring has a later heap entry of its own.
      if (it != results.end() && it->second.expire_at <= now) results.erase(it);
    }
    return examined;
  }
};

memory_broker::memory_broker(clock& clk) : memory_broker(clk, options{}) {}

memory_broker::memory_broker(clock& clk, options opts)
    : clock_(clk),
      opts_(opts),
      stripe_mask_(memory_detail::stripe_count(opts.stripes) - 1),
      stripes_(std::make_unique<stripe[]>(stripe_mask_ + 1)) {}

memory_broker::~memory_broker() = default;

memory_broker::stripe& memory_broker::stripe_for(std::string_view channel) const {
  return stripes_[memory_detail::stripe_index(channel, stripe_mask_)];
}

void memory_broker::start(broker_event_handler& handler) {
  stopped_.store(false);
  handler_.store(&handler);
}

void memory_broker::stop() {
  stopped_.store(true);
  handler_.store(nullptr);
  // Handler calls run under a stripe lock: passing through every lock waits them out, and
  // any later call sees the null handler.
  for (size_t i = 0; i <= stripe_mask_; ++i) {
    std::lock_guard lock(stripes_[i].mu);
  }
}

void memory_broker::subscribe(std::string_view, status_callback done) {
  if (done) done(ok_v);
}
void memory_broker::unsubscribe(std::string_view) {}

void memory_broker::publish(std::string_view channel, publication pub, const publish_options& opts,
                            callback<publish_outcome> done) {
  if (stopped_.load()) return complete(done, result<publish_outcome>(errors::internal));
  // Everything that does not need the channel's state is prepared outside its lock.
  auto delivered = std::make_shared<delivered_publication>();
  delivered->channel = channel;
  delivered->pub = std::move(pub);
  delivered->pub.offset = 0;
  delivered->use_delta = opts.use_delta;
  std::string key;
  if (!opts.idempotency_key.empty()) key = result_key(channel, opts.idempotency_key);
  stripe& s = stripe_for(channel);
  publish_outcome out;
  std::unique_lock lock(s.mu);
  // Read under the lock, so expiry times of one channel never move backwards.
  const int64_t now = clock_.now_mono_ms();

  if (!key.empty()) {
    if (const idempotent_result* r = s.find_result(key, now)) {
      out.position = r->position;
      out.suppressed = true;
      out.suppress_reason = "idempotency";
      lock.unlock();
      return complete(done, result<publish_outcome>(std::move(out)));
    }
  }

  stored_ptr to_deliver;
  if (!opts.keeps_history()) {
    to_deliver = std::move(delivered);
  } else {
    stream& st = s.open(channel, now);
    if (opts.version > 0) {
      const bool same_epoch = opts.version_epoch.empty() || opts.version_epoch == st.version_epoch;
      if (st.version > 0 && same_epoch && opts.version <= st.version) {
        out.position = {st.top, st.epoch};
        out.suppressed = true;
        out.suppress_reason = "version";
        lock.unlock();
        return complete(done, result<publish_outcome>(std::move(out)));
      }
    }
    // Every publication sets the stored version, one without a version resets it (as
    // Centrifugo's memory engine does; the Redis engine keeps it, see redis_broker.hpp).
    st.version = opts.version;
    st.version_epoch = opts.version_epoch;
    delivered->pub.offset = ++st.top;
    delivered->epoch = st.epoch;
    to_deliver = delivered;
    if (opts.use_delta && !st.pubs.empty()) {
      // The stored entry stays without prev_data; subscribers get a copy that points at
      // the previous entry's payload.
      auto with_prev = std::make_shared<delivered_publication>(*delivered);
      const stored_ptr& prev = st.pubs.newest();
      with_prev->prev_data = std::shared_ptr<const std::string>(prev, &prev->pub.data);
      to_deliver = std::move(with_prev);
    }
    st.pubs.push(std::move(delivered), opts.history_size);
    st.content_expire_at = now + seconds_to_ms(opts.history_ttl_seconds);
    if (opts.history_meta_ttl_seconds > 0) {
      st.meta_expire_at = now + seconds_to_ms(opts.history_meta_ttl_seconds);
    }
    s.schedule(channel, st);
    out.position = {st.top, st.epoch};
  }

  if (broker_event_handler* h = handler_.load()) h->on_publication(std::move(to_deliver));
  if (!key.empty()) {
    const uint32_t ttl = opts.idempotent_result_ttl_seconds > 0
                             ? opts.idempotent_result_ttl_seconds
                             : publish_options{}.idempotent_result_ttl_seconds;
    s.store_result(std::move(key), out.position, now + seconds_to_ms(ttl));
  }
  lock.unlock();
  complete(done, result<publish_outcome>(std::move(out)));
}

void memory_broker::deliver_event(std::string_view channel, const client_info& info, bool join,
                                  status_callback done) {
  if (stopped_.load()) return complete(done, status(errors::internal));
  {
    // Under the channel's lock so that joins and leaves keep their order with the
    // channel's publications and stop() can wait for them.
    std::lock_guard lock(stripe_for(channel).mu);
    if (broker_event_handler* h = handler_.load()) {
      if (join) {
        h->on_join(channel, info);
      } else {
        h->on_leave(channel, info);
      }
    }
  }
  complete(done, status(ok_v));
}

void memory_broker::publish_join(std::string_view channel, const client_info& info,
                                 status_callback done) {
  deliver_event(channel, info, true, std::move(done));
}

void memory_broker::publish_leave(std::string_view channel, const client_info& info,
                                  status_callback done) {
  deliver_event(channel, info, false, std::move(done));
}

void memory_broker::history(std::string_view channel, const history_query& q,
                            callback<history_page> done) {
  if (stopped_.load()) return complete(done, result<history_page>(errors::internal));
  const int64_t now = clock_.now_mono_ms();
  stripe& s = stripe_for(channel);
  history_page page;
  std::vector<stored_ptr> picked;
  protocol_error error;
  {
    std::lock_guard lock(s.mu);
    stream& st = s.open(channel, now);
    if (q.meta_ttl_seconds > 0) {
      st.meta_expire_at = now + seconds_to_ms(q.meta_ttl_seconds);
      s.schedule(channel, st);
    }
    page.top = {st.top, st.epoch};
    page.epoch_on_first = true;
    if (q.since && !q.since->epoch.empty() && q.since->epoch != st.epoch) {
      error = errors::unrecoverable_position;
    } else if (q.limit != 0 && !st.pubs.empty()) {
      const size_t max =
          q.limit < 0 ? std::numeric_limits<size_t>::max() : static_cast<size_t>(q.limit);
      const uint64_t oldest = st.top - st.pubs.size() + 1;
      if (!q.reverse) {
        uint64_t from = oldest;
        if (q.since) from = q.since->offset >= st.top ? st.top + 1 : q.since->offset + 1;
        from = std::max(from, oldest);
        for (uint64_t o = from; o <= st.top && picked.size() < max; ++o) {
          picked.push_back(st.pubs.at(o - oldest));
        }
      } else {
        // Backwards from since - 1. Like Centrifugo's memory engine, a since more than one
        // past the top reads nothing (its Redis engine reads from the top instead).
        uint64_t from = st.top;
        if (q.since)
          from = q.since->offset == 0 || q.since->offset - 1 > st.top ? 0 : q.since->offset - 1;
        for (uint64_t o = from; o >= oldest && picked.size() < max; --o) {
          picked.push_back(st.pubs.at(o - oldest));
        }
      }
    }
  }
  if (error) return complete(done, result<history_page>(error));
  // Entries are immutable: copy them out of the lock.
  page.publications.reserve(picked.size());
  for (const stored_ptr& p : picked) page.publications.push_back(p->pub);
  complete(done, result<history_page>(std::move(page)));
}

void memory_broker::stream_tops(std::vector<std::string> channels,
                                callback<std::vector<stream_position>> done) {
  if (stopped_.load())
    return complete(done, result<std::vector<stream_position>>(errors::internal));
  const int64_t now = clock_.now_mono_ms();
  std::vector<stream_position> tops(channels.size());
  for (size_t i = 0; i < channels.size(); ++i) {
    stripe& s = stripe_for(channels[i]);
    std::lock_guard lock(s.mu);
    if (const stream* st = s.find_live(channels[i], now)) tops[i] = {st->top, st->epoch};
  }
  complete(done, result<std::vector<stream_position>>(std::move(tops)));
}

void memory_broker::remove_history(std::string_view channel, status_callback done) {
  if (stopped_.load()) return complete(done, status(errors::internal));
  const int64_t now = clock_.now_mono_ms();
  stripe& s = stripe_for(channel);
  {
    std::lock_guard lock(s.mu);
    if (stream* st = s.find_live(channel, now)) {
      st->pubs.clear();
      st->content_expire_at = 0;
    }
  }
  complete(done, status(ok_v));
}

size_t memory_broker::sweep(size_t max_items) {
  const size_t budget = max_items != 0 ? max_items : opts_.sweep_budget;
  const int64_t now = clock_.now_mono_ms();
  const size_t count = stripe_mask_ + 1;
  const size_t start = sweep_cursor_.load();
  size_t examined = 0;
  for (size_t i = 0; i < count; ++i) {
    const size_t idx = (start + i) & stripe_mask_;
    stripe& s = stripes_[idx];
    std::lock_guard lock(s.mu);
    examined += s.sweep(now, budget - examined);
    if (examined >= budget) {
      sweep_cursor_.store(idx);  // this stripe may have more: resume here
      break;
    }
  }
  return examined;
}

size_t memory_broker::stream_count() const {
  size_t n = 0;
  for (size_t i = 0; i <= stripe_mask_; ++i) {
    std::lock_guard lock(stripes_[i].mu);
    n += stripes_[i].streams.size();
  }
  return n;
}

size_t memory_broker::idempotency_result_count() const {
  size_t n = 0;
  for (size_t i = 0; i <= stripe_mask_; ++i) {
    std::lock_guard lock(stripes_[i].mu);
    n += stripes_[i].results.size();
  }
  return n;
}

}  // namespace gyre
