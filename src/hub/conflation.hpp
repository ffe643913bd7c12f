// conflation: the publications a connection that fell behind holds back, at most one per
// subscription (the latest), for namespaces with `gyre_conflation` (docs/design/conflation.md).
//
// A connection is *behind* when a publication of a conflated subscription finds its queue
// holding more than `behind_threshold(client.queue_max_size)` (half the limit). From then
// on, publications of its conflated subscriptions do not enter the queue: each one is held
// here, replacing the one its subscription already held (that one is skipped: the
// subscriber sees the offsets jump). Once everything queued before them is written, the
// held publications go to the queue, oldest-held first, while the queue stays under the
// threshold; the rest wait for the next time the queue is empty. The connection stops
// being behind when its queue is empty and nothing is held.
//
// Bound: one entry per key (subscription), whatever the number of publications; an entry
// is removed when its subscription goes. Lookup, replacement and removal are O(1);
// taking entries out is O(entries). Allocation: a hash node when a key is first held (per
// channel each time the queue empties), never per replacement.
//
// Threading: owned by one connection, touched only by its event loop's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gyre {

struct subscription;
class prepared_event;

// Queue bytes (outbox::queued_bytes) above which a connection counts as behind.
constexpr size_t behind_threshold(size_t queue_max_size) {
  return queue_max_size / 2;
}

template <typename Key, typename Value>
class latest_per_key {
 public:
  struct entry {
    Key key;
    Value value;
  };

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

  // Holds `value` as the latest of `key`. Returns true when it replaced an older value,
  // which is then dropped.
  bool put(Key key, Value value) {
    auto [it, fresh] = index_.try_emplace(key, static_cast<uint32_t>(entries_.size()));
    if (!fresh) {
      entries_[it->second].value = std::move(value);
      return true;
    }
    entries_.push_back({key, std::move(value)});
    return false;
  }

  bool contains(Key key) const { return index_.count(key) != 0; }

  // Drops what `key` holds, if anything. The last entry takes its place, so the order of
  // the others may change (keys are independent streams: only each one's latest counts).
  void erase(Key key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    uint32_t i = it->second;
    index_.erase(it);
    if (i + 1 != entries_.size()) {
      entries_[i] = std::move(entries_.back());
      index_[entries_[i].key] = i;
    }
    entries_.pop_back();
  }

  // Takes entries out in order, handing each to `f(Key, Value&&)`, while `f` returns true
  // (the entry that got `false` is taken too); the rest stay, in order. `f` must not call
  // back into this object.
  template <typename F>
  void take(F&& f) {
    size_t n = 0;
    while (n < entries_.size()) {
      entry e = std::move(entries_[n]);
      ++n;
      index_.erase(e.key);
      if (!f(e.key, std::move(e.value))) break;
    }
    if (n == 0) return;
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(n));
    // The rest moved forward by n (no allocation: their index nodes stay).
    for (uint32_t i = 0; i < entries_.size(); ++i) index_.find(entries_[i].key)->second = i;
  }

 private:
  std::vector<entry> entries_;
  std::unordered_map<Key, uint32_t> index_;
};

// What a connection behind holds: the latest publication of each conflated subscription.
using conflation = latest_per_key<subscription*, std::shared_ptr<const prepared_event>>;

}  // namespace gyre
