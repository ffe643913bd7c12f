// timer_wheel: a hashed timing wheel for per-connection deadlines (ping, pong timeout,
// stale connection, expiry, close wait).
//
// One wheel per event loop, driven by one periodic tick, instead of a timer object per
// connection. Resolution
// is one tick (the loop ticks every 250 ms); deadlines beyond one revolution stay in their
// slot and are skipped until due. A connection embeds a 32-byte node.
//
// Threading: one wheel per event loop; only that loop's thread may touch it or its nodes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gyre {

struct timer_node {
  timer_node* prev = nullptr;
  timer_node* next = nullptr;
  int64_t due_ms = 0;
  void* owner = nullptr;  // what the fire callback acts on

  bool armed() const { return prev != nullptr; }
};

class timer_wheel {
 public:
  static constexpr size_t slot_count = 512;

  explicit timer_wheel(int64_t now_ms, int64_t tick_ms = 250) : tick_ms_(tick_ms), now_ms_(now_ms) {
    for (auto& s : slots_) s.prev = s.next = &s;
  }
  timer_wheel(const timer_wheel&) = delete;
  timer_wheel& operator=(const timer_wheel&) = delete;

  // (Re)arms `n` to fire at the first tick at or after `due_ms`.
  void arm(timer_node& n, int64_t due_ms) {
    cancel(n);
    n.due_ms = due_ms;
    timer_node& head = slots_[slot_of(due_ms < now_ms_ ? now_ms_ : due_ms)];
    n.prev = head.prev;
    n.next = &head;
    head.prev->next = &n;
    head.prev = &n;
    ++armed_;
  }

  void cancel(timer_node& n) {
    if (!n.armed()) return;
    n.prev->next = n.next;
    n.next->prev = n.prev;
    n.prev = n.next = nullptr;
    --armed_;
  }

  // Advances time to `now_ms`, calling fire(timer_node&) for every node due by then. The
  // node is disarmed before fire runs, so fire may re-arm it (or destroy its owner).
  template <typename Fire>
  void advance(int64_t now_ms, Fire&& fire) {
    if (now_ms < now_ms_) return;
    int64_t from = now_ms_ / tick_ms_;
    int64_t to = now_ms / tick_ms_;
    // More than a revolution behind: one pass over every slot is enough.
    if (to - from >= static_cast<int64_t>(slot_count)) from = to - slot_count + 1;
    now_ms_ = now_ms;
    for (int64_t t = from; t <= to; ++t) {
      timer_node& head = slots_[static_cast<size_t>(t) % slot_count];
      // Detach the due nodes first so that re-arming into this slot cannot loop forever.
      timer_node due;
      due.prev = due.next = &due;
      for (timer_node* n = head.next; n != &head;) {
        timer_node* next = n->next;
        if (n->due_ms <= now_ms) {
          n->prev->next = n->next;
          n->next->prev = n->prev;
          n->prev = due.prev;
          n->next = &due;
          due.prev->next = n;
          due.prev = n;
        }
        n = next;
      }
      while (due.next != &due) {
        timer_node* n = due.next;
        due.next = n->next;
        n->next->prev = &due;
        n->prev = n->next = nullptr;
        --armed_;
        fire(*n);
      }
    }
  }

  int64_t now_ms() const { return now_ms_; }
  size_t armed_count() const { return armed_; }

 private:
  size_t slot_of(int64_t ms) const { return static_cast<size_t>(ms / tick_ms_) % slot_count; }

  int64_t tick_ms_;
  int64_t now_ms_;
  size_t armed_ = 0;
  timer_node slots_[slot_count];
};

}  // namespace gyre
