// redis_subscriber: see redis_subscriber.hpp.
#include "broker/redis/redis_subscriber.hpp"

#include <charconv>

#include <boost/asio/post.hpp>

namespace gyre::redis {

namespace {
constexpr size_t resubscribe_batch = 256;
}

subscriber::subscriber(asio::io_context& io, std::shared_ptr<connection> conn)
    : io_(io), conn_(std::move(conn)), timer_(io) {}

subscriber::~subscriber() = default;

void subscriber::start() {
  conn_->set_push_handler([this](reply&& r) { on_push(std::move(r)); });
  conn_->set_state_handler([this](bool up, const std::string&) { on_connection_state(up); });
  conn_->start();
  asio::post(io_, [this] { tick(); });
}

void subscriber::stop_on_io() {
  stopped_ = true;
  timer_.cancel();
  conn_->stop_on_io();
  std::vector<done_fn> fail;
  {
    std::lock_guard lock(mu_);
    for (auto& [ch, st] : channels_) {
      for (auto& w : st.waiters) fail.push_back(std::move(w.second));
    }
    channels_.clear();
    restoring_.clear();
    restored_.clear();
    for (auto& b : barriers_) fail.push_back(std::move(b.done));
    barriers_.clear();
  }
  for (auto& f : fail) f(errors::internal);
}

void subscriber::subscribe(const std::string& channel, done_fn done) {
  std::unique_lock lock(mu_);
  auto [it, inserted] = channels_.try_emplace(channel);
  if (!inserted && it->second.confirmed) {
    lock.unlock();
    if (done) done(ok_v);
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + conn_->options().io_timeout;
  if (done) it->second.waiters.emplace_back(deadline, std::move(done));
  if (!inserted) return;  // a SUBSCRIBE is on its way (or follows the reconnect)
  ++unconfirmed_[channel];
  lock.unlock();
  // Sent even while disconnected: it waits in the queue, and on reconnect the channel is
  // subscribed again anyway (a duplicate SUBSCRIBE is harmless).
  conn_->send(encode_command({"SUBSCRIBE", channel}), nullptr);
}

void subscriber::unsubscribe(const std::string& channel) {
  std::vector<done_fn> fail;
  {
    std::lock_guard lock(mu_);
    auto it = channels_.find(channel);
    if (it == channels_.end()) return;
    for (auto& w : it->second.waiters) fail.push_back(std::move(w.second));
    channels_.erase(it);
    restoring_.erase(channel);
  }
  conn_->send(encode_command({"UNSUBSCRIBE", channel}), nullptr);
  for (auto& f : fail) f(errors::internal);
}

void subscriber::barrier(done_fn done) {
  // Registered and sent on the I/O thread, where the connection state cannot change
  // under us: a barrier must not outlive the connection it was sent on.
  asio::post(io_, [this, done = std::move(done)]() mutable {
    if (stopped_ || !conn_->up()) return done(errors::internal);
    uint64_t token = 0;
    {
      std::lock_guard lock(mu_);
      token = next_barrier_++;
      barriers_.push_back(pending_barrier{
          token, std::chrono::steady_clock::now() + conn_->options().io_timeout, std::move(done)});
    }
    conn_->send(encode_command({"PING", "gyre-barrier-" + std::to_string(token)}), nullptr);
  });
}

std::vector<std::string> subscriber::take_restored_locked(size_t at_least) {
  std::vector<std::string> out;
  if (restored_.empty()) return out;
  if (restored_.size() >= at_least || restoring_.empty()) out.swap(restored_);
  return out;
}

void subscriber::report_restored(std::vector<std::string> batch) {
  if (!batch.empty() && on_restored && !stopped_) on_restored(std::move(batch));
}

bool subscriber::confirmed(const std::string& channel) const {
  std::lock_guard lock(mu_);
  auto it = channels_.find(channel);
  return it != channels_.end() && it->second.confirmed;
}

size_t subscriber::channel_count() const {
  std::lock_guard lock(mu_);
  return channels_.size();
}

void subscriber::on_push(reply&& r) {
  if (r.type != reply::kind::array || r.elements.size() < 2) return;
  const std::string_view kind = r.elements[0].text();
  if (kind == "message" && r.elements.size() >= 3) {
    if (on_message) on_message(r.elements[1].text(), r.elements[2].text());
    return;
  }
  if (kind == "subscribe") {
    const std::string& ch = r.elements[1].str;
    std::vector<done_fn> ready;
    std::vector<std::string> restored;
    {
      std::lock_guard lock(mu_);
      auto u = unconfirmed_.find(ch);
      if (u != unconfirmed_.end() && u->second > 0) --u->second;
      const bool settled = u == unconfirmed_.end() || u->second == 0;
      if (u != unconfirmed_.end() && u->second == 0) unconfirmed_.erase(u);
      auto it = channels_.find(ch);
      if (it != channels_.end() && settled) {
        it->second.confirmed = true;
        for (auto& w : it->second.waiters) ready.push_back(std::move(w.second));
        it->second.waiters.clear();
        if (restoring_.erase(ch) > 0) restored_.push_back(ch);
        restored = take_restored_locked(restored_batch);
      }
    }
    for (auto& f : ready) f(ok_v);
    report_restored(std::move(restored));
    return;
  }
  if (kind == "pong") {
    // ["pong", "gyre-barrier-<token>"]; the idle PING of the connection has no argument.
    constexpr std::string_view tag = "gyre-barrier-";
    const std::string_view arg = r.elements[1].text();
    if (!arg.starts_with(tag)) return;
    uint64_t token = 0;
    const std::string_view digits = arg.substr(tag.size());
    if (std::from_chars(digits.data(), digits.data() + digits.size(), token).ec != std::errc())
      return;
    std::vector<done_fn> passed;
    {
      std::lock_guard lock(mu_);
      // Barriers are answered in the order they were sent: this one and every earlier one.
      while (!barriers_.empty() && barriers_.front().token <= token) {
        passed.push_back(std::move(barriers_.front().done));
        barriers_.pop_front();
      }
    }
    for (auto& f : passed) f(ok_v);
  }
  // "unsubscribe" confirmations need nothing.
}

void subscriber::on_connection_state(bool up) {
  if (stopped_) return;
  if (!up) {
    generation_.fetch_add(1, std::memory_order_acq_rel);
    std::vector<done_fn> failed;
    {
      std::lock_guard lock(mu_);
      unconfirmed_.clear();
      for (auto& [ch, st] : channels_) st.confirmed = false;
      // What was not reported yet is resubscribed (and reported) after the next reconnect.
      restoring_.clear();
      restored_.clear();
      for (auto& b : barriers_) failed.push_back(std::move(b.done));
      barriers_.clear();
    }
    for (auto& f : failed) f(errors::internal);
    if (on_reset) on_reset();
    if (on_state) on_state(false);
    return;
  }
  // Back: subscribe everything again. Commands queued before the drop that were not yet
  // written are sent first; their confirmations are counted like these.
  std::vector<std::string> batch;
  std::vector<std::vector<std::string>> batches;
  {
    std::lock_guard lock(mu_);
    unconfirmed_.clear();
    restoring_.clear();
    restored_.clear();
    for (auto& [ch, st] : channels_) {
      if (batch.empty()) batch.push_back("SUBSCRIBE");
      batch.push_back(ch);
      ++unconfirmed_[ch];
      restoring_.insert(ch);
      if (batch.size() > resubscribe_batch) batches.push_back(std::move(batch)), batch.clear();
    }
    if (!batch.empty()) batches.push_back(std::move(batch));
  }
  for (auto& b : batches) conn_->send(encode_command(b), nullptr);
  if (on_state) on_state(true);
}

void subscriber::tick() {
  if (stopped_) return;
  const auto now = std::chrono::steady_clock::now();
  std::vector<done_fn> expired;
  std::vector<std::string> dropped;
  std::vector<std::string> restored;
  {
    std::lock_guard lock(mu_);
    for (auto it = channels_.begin(); it != channels_.end();) {
      auto& st = it->second;
      if (!st.confirmed && !st.waiters.empty() && st.waiters.front().first <= now) {
        for (auto& w : st.waiters) expired.push_back(std::move(w.second));
        dropped.push_back(it->first);
        restoring_.erase(it->first);
        it = channels_.erase(it);
      } else {
        ++it;
      }
    }
    while (!barriers_.empty() && barriers_.front().deadline <= now) {
      expired.push_back(std::move(barriers_.front().done));
      barriers_.pop_front();
    }
    // Confirmed resubscriptions wait at most one tick for their batch to fill.
    restored = take_restored_locked(1);
  }
  for (const auto& ch : dropped) conn_->send(encode_command({"UNSUBSCRIBE", ch}), nullptr);
  for (auto& f : expired) f(errors::internal);
  report_restored(std::move(restored));
  timer_.expires_after(std::chrono::milliseconds(100));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

}  // namespace gyre::redis
