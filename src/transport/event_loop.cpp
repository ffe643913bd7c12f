// event_loop implementation; see event_loop.hpp.
#include "transport/event_loop.hpp"

#include <boost/asio/post.hpp>

#include <chrono>

#include "hub/shard.hpp"

namespace gyre {

namespace {
constexpr auto tick_period = std::chrono::milliseconds(250);

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

event_loop::event_loop(shard& s)
    : shard_(s), tick_timer_(io_), poller_(std::make_unique<poller>(io_)) {
  work_.emplace(io_.get_executor());
  // Everything a batch of socket events queued goes out once the batch is handled.
  poller_->set_after_batch([this] { shard_.flush_dirty(); });
  // Other threads hand the shard events; one post per batch wakes the loop.
  shard_.set_waker([this] { boost::asio::post(io_, [this] { shard_.drain_inbox(); }); });
}

event_loop::~event_loop() {
  stop();
  join();
}

void event_loop::start() {
  thread_ = std::thread([this] {
    shard_.set_loop_thread(std::this_thread::get_id());
    schedule_tick();
    io_.run();
  });
}

void event_loop::schedule_tick() {
  tick_timer_.expires_after(tick_period);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    shard_.tick(mono_ms());
    schedule_tick();
  });
}

void event_loop::stop() {
  work_.reset();
  io_.stop();
}

void event_loop::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace gyre
