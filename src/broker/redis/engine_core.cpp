// engine_core: see engine_core.hpp.
#include "broker/redis/engine_core.hpp"

#include <condition_variable>
#include <future>

#include <boost/asio/post.hpp>

#include "core/log.hpp"

namespace gyre::redis {

namespace {
std::vector<const lua_script*> all_scripts() {
  return {&add_history_stream_script(), &add_history_stream_batch_script(),
          &add_history_list_script(),   &publish_idempotent_script(),
          &read_stream_script(),        &read_list_script(),
          &presence_add_script(),       &presence_remove_script(),
          &presence_get_script(),       &presence_stats_script()};
}
}  // namespace

engine_core::engine_core(topology topo) : topo_(std::move(topo)) {
  client_prefix_ = topo_.prefix + ".client.";
  for (size_t i = 0; i < topo_.shards.size(); ++i) {
    auto s = std::make_unique<shard>(io_, topo_.shards[i], i, all_scripts());
    s->pubsub().on_message = [this, i](std::string_view ch, std::string_view payload) {
      dispatch(i, ch, payload);
    };
    s->pubsub().on_reset = [this, i] {
      if (message_sink* sink = client_sink_.load()) sink->on_pubsub_reset(i);
    };
    s->pubsub().on_restored = [this, i](std::vector<std::string> channels) {
      if (message_sink* sink = client_sink_.load())
        sink->on_pubsub_restored(i, std::move(channels));
    };
    s->on_health = [this, i](bool ok) {
      std::function<void(size_t, bool)> h;
      {
        std::lock_guard lock(health_mu_);
        h = health_handler_;
      }
      if (h) h(i, ok);
    };
    shards_.push_back(std::move(s));
  }
}

engine_core::~engine_core() {
  stop();
}

void engine_core::start() {
  if (started_) return;
  started_ = true;
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    thread_id_.store(std::this_thread::get_id());
    io_.run();
  });
  for (auto& s : shards_) s->start();
}

void engine_core::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  client_sink_.store(nullptr);
  control_sink_.store(nullptr);
  if (on_io_thread()) {
    // Destroyed from one of our own callbacks: let the thread finish on its own.
    for (auto& s : shards_) s->stop_on_io();
    io_.stop();
    thread_.detach();
    return;
  }
  run_on_io([this] {
    for (auto& s : shards_) s->stop_on_io();
  });
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void engine_core::run_on_io(const std::function<void()>& fn) {
  if (!started_ || on_io_thread()) return fn();
  std::promise<void> done;
  auto f = done.get_future();
  asio::post(io_, [&] {
    fn();
    done.set_value();
  });
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    log::error("redis: the I/O thread did not answer within 30 s");
  }
}

std::string engine_core::key(std::string_view kind, std::string_view channel) const {
  std::string k;
  k.reserve(topo_.prefix.size() + kind.size() + channel.size() + 4);
  k.append(topo_.prefix);
  k.push_back('.');
  k.append(kind);
  k.push_back('.');
  if (topo_.cluster()) {
    k.push_back('{');
    k.append(channel);
    k.push_back('}');
  } else {
    k.append(channel);
  }
  return k;
}

bool engine_core::channel_of(std::string_view pubsub_channel, std::string& channel) const {
  if (!pubsub_channel.starts_with(client_prefix_)) return false;
  std::string_view rest = pubsub_channel.substr(client_prefix_.size());
  if (topo_.cluster()) {
    if (rest.size() < 2 || rest.front() != '{' || rest.back() != '}') return false;
    rest = rest.substr(1, rest.size() - 2);
  }
  channel.assign(rest);
  return true;
}

void engine_core::dispatch(size_t shard, std::string_view channel, std::string_view payload) {
  if (channel.starts_with(client_prefix_)) {
    if (message_sink* s = client_sink_.load()) s->on_message(shard, channel, payload);
    return;
  }
  if (message_sink* s = control_sink_.load()) s->on_message(shard, channel, payload);
}

void engine_core::set_client_sink(message_sink* s) {
  client_sink_.store(s);
  if (s == nullptr) run_on_io([] {});  // barrier: a dispatch in progress has finished
}

void engine_core::set_control_sink(message_sink* s) {
  control_sink_.store(s);
  if (s == nullptr) run_on_io([] {});
}

bool engine_core::healthy() const {
  for (const auto& s : shards_) {
    if (!s->healthy()) return false;
  }
  return true;
}

std::vector<std::pair<std::string, bool>> engine_core::shard_health() const {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& s : shards_) out.emplace_back(s->describe(), s->healthy());
  return out;
}

void engine_core::set_health_handler(std::function<void(size_t, bool)> h) {
  std::lock_guard lock(health_mu_);
  health_handler_ = std::move(h);
}

bool engine_core::wait_ready(std::chrono::milliseconds timeout, std::string& error) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& s : shards_) {
    while (!s->healthy() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!s->healthy()) {
      const std::string why = s->last_error();
      error = "cannot connect to Redis " + s->describe() + (why.empty() ? "" : ": " + why);
      return false;
    }
    // Streams need Redis >= 5: an XRANGE tells (engines.md §4.1).
    auto p = std::make_shared<std::promise<std::string>>();
    auto f = p->get_future();
    const std::string check_key = topo_.prefix + ".__.check.stream";
    s->exec(check_key, {"XRANGE", check_key, "0-0", "0-0"}, [p](reply&& r) {
      p->set_value(r.is_error() ? (r.str.empty() ? std::string("error") : r.str) : std::string());
    });
    const auto left = deadline - std::chrono::steady_clock::now();
    if (f.wait_for(std::max<std::chrono::steady_clock::duration>(
            left, std::chrono::milliseconds(100))) != std::future_status::ready) {
      error = "Redis " + s->describe() + " did not answer in time";
      return false;
    }
    if (auto e = f.get(); !e.empty()) {
      error = "Redis " + s->describe() + " cannot serve STREAM commands (needs Redis >= 5): " + e;
      return false;
    }
  }
  return true;
}

}  // namespace gyre::redis
