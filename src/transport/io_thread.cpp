// io_thread implementation; see io_thread.hpp.
#include "transport/io_thread.hpp"

namespace gyre {

io_thread::~io_thread() {
  stop();
  join();
}

void io_thread::start() {
  thread_ = std::thread([this] { io_.run(); });
}

void io_thread::stop() {
  work_.reset();
  io_.stop();
}

void io_thread::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace gyre
