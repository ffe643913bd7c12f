// io_thread: an Asio io_context run by one thread of its own, for work that must not queue
// behind the event loops' fan-out: the server serves its HTTP requests (API, health,
// metrics) there once a keep-alive connection has sent its first one, so that an API
// publish is read and answered while the loops are busy delivering.
//
// Threading: start()/stop()/join() from the owning (main) thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>
#include <thread>

namespace gyre {

class io_thread {
 public:
  io_thread() = default;
  io_thread(const io_thread&) = delete;
  io_thread& operator=(const io_thread&) = delete;
  // Stops and joins; handlers still queued are destroyed with the io_context.
  ~io_thread();

  boost::asio::io_context& io() { return io_; }
  void start();
  void stop();
  void join();

 private:
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      io_.get_executor()};
  std::thread thread_;
};

}  // namespace gyre
