// redis_stream_consumer: consumer groups, XREADGROUP, XACK, XAUTOCLAIM; see the header.
#include "consumers/redis_stream_consumer.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/redis/redis_address.hpp"
#include "broker/redis/redis_connection.hpp"
#include "broker/redis/redis_shard.hpp"
#include "core/log.hpp"

namespace gyre::consumers {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr size_t read_count = 100;
constexpr auto reclaim_interval = 5s;

struct entry {
  std::string id;
  std::vector<std::string> fields;  // name, value, name, value...
};

// One stream entry of a reply: [id, [field, value, ...]] (nil fields for a deleted one).
std::optional<entry> parse_entry(const redis::reply& r) {
  if (r.type != redis::reply::kind::array || r.elements.size() != 2) return std::nullopt;
  entry e;
  e.id = std::string(r.elements[0].text());
  if (e.id.empty()) return std::nullopt;
  const auto& f = r.elements[1];
  if (f.type == redis::reply::kind::array)
    for (const auto& x : f.elements) e.fields.emplace_back(x.text());
  return e;
}

}  // namespace

struct redis_stream_consumer::worker : std::enable_shared_from_this<worker> {
  worker(asio::io_context& io, redis_stream_consumer& owner, std::string stream, bool reclaims,
         std::shared_ptr<redis::connection> conn)
      : io(io),
        owner(owner),
        stream(std::move(stream)),
        reclaims(reclaims),
        conn(std::move(conn)),
        timer(io) {}

  asio::io_context& io;
  redis_stream_consumer& owner;
  std::string stream;
  bool reclaims;  // the stream's first worker also claims stale entries
  std::shared_ptr<redis::connection> conn;
  asio::steady_timer timer;
  bool stopped = false;
  std::vector<entry> batch;
  std::vector<std::string> acks;  // XACK stream group id...: done, not yet acknowledged
  size_t next = 0;
  unsigned retries = 0;
  unsigned read_failures = 0;
  std::string claim_cursor = "0-0";
  std::chrono::steady_clock::time_point next_reclaim{};

  const config::redis_stream_consumer_config& cfg() const { return owner.cfg_; }

  void send(std::vector<std::string> args, redis::reply_callback cb) {
    conn->send(redis::encode_command(args), std::move(cb));
  }

  void create_group() {
    if (stopped) return;
    send({"XGROUP", "CREATE", stream, cfg().consumer_group_, "$", "MKSTREAM"},
         [self = shared_from_this()](redis::reply&& r) {
           if (self->stopped) return;
           if (r.is_error() && !r.str.starts_with("BUSYGROUP")) {
             log::write(spdlog::level::err, "consumer: cannot create the consumer group",
                        {{"consumer", self->owner.dispatcher_->name()},
                         {"stream", self->stream},
                         {"error", r.str}});
             return self->after(retry_backoff(self->read_failures++),
                                [self] { self->create_group(); });
           }
           self->read();
         });
  }

  template <class F>
  void after(std::chrono::milliseconds d, F f) {
    timer.expires_after(d);
    timer.async_wait([self = shared_from_this(), f = std::move(f)](boost::system::error_code ec) {
      if (!ec && !self->stopped) f();
    });
  }

  std::chrono::milliseconds block_time() const {
    auto half = std::chrono::duration_cast<std::chrono::milliseconds>(cfg().io_timeout_) / 2;
    return std::clamp<std::chrono::milliseconds>(half, 100ms, 5000ms);
  }

  void read() {
    if (stopped) return;
    auto now = std::chrono::steady_clock::now();
    if (reclaims && now >= next_reclaim) {
      next_reclaim =
          now + std::min<std::chrono::nanoseconds>(reclaim_interval, cfg().visibility_timeout_);
      auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(cfg().visibility_timeout_);
      send({"XAUTOCLAIM", stream, cfg().consumer_group_, owner.node_id_,
            std::to_string(idle.count()), claim_cursor, "COUNT", std::to_string(read_count)},
           [self = shared_from_this()](redis::reply&& r) { self->on_claimed(std::move(r)); });
      return;
    }
    send({"XREADGROUP", "GROUP", cfg().consumer_group_, owner.node_id_, "COUNT",
          std::to_string(read_count), "BLOCK", std::to_string(block_time().count()), "STREAMS",
          stream, ">"},
         [self = shared_from_this()](redis::reply&& r) { self->on_read(std::move(r)); });
  }

  bool read_failed(const redis::reply& r) {
    if (!r.is_error()) return false;
    if (r.str.starts_with("NOGROUP")) {
      create_group();
      return true;
    }
    log::limited(log_site(), spdlog::level::warn, "consumer {}: stream {}: {}",
                 owner.dispatcher_->name(), stream, r.str);
    after(retry_backoff(read_failures++), [self = shared_from_this()] { self->read(); });
    return true;
  }

  static log::limiter& log_site() {
    static log::limiter site(5);
    return site;
  }

  void on_claimed(redis::reply&& r) {
    if (stopped || read_failed(r)) return;
    read_failures = 0;
    // [next cursor, [entries], (Redis 7) [deleted ids]]
    if (r.type == redis::reply::kind::array && r.elements.size() >= 2) {
      claim_cursor = std::string(r.elements[0].text());
      if (claim_cursor.empty()) claim_cursor = "0-0";
      if (claim_cursor != "0-0") next_reclaim = {};  // more to claim: go on at once
      for (const auto& e : r.elements[1].elements)
        if (auto parsed = parse_entry(e)) batch.push_back(std::move(*parsed));
      if (r.elements.size() >= 3 && !r.elements[2].elements.empty()) {
        // Entries deleted from the stream while pending: nothing to run, acknowledge.
        std::vector<std::string> args{"XACK", stream, cfg().consumer_group_};
        for (const auto& id : r.elements[2].elements) args.emplace_back(id.text());
        send(std::move(args), nullptr);
      }
    }
    run_batch();
  }

  void on_read(redis::reply&& r) {
    if (stopped || read_failed(r)) return;
    read_failures = 0;
    // nil on timeout; else [[stream, [entries]]]
    if (r.type == redis::reply::kind::array)
      for (const auto& s : r.elements)
        if (s.type == redis::reply::kind::array && s.elements.size() == 2)
          for (const auto& e : s.elements[1].elements)
            if (auto parsed = parse_entry(e)) batch.push_back(std::move(*parsed));
    run_batch();
  }

  void run_batch() {
    next = 0;
    retries = 0;
    run_next();
  }

  // One XACK for the entries done since the last one (before reading again, and before a
  // retry's wait).
  void flush_acks() {
    if (acks.size() <= 3) return;
    send(std::move(acks), nullptr);
    acks = {};
  }

  void run_next() {
    if (stopped) return;
    if (next >= batch.size()) {
      flush_acks();
      batch.clear();
      return read();
    }
    const entry& e = batch[next];
    decoded d = decode(e);
    owner.dispatcher_->run(d, stream + "/" + e.id, [self = shared_from_this()](result res) {
      asio::post(self->io, [self, res = std::move(res)] { self->on_result(res); });
    });
  }

  decoded decode(const entry& e) const {
    message_meta meta;
    for (size_t i = 0; i + 1 < e.fields.size(); i += 2)
      meta.items.emplace_back(e.fields[i], e.fields[i + 1]);
    auto payload = meta.get(cfg().payload_value_);
    if (!payload) {
      decoded d;
      d.skip_reason = "no \"" + cfg().payload_value_ + "\" field in the entry";
      return d;
    }
    if (cfg().publication_data_mode_.enabled_)
      return decode_publication(cfg().publication_data_mode_, meta, *payload);
    return decode_command(meta.get(cfg().method_value_).value_or(""), *payload);
  }

  void on_result(const result& res) {
    if (stopped) return;
    if (res.kind == outcome::retry) {
      flush_acks();
      return after(retry_backoff(retries++), [self = shared_from_this()] { self->run_next(); });
    }
    if (acks.empty()) acks = {"XACK", stream, cfg().consumer_group_};
    acks.push_back(batch[next].id);
    ++next;
    retries = 0;
    run_next();
  }

  void stop() {
    stopped = true;
    timer.cancel();
    conn->stop_on_io();
  }
};

struct redis_stream_consumer::impl {
  std::unique_ptr<redis::shard> shard;
  std::vector<std::shared_ptr<worker>> workers;
};

redis_stream_consumer::redis_stream_consumer(asio::io_context& io,
                                             config::redis_stream_consumer_config cfg,
                                             std::string key, std::string node_id,
                                             std::unique_ptr<dispatcher> d)
    : io_(io),
      cfg_(std::move(cfg)),
      key_(std::move(key)),
      node_id_(std::move(node_id)),
      dispatcher_(std::move(d)),
      impl_(std::make_unique<impl>()) {}

redis_stream_consumer::~redis_stream_consumer() = default;

std::string redis_stream_consumer::prepare() {
  redis::topology topo;
  std::string error;
  if (!redis::parse_topology(cfg_, key_, topo, error)) return error;
  if (topo.shards.size() != 1 || topo.shards[0].kind != redis::shard_kind::standalone)
    return key_ +
           ": the redis_stream consumer needs exactly one standalone Redis address "
           "(Sentinel, Cluster and several shards are not supported by Gyre yet)";
  impl_->shard = std::make_unique<redis::shard>(io_, topo.shards[0], 0,
                                                std::vector<const redis::lua_script*>{});
  return {};
}

void redis_stream_consumer::start() {
  size_t index = 0;
  for (const auto& stream : cfg_.streams_) {
    for (int64_t w = 0; w < cfg_.num_workers_; ++w) {
      auto conn = impl_->shard->make_local_data(io_, index++);
      auto wk = std::make_shared<worker>(io_, *this, stream, w == 0, std::move(conn));
      impl_->workers.push_back(wk);
      asio::post(io_, [wk] { wk->create_group(); });
    }
  }
  log::write(spdlog::level::info, "consumer: running",
             {{"consumer", dispatcher_->name()},
              {"type", "redis_stream"},
              {"streams", static_cast<int64_t>(cfg_.streams_.size())},
              {"workers_per_stream", cfg_.num_workers_}});
}

void redis_stream_consumer::stop_on_io() {
  for (auto& w : impl_->workers) w->stop();
  impl_->workers.clear();
  if (impl_->shard) impl_->shard->stop_on_io();
}

}  // namespace gyre::consumers
