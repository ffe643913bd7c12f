// event_loop: one Asio io_context run by one thread, paired with the hub shard it serves.
// Gyre runs one loop per core; every connection lives on exactly one loop.
//
// The loop drives its shard: it installs the shard's waker (inbox → drain on this thread)
// and ticks the shard's timer wheel every 250 ms.
//
// Threading: start()/stop()/join() from the owning (main) thread; io() handlers run on the
// loop's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "transport/poller.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

namespace gyre {

class shard;

class event_loop {
 public:
  explicit event_loop(shard& s);
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;
  ~event_loop();

  boost::asio::io_context& io() { return io_; }
  shard& hub() { return shard_; }
  poller& sockets() { return *poller_; }

  void start();
  // Stops the io_context; handlers in flight are abandoned. Call after the graceful part
  // of shutdown is done.
  void stop();
  void join();

 private:
  void schedule_tick();

  shard& shard_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  boost::asio::steady_timer tick_timer_;
  std::unique_ptr<poller> poller_;
  std::thread thread_;
};

}  // namespace gyre
