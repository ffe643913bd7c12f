// poller implementation; see poller.hpp.
#include "transport/poller.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <algorithm>

#include "core/log.hpp"

namespace gyre {

namespace {
constexpr int batch_size = 256;
}

poller::poller(boost::asio::io_context& io) : waiter_(io) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) {
    log::error("epoll_create1 failed");
    return;
  }
  // The stream_descriptor owns a dup: Asio closes its own descriptor on destruction.
  waiter_.assign(::dup(epfd_));
  wait();
}

poller::~poller() {
  boost::system::error_code ec;
  waiter_.close(ec);
  if (epfd_ >= 0) ::close(epfd_);
  for (poll_target* t : graveyard_) delete t;
  while (live_head_) {
    poll_target* t = live_head_;
    live_head_ = t->live_next_;
    delete t;
  }
}

bool poller::add(int fd, poll_target* target) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = target;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  if (!target->live_) {
    target->live_ = true;
    target->live_prev_ = nullptr;
    target->live_next_ = live_head_;
    if (live_head_) live_head_->live_prev_ = target;
    live_head_ = target;
    live_count_.store(++live_size_, std::memory_order_relaxed);
  }
  return true;
}

void poller::remove(int fd) {
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

void poller::retire(poll_target* target) {
  if (target->again_) {
    // Still waiting for its turn: forget it (the list being served is only read before
    // the graveyard is buried, so it may keep the pointer).
    target->again_ = false;
    auto it = std::find(again_.begin(), again_.end(), target);
    if (it != again_.end()) again_.erase(it);
  }
  if (target->live_) {
    target->live_ = false;
    if (target->live_prev_)
      target->live_prev_->live_next_ = target->live_next_;
    else
      live_head_ = target->live_next_;
    if (target->live_next_) target->live_next_->live_prev_ = target->live_prev_;
    live_count_.store(--live_size_, std::memory_order_relaxed);
  }
  graveyard_.push_back(target);
  if (dispatching_ || cleanup_posted_) return;
  // Never delete from inside the target's own call chain: do it from a fresh handler.
  cleanup_posted_ = true;
  boost::asio::post(waiter_.get_executor(), [this] {
    cleanup_posted_ = false;
    if (!dispatching_) bury();
  });
}

void poller::again(poll_target* target) {
  if (target->again_) return;
  target->again_ = true;
  again_.push_back(target);
  if (!dispatching_) post_dispatch();
}

void poller::post_dispatch() {
  if (dispatch_posted_) return;
  dispatch_posted_ = true;
  boost::asio::post(waiter_.get_executor(), [this] {
    dispatch_posted_ = false;
    if (!dispatching_) dispatch();
  });
}

void poller::bury() {
  std::vector<poll_target*> dead;
  dead.swap(graveyard_);
  for (poll_target* t : dead) delete t;
}

void poller::wait() {
  waiter_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [this](const boost::system::error_code& ec) {
                       if (ec) return;  // loop stopping
                       dispatch();
                       wait();
                     });
}

void poller::dispatch() {
  epoll_event events[batch_size];
  dispatching_ = true;
  // The turns promised before this pass; whoever asks during it waits for the next one.
  serving_.swap(again_);
  // Drain everything ready now, one bounded batch at a time.
  for (int round = 0; round < 64; ++round) {
    int n = ::epoll_wait(epfd_, events, batch_size, 0);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i)
      static_cast<poll_target*>(events[i].data.ptr)->on_poll(events[i].events);
    if (after_batch_) after_batch_();
    if (n < batch_size) break;
  }
  serve_again();
  dispatching_ = false;
  bury();
  // Whoever asked during this pass is served in the next one, after what Asio has queued.
  if (!again_.empty()) post_dispatch();
}

void poller::serve_again() {
  if (serving_.empty()) return;
  for (poll_target* t : serving_) {
    // A target retired during this pass is in the graveyard, not deleted yet.
    if (!t->again_) continue;
    t->again_ = false;
    t->on_again();
  }
  serving_.clear();
  if (after_batch_) after_batch_();
}

}  // namespace gyre
