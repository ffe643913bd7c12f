// poller: one epoll set per event loop for the loop's long-lived WebSocket sockets.
//
// Asio keeps per-socket reactor state (~160 bytes) and an idle connection would also hold
// a pending wait operation (~100 bytes). Instead, each loop owns an epoll instance: every
// WebSocket socket is registered once, edge-triggered for read and write readiness, and
// the loop's io_context waits on the epoll descriptor itself with a single async_wait. An
// idle connection thus costs its own object and nothing in Asio, and one wake-up serves
// every connection that became ready.
//
// Fairness: the sockets are edge-triggered, so a target that stopped reading before its
// socket was empty (its read budget, docs/design/flow-control.md) gets no new edge for the
// bytes left. It asks for another turn with again(). A dispatch (one pass) serves the
// targets that epoll reports ready, then gives each target that had asked before the pass
// began its turn (on_again); a target that asks during a pass is served in the next one,
// which is posted to the io_context behind the handlers already queued there (the shard's
// inbox drain, timers). A connection that never stops sending thus gets one turn per
// pass, like every other connection, and never keeps the loop to itself.
//
// Invariants: targets are deleted through retire(), never directly, and never inside the
// call chain that retired them: deletion happens after the current batch of events (so a
// later event of the batch never reaches a deleted object) or in a freshly posted handler.
// A target added and not yet retired is live; the destructor deletes the live ones too
// (at shutdown, a connection still in its closing handshake, or one whose client waits for
// an engine callback that will never run: the loop has stopped, nothing calls them).
//
// Threading: owned by one event loop; every method runs on its thread, except live().
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace gyre {

class poll_target {
 public:
  virtual ~poll_target() = default;
  // `events` is the EPOLL* readiness mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, ...).
  virtual void on_poll(uint32_t events) = 0;
  // The turn the target asked for with poller::again().
  virtual void on_again() {}

 private:
  friend class poller;
  // The poller's intrusive list of live targets: no allocation per connection.
  poll_target* live_prev_ = nullptr;
  poll_target* live_next_ = nullptr;
  bool live_ = false;
  bool again_ = false;  // in the poller's again list
};

class poller {
 public:
  explicit poller(boost::asio::io_context& io);
  poller(const poller&) = delete;
  poller& operator=(const poller&) = delete;
  ~poller();

  // Registers `fd` (non-blocking) for edge-triggered read and write readiness; on success
  // `target` is live until retired.
  bool add(int fd, poll_target* target);
  void remove(int fd);
  // Deletes `target` now, or after the batch being dispatched.
  void retire(poll_target* target);
  // Gives `target` one more turn (on_again) after the targets that are ready now; asking
  // twice before the turn comes is asking once.
  void again(poll_target* target);
  // Targets waiting for the turn they asked for.
  size_t waiting_again() const { return again_.size(); }
  // Targets added and not retired yet (open or closing connections). Any thread.
  size_t live() const { return live_count_.load(std::memory_order_relaxed); }
  // Called after every dispatched batch (the shard flushes the connections it touched).
  void set_after_batch(std::function<void()> f) { after_batch_ = std::move(f); }

 private:
  void wait();
  void dispatch();
  void serve_again();
  void post_dispatch();
  void bury();

  int epfd_ = -1;
  boost::asio::posix::stream_descriptor waiter_;
  bool dispatching_ = false;
  bool cleanup_posted_ = false;
  bool dispatch_posted_ = false;
  std::vector<poll_target*> graveyard_;
  std::vector<poll_target*> again_;    // asked for a turn in the next pass
  std::vector<poll_target*> serving_;  // asked before the current pass: served in it

  poll_target* live_head_ = nullptr;  // intrusive list through poll_target::live_next_
  size_t live_size_ = 0;
  std::atomic<size_t> live_count_{0};
  std::function<void()> after_batch_;
};

}  // namespace gyre
