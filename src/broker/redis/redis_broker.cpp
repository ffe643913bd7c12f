// redis_broker: see redis_broker.hpp.
#include "broker/redis/redis_broker.hpp"

#include <algorithm>
#include <charconv>

#include <future>

#include <boost/asio/post.hpp>

#include "broker/pb_wire.hpp"
#include "core/log.hpp"
#include "core/random.hpp"

namespace gyre::redis {

namespace {

constexpr auto sweep_period = std::chrono::milliseconds(200);

bool parse_u64(std::string_view s, uint64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// `__p1:<offset>:<epoch>__<pb>` → offset, epoch, pb.
bool parse_p1(std::string_view in, uint64_t& offset, std::string_view& epoch,
              std::string_view& pb) {
  in.remove_prefix(5);
  const auto c = in.find(':');
  if (c == std::string_view::npos || !parse_u64(in.substr(0, c), offset)) return false;
  in.remove_prefix(c + 1);
  const auto end = in.find("__");
  if (end == std::string_view::npos) return false;
  epoch = in.substr(0, end);
  pb = in.substr(end + 2);
  return true;
}

// `__d1:<offset>:<epoch>:<prevLen>:<prev>:<len>:<pb>`.
bool parse_d1(std::string_view in, uint64_t& offset, std::string_view& epoch,
              std::string_view& prev, std::string_view& pb) {
  in.remove_prefix(5);
  auto field = [&in](std::string_view& out) {
    const auto c = in.find(':');
    if (c == std::string_view::npos) return false;
    out = in.substr(0, c);
    in.remove_prefix(c + 1);
    return true;
  };
  std::string_view off, len;
  uint64_t n = 0;
  if (!field(off) || !parse_u64(off, offset) || !field(epoch) || !field(len) ||
      !parse_u64(len, n) || n > in.size()) {
    return false;
  }
  prev = in.substr(0, n);
  in.remove_prefix(n);
  if (in.empty() || in[0] != ':') return false;
  in.remove_prefix(1);
  if (!field(len) || !parse_u64(len, n) || n != in.size()) return false;
  pb = in;
  return true;
}

// A stream entry `[id, [field, value, ...]]` → publication.
bool parse_entry(const reply& e, publication& out) {
  if (e.type != reply::kind::array || e.elements.size() < 2) return false;
  const std::string& id = e.elements[0].str;
  uint64_t offset = 0;
  if (!parse_u64(std::string_view(id).substr(0, id.find('-')), offset)) return false;
  const auto& fields = e.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "d") {
      if (!pb_wire::decode_publication(fields[i + 1].str, out)) return false;
      out.offset = offset;
      return true;
    }
  }
  return false;
}

}  // namespace

redis_broker::redis_broker(std::shared_ptr<engine_core> core, options opts)
    : core_(std::move(core)), opts_(opts), alive_(std::make_shared<std::atomic<bool>>(true)) {
  sweep_timer_ = std::make_unique<asio::steady_timer>(core_->io());
  for (size_t i = 0; i < core_->shard_count(); ++i) {
    queues_.push_back(std::make_unique<publish_queue>());
    queues_.back()->io = &core_->io();
  }
}

void redis_broker::use_local_threads(const std::vector<asio::io_context*>& ios) {
  if (!locals_.empty() || stopped_.load()) return;
  bool any = false;
  for (size_t t = 0; t < ios.size(); ++t) {
    auto l = std::make_unique<local_thread>();
    l->io = ios[t];
    for (size_t i = 0; i < core_->shard_count(); ++i) {
      auto conn = core_->shard_at(i).make_local_data(*ios[t], t);
      if (!conn) {
        l->queues.push_back(nullptr);
        continue;
      }
      auto q = std::make_unique<publish_queue>();
      q->io = ios[t];
      q->conn = std::move(conn);
      l->queues.push_back(std::move(q));
      any = true;
    }
    locals_.push_back(std::move(l));
  }
  if (any) locals_on_.store(true, std::memory_order_release);
}

void redis_broker::release_local_threads() {
  locals_on_.store(false, std::memory_order_release);
  for (auto& l : locals_) {
    std::vector<std::shared_ptr<connection>> conns;
    for (auto& q : l->queues) {
      if (q && q->conn) conns.push_back(std::move(q->conn));
    }
    if (conns.empty()) continue;
    auto stop = [conns] {
      for (auto& c : conns) c->stop_on_io();
    };
    if (l->io->stopped() || l->io->get_executor().running_in_this_thread()) {
      stop();
      continue;
    }
    auto done = std::make_shared<std::promise<void>>();
    auto f = done->get_future();
    asio::post(*l->io, [stop, done] {
      stop();
      done->set_value();
    });
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
      log::error("redis: a requests thread did not stop its connections within 30 s");
  }
}

redis_broker::publish_queue& redis_broker::queue_for(size_t shard_index) {
  if (locals_on_.load(std::memory_order_acquire)) {
    for (auto& l : locals_) {
      if (!l->io->get_executor().running_in_this_thread()) continue;
      if (auto& q = l->queues[shard_index]; q && q->conn) return *q;
      break;
    }
  }
  return *queues_[shard_index];
}

redis_broker::~redis_broker() {
  stop();
}

void redis_broker::start(broker_event_handler& handler) {
  handler_.store(&handler);
  core_->set_client_sink(this);
  auto alive = alive_;
  asio::post(core_->io(), [this, alive] {
    if (alive->load()) sweep();
  });
}

void redis_broker::stop() {
  if (stopped_.exchange(true)) return;
  handler_.store(nullptr);
  alive_->store(false);
  release_local_threads();
  core_->set_client_sink(nullptr);
  core_->run_on_io([this] { sweep_timer_->cancel(); });
  std::lock_guard lock(mu_);
  waiters_.clear();
}

void redis_broker::subscribe(std::string_view channel, status_callback done) {
  if (stopped_.load()) {
    if (done) done(errors::internal);
    return;
  }
  auto alive = alive_;
  core_->shard_of(channel).pubsub().subscribe(core_->client_channel(channel),
                                              [alive, done = std::move(done)](status s) {
                                                if (alive->load() && done) done(s);
                                              });
}

void redis_broker::unsubscribe(std::string_view channel) {
  if (stopped_.load()) return;
  core_->shard_of(channel).pubsub().unsubscribe(core_->client_channel(channel));
  // Deliveries still awaited for this channel will not come.
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    auto it = waiters_.find(std::string(channel));
    if (it == waiters_.end()) return;
    auto& q = it->second;
    for (auto i = q.begin(); i != q.end();) {
      if ((*i)->replied) {
        ready.push_back(std::move((*i)->complete));
        i = q.erase(i);
      } else {
        (*i)->generation = ~uint64_t{0};  // completes at its reply
        ++i;
      }
    }
    if (q.empty()) waiters_.erase(it);
  }
  for (auto& f : ready) f();
}

void redis_broker::publish(std::string_view channel_view, publication pub,
                           const publish_options& opts, callback<publish_outcome> done) {
  if (stopped_.load()) {
    if (done) done(errors::internal);
    return;
  }
  std::string channel(channel_view);
  const size_t si = core_->shard_for(channel);
  shard& sh = core_->shard_at(si);
  std::string pubsub_ch = core_->client_channel(channel);
  const bool history = opts.keeps_history();
  pub.offset = 0;
  std::string pb =
      pb_wire::encode_publication(pub, history ? pub.delta : (pub.delta || opts.use_delta));

  waiter_ptr w;
  if (handler_.load() != nullptr) {
    const uint64_t gen = sh.pubsub().generation();  // before confirmed(): see finish()
    if (sh.pubsub().confirmed(pubsub_ch)) {
      w = std::make_shared<waiter>();
      w->pb = pb;
      w->shard = si;
      w->generation = gen;
      std::lock_guard lock(mu_);
      waiters_[channel].push_back(w);
    }
  }
  const uint32_t result_ttl = opts.idempotent_result_ttl_seconds > 0
                                  ? opts.idempotent_result_ttl_seconds
                                  : publish_options{}.idempotent_result_ttl_seconds;
  auto alive = alive_;
  if (history) {
    const bool lists = opts_.history_use_lists;
    // Built with moves: a braced list would copy every string (the payload included) once
    // more into the vector.
    std::string data_key = core_->key(lists ? "list" : "stream", channel);
    std::vector<std::string> keys;
    keys.reserve(3);
    keys.push_back(data_key);
    keys.push_back(core_->key(lists ? "list.meta" : "stream.meta", channel));
    keys.push_back(opts.idempotency_key.empty()
                       ? std::move(data_key)
                       : core_->key("result", channel) + "." + opts.idempotency_key);
    std::vector<std::string> argv;
    argv.reserve(11);
    argv.push_back(std::move(pb));
    argv.push_back(std::to_string(opts.history_size));
    argv.push_back(std::to_string(opts.history_ttl_seconds));
    argv.push_back(std::move(pubsub_ch));
    argv.push_back(std::to_string(opts.history_meta_ttl_seconds));
    argv.push_back(random_epoch());
    argv.push_back("publish");
    argv.push_back(opts.idempotency_key.empty() ? std::string() : std::to_string(result_ttl));
    argv.push_back(opts.use_delta ? "1" : "0");
    if (!lists) {
      argv.push_back(std::to_string(opts.version));
      argv.push_back(opts.version_epoch);
    }
    queued_command c;
    c.script = lists ? &add_history_list_script() : &add_history_stream_script();
    c.batchable = !lists && !core_->cluster();
    c.keys = std::move(keys);
    c.argv = std::move(argv);
    c.cb = [this, alive, channel, w, done = std::move(done)](reply&& r) {
      if (!alive->load()) return;
      // {offset, epoch, from_cache, skipped}; a run of the batch script answers {offset,
      // epoch} (never suppressed).
      if (r.type != reply::kind::array || r.elements.size() < 2 || !r.elements[0].as_int()) {
        log::warn("redis: publish to {} failed: {}", channel, r.str.empty() ? "bad reply" : r.str);
        return finish(channel, w, false, [done] {
          if (done) done(errors::internal);
        });
      }
      publish_outcome out;
      out.position.offset = static_cast<uint64_t>(*r.elements[0].as_int());
      out.position.epoch = std::move(r.elements[1].str);
      bool published = true;
      const bool flags = r.elements.size() >= 4;
      if (flags && r.elements[2].text() == "1") {
        out.suppressed = true;
        out.suppress_reason = "idempotency";
        published = false;
      } else if (flags && r.elements[3].text() == "1") {
        out.suppressed = true;
        out.suppress_reason = "version";
        published = false;
      }
      finish(channel, w, published, [done, out = std::move(out)]() mutable {
        if (done) done(std::move(out));
      });
    };
    enqueue(queue_for(si), si, std::move(c));
    return;
  }
  if (opts.idempotency_key.empty()) {
    auto on_reply = [this, alive, channel, w, done = std::move(done)](reply&& r) {
      if (!alive->load()) return;
      if (r.is_error()) {
        log::warn("redis: publish to {} failed: {}", channel, r.str);
        return finish(channel, w, false, [done] {
          if (done) done(errors::internal);
        });
      }
      publish_outcome out;  // PUBLISH replies with a receiver count: nothing to read
      finish(channel, w, true, [done, out]() mutable {
        if (done) done(std::move(out));
      });
    };
    queued_command c;
    c.key = pubsub_ch;
    c.argv = {"PUBLISH", pubsub_ch, std::move(pb)};
    c.cb = std::move(on_reply);
    enqueue(queue_for(si), si, std::move(c));
    return;
  }
  queued_command c;
  c.script = &publish_idempotent_script();
  c.keys = {core_->key("result", channel) + "." + opts.idempotency_key};
  c.argv = {pubsub_ch, std::move(pb), std::to_string(result_ttl), "publish"};
  c.cb = [this, alive, channel, w, done = std::move(done)](reply&& r) {
    if (!alive->load()) return;
    if (r.is_error() || !r.as_int()) {
      log::warn("redis: publish to {} failed: {}", channel, r.str);
      return finish(channel, w, false, [done] {
        if (done) done(errors::internal);
      });
    }
    publish_outcome out;
    const bool cached = *r.as_int() == 1;
    if (cached) {
      out.suppressed = true;
      out.suppress_reason = "idempotency";
    }
    finish(channel, w, !cached, [done, out]() mutable {
      if (done) done(std::move(out));
    });
  };
  enqueue(queue_for(si), si, std::move(c));
}

void redis_broker::enqueue(publish_queue& q, size_t shard_index, queued_command c) {
  {
    std::lock_guard lock(q.mu);
    q.items.push_back(std::move(c));
    if (q.posted) return;
    q.posted = true;
  }
  auto alive = alive_;
  asio::post(*q.io, [this, alive, qp = &q, shard_index] {
    if (alive->load()) send_queued(*qp, shard_index);
  });
}

void redis_broker::send_queued(publish_queue& q, size_t shard_index) {
  std::vector<queued_command> items;
  {
    std::lock_guard lock(q.mu);
    q.posted = false;
    if (q.waiting > 0) return;  // sent when the replies are in
    items.swap(q.items);
  }
  if (items.empty()) return;
  shard& sh = core_->shard_at(shard_index);
  auto alive = alive_;
  // Every reply (or failure) of a command sent here counts down; the last one sends what
  // queued up meanwhile.
  auto answered = [this, alive, qp = &q, shard_index] {
    if (!alive->load()) return;
    publish_queue& pq = *qp;
    bool more = false;
    {
      std::lock_guard lock(pq.mu);
      more = --pq.waiting == 0 && !pq.items.empty() && !pq.posted && !pq.sending;
    }
    if (more) send_queued(pq, shard_index);
  };
  // Count first: a reply may come (and call answered) before the last command is sent.
  size_t commands = 0;
  for (size_t i = 0; i < items.size(); ++commands) {
    size_t j = i + 1;
    if (items[i].batchable)
      while (j < items.size() && items[j].batchable && j - i < max_publish_batch) ++j;
    i = j;
  }
  {
    std::lock_guard lock(q.mu);
    q.waiting += commands;
    q.sending = true;
  }
  // A requests thread's own connection lives on this thread: the round is written when the
  // loop below has sent all of it, without a posted flush.
  const std::shared_ptr<connection> corked = q.conn;
  if (corked) corked->cork_on_io();
  for (size_t i = 0; i < items.size();) {
    size_t j = i + 1;
    if (items[i].batchable)
      while (j < items.size() && items[j].batchable && j - i < max_publish_batch) ++j;
    if (j - i == 1) {
      queued_command& c = items[i];
      auto cb = [answered, cb = std::move(c.cb)](reply&& r) {
        cb(std::move(r));
        answered();
      };
      if (q.conn && c.script) {
        sh.exec_script_on(q.conn, *c.script, std::move(c.keys), std::move(c.argv), std::move(cb));
      } else if (q.conn) {
        sh.exec_on(q.conn, std::move(c.argv), std::move(cb));
      } else if (c.script) {
        sh.exec_script(*c.script, std::move(c.keys), std::move(c.argv), std::move(cb));
      } else {
        sh.exec(c.key, std::move(c.argv), std::move(cb));
      }
      i = j;
      continue;
    }
    stream_batch batch;
    batch.reserve(j - i);
    auto cbs = std::make_shared<std::vector<reply_callback>>();
    cbs->reserve(j - i);
    for (size_t k = i; k < j; ++k) {
      batch.add(std::move(items[k].keys), std::move(items[k].argv));
      cbs->push_back(std::move(items[k].cb));
    }
    std::vector<std::string> keys, argv;
    batch.take(keys, argv);
    auto on_batch = [answered, cbs](reply&& r) {
      // One result per publication; anything else (no reply at all, an
      // error of the whole call) is every publication's answer.
      const bool each = r.type == reply::kind::array && r.elements.size() == cbs->size();
      for (size_t k = 0; k < cbs->size(); ++k) {
        if (each) {
          (*cbs)[k](std::move(r.elements[k]));
        } else {
          reply copy = r;
          (*cbs)[k](std::move(copy));
        }
      }
      answered();
    };
    if (q.conn) {
      sh.exec_script_on(q.conn, add_history_stream_batch_script(), std::move(keys), std::move(argv),
                        std::move(on_batch));
    } else {
      sh.exec_script(add_history_stream_batch_script(), std::move(keys), std::move(argv),
                     std::move(on_batch));
    }
    i = j;
  }
  if (corked) corked->uncork_on_io();
  bool more = false;
  {
    std::lock_guard lock(q.mu);
    q.sending = false;
    more = q.waiting == 0 && !q.items.empty() && !q.posted;
  }
  if (more) send_queued(q, shard_index);
}

void redis_broker::finish(const std::string& channel, const waiter_ptr& w, bool published,
                          std::function<void()> complete) {
  if (!w) return complete();
  {
    std::lock_guard lock(mu_);
    const bool lost = core_->shard_at(w->shard).pubsub().generation() != w->generation;
    if (published && !w->delivered && !lost && !stopped_.load()) {
      w->replied = true;
      w->deadline = std::chrono::steady_clock::now() + core_->io_timeout();
      w->complete = std::move(complete);
      return;
    }
    auto it = waiters_.find(channel);
    if (it != waiters_.end()) {
      auto& q = it->second;
      q.erase(std::remove(q.begin(), q.end(), w), q.end());
      if (q.empty()) waiters_.erase(it);
    }
  }
  complete();
}

void redis_broker::delivered(const std::string& channel, std::string_view pb) {
  std::function<void()> ready;
  {
    std::lock_guard lock(mu_);
    auto it = waiters_.find(channel);
    if (it == waiters_.end()) return;
    auto& q = it->second;
    for (auto i = q.begin(); i != q.end(); ++i) {
      waiter& w = **i;
      if (w.delivered || w.pb != pb) continue;
      w.delivered = true;
      if (w.replied) {
        ready = std::move(w.complete);
        q.erase(i);
        if (q.empty()) waiters_.erase(it);
      }
      break;
    }
  }
  if (ready) ready();
}

void redis_broker::on_pubsub_reset(size_t shard_index) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      auto& q = it->second;
      for (auto i = q.begin(); i != q.end();) {
        if ((*i)->shard == shard_index && (*i)->replied) {
          ready.push_back(std::move((*i)->complete));
          i = q.erase(i);
        } else {
          ++i;
        }
      }
      it = q.empty() ? waiters_.erase(it) : std::next(it);
    }
  }
  for (auto& f : ready) f();
}

void redis_broker::on_pubsub_restored(size_t, std::vector<std::string> pubsub_channels) {
  broker_event_handler* h = handler_.load();
  if (h == nullptr) return;
  std::vector<std::string> channels;
  channels.reserve(pubsub_channels.size());
  std::string channel;
  for (const auto& pc : pubsub_channels) {
    if (core_->channel_of(pc, channel)) channels.push_back(std::move(channel));
  }
  if (!channels.empty()) h->on_subscriptions_restored(std::move(channels));
}

void redis_broker::stream_tops(std::vector<std::string> channels,
                               callback<std::vector<stream_position>> done) {
  if (stopped_.load()) {
    if (done) done(errors::internal);
    return;
  }
  if (channels.empty()) {
    if (done) done(std::vector<stream_position>{});
    return;
  }
  // Replies and barriers all complete on the I/O thread; the counters are atomic because
  // the last exec() may be queued while an earlier reply is being handled.
  struct batch {
    std::vector<stream_position> tops;
    std::vector<char> shards;  // shards involved (their PUB/SUB gets a barrier)
    std::atomic<size_t> replies_left{0};
    std::atomic<size_t> barriers_left{0};
    std::atomic<bool> failed{false};
    callback<std::vector<stream_position>> done;
  };
  auto b = std::make_shared<batch>();
  b->tops.resize(channels.size());
  b->shards.assign(core_->shard_count(), 0);
  b->replies_left = channels.size();
  b->done = std::move(done);
  auto alive = alive_;
  auto finish = [alive](const std::shared_ptr<batch>& b) {
    if (!alive->load() || !b->done) return;
    if (b->failed.load()) return b->done(errors::internal);
    b->done(std::move(b->tops));
  };
  auto after_barrier = [b, finish](status st) {
    if (!st) b->failed = true;
    if (b->barriers_left.fetch_sub(1) == 1) finish(b);
  };
  auto on_reply = [this, alive, b, finish, after_barrier](size_t i, reply&& r) {
    if (!alive->load()) return;
    if (r.type == reply::kind::array && r.elements.size() == 2) {
      b->tops[i].offset = static_cast<uint64_t>(r.elements[0].as_int().value_or(0));
      b->tops[i].epoch = r.elements[1].str;  // nil (no stream) reads as ""
    } else {
      b->failed = true;
    }
    if (b->replies_left.fetch_sub(1) != 1) return;
    if (b->failed.load()) return finish(b);
    size_t n = 0;
    for (char used : b->shards) n += used ? 1 : 0;
    b->barriers_left = n;
    for (size_t si = 0; si < b->shards.size(); ++si) {
      if (b->shards[si]) core_->shard_at(si).pubsub().barrier(after_barrier);
    }
  };
  const char* meta = opts_.history_use_lists ? "list.meta" : "stream.meta";
  for (size_t i = 0; i < channels.size(); ++i) b->shards[core_->shard_for(channels[i])] = 1;
  for (size_t i = 0; i < channels.size(); ++i) {
    std::string key = core_->key(meta, channels[i]);
    core_->shard_of(channels[i])
        .exec(key, {"HMGET", key, "s", "e"},
              [on_reply, i](reply&& r) mutable { on_reply(i, std::move(r)); });
  }
}

void redis_broker::sweep() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      auto& q = it->second;
      for (auto i = q.begin(); i != q.end();) {
        if ((*i)->replied && (*i)->deadline <= now) {
          ready.push_back(std::move((*i)->complete));
          i = q.erase(i);
        } else {
          ++i;
        }
      }
      it = q.empty() ? waiters_.erase(it) : std::next(it);
    }
  }
  if (!ready.empty()) {
    log::debug("redis: {} publications completed without seeing their PUB/SUB message",
               ready.size());
  }
  for (auto& f : ready) f();
  auto alive = alive_;
  sweep_timer_->expires_after(sweep_period);
  sweep_timer_->async_wait([this, alive](const boost::system::error_code& ec) {
    if (!ec && alive->load()) sweep();
  });
}

void redis_broker::on_message(size_t, std::string_view pubsub_channel, std::string_view payload) {
  broker_event_handler* h = handler_.load();
  if (h == nullptr) return;
  std::string channel;
  if (!core_->channel_of(pubsub_channel, channel)) return;
  if (payload.starts_with("__j__") || payload.starts_with("__l__")) {
    client_info info;
    if (!pb_wire::decode_client_info(payload.substr(5), info)) {
      log::warn("redis: malformed join/leave message on {}", pubsub_channel);
      return;
    }
    if (payload[2] == 'j') {
      h->on_join(channel, info);
    } else {
      h->on_leave(channel, info);
    }
    return;
  }
  auto d = std::make_shared<delivered_publication>();
  d->channel = channel;
  uint64_t offset = 0;
  std::string_view epoch;
  std::string_view pbv;
  std::string_view prev;
  bool ok = true;
  bool delta_frame = false;
  if (payload.starts_with("__p1:")) {
    ok = parse_p1(payload, offset, epoch, pbv);
  } else if (payload.starts_with("__d1:")) {
    ok = parse_d1(payload, offset, epoch, prev, pbv);
    delta_frame = true;
  } else {
    pbv = payload;
  }
  if (!ok || !pb_wire::decode_publication(pbv, d->pub)) {
    log::warn("redis: malformed publication on {} ({} bytes)", pubsub_channel, payload.size());
    return;
  }
  if (d->pub.offset == 0) d->pub.offset = offset;
  d->epoch = std::string(epoch);
  d->use_delta = delta_frame || (offset == 0 && d->pub.delta);
  if (delta_frame && !prev.empty()) {
    auto data = std::make_shared<std::string>();
    if (pb_wire::decode_publication_data(prev, *data)) d->prev_data = std::move(data);
  }
  h->on_publication(std::move(d));
  delivered(channel, pbv);
}

void redis_broker::publish_event(std::string_view channel, std::string_view prefix,
                                 const client_info& info, status_callback done) {
  if (stopped_.load()) {
    if (done) done(errors::internal);
    return;
  }
  std::string pubsub_ch = core_->client_channel(channel);
  std::string payload(prefix);
  pb_wire::encode_client_info(payload, info);
  auto alive = alive_;
  queued_command c;
  c.key = pubsub_ch;
  c.argv = {"PUBLISH", pubsub_ch, std::move(payload)};
  c.cb = [alive, done = std::move(done)](reply&& r) {
    if (!alive->load() || !done) return;
    if (r.is_error()) return done(errors::internal);
    done(ok_v);
  };
  const size_t si = core_->shard_for(channel);
  enqueue(queue_for(si), si, std::move(c));
}

void redis_broker::publish_join(std::string_view channel, const client_info& info,
                                status_callback done) {
  publish_event(channel, "__j__", info, std::move(done));
}

void redis_broker::publish_leave(std::string_view channel, const client_info& info,
                                 status_callback done) {
  publish_event(channel, "__l__", info, std::move(done));
}

void redis_broker::history(std::string_view channel, const history_query& q,
                           callback<history_page> done) {
  if (stopped_.load()) {
    if (done) done(errors::internal);
    return;
  }
  if (opts_.history_use_lists) return read_list_history(channel, q, std::move(done));
  bool include = q.limit != 0;
  std::string from;
  if (q.reverse) {
    if (q.since) {
      if (q.since->offset <= 1) include = false;  // nothing before offset 1
      from = std::to_string(q.since->offset - (q.since->offset > 0 ? 1 : 0));
    } else {
      from = "+";
    }
  } else {
    from = q.since ? std::to_string(q.since->offset + 1) : "-";
  }
  const int64_t limit = q.limit > 0 ? q.limit : 0;
  auto alive = alive_;
  std::optional<stream_position> since = q.since;
  core_->shard_of(channel).exec_script(
      read_stream_script(), {core_->key("stream", channel), core_->key("stream.meta", channel)},
      {include ? "1" : "0", from, std::to_string(limit), q.reverse ? "1" : "0",
       std::to_string(std::max<int64_t>(0, q.meta_ttl_seconds)), random_epoch()},
      [alive, since, ch = std::string(channel), done = std::move(done)](reply&& r) {
        if (!alive->load() || !done) return;
        if (r.type != reply::kind::array || r.elements.size() < 2 || !r.elements[0].as_int()) {
          log::warn("redis: history of {} failed: {}", ch, r.str.empty() ? "bad reply" : r.str);
          return done(errors::internal);
        }
        history_page page;
        page.top.offset = static_cast<uint64_t>(*r.elements[0].as_int());
        page.top.epoch = r.elements[1].str;
        if (since && !since->epoch.empty() && since->epoch != page.top.epoch) {
          return done(errors::unrecoverable_position);
        }
        if (r.elements.size() > 2) {
          page.publications.reserve(r.elements[2].elements.size());
          for (const auto& e : r.elements[2].elements) {
            publication p;
            if (!parse_entry(e, p)) {
              log::warn("redis: malformed history entry in {}", ch);
              continue;
            }
            page.publications.push_back(std::move(p));
          }
        }
        done(std::move(page));
      });
}

void redis_broker::read_list_history(std::string_view channel, const history_query& q,
                                     callback<history_page> done) {
  auto alive = alive_;
  core_->shard_of(channel).exec_script(
      read_list_script(), {core_->key("list", channel), core_->key("list.meta", channel)},
      {q.limit != 0 ? "1" : "0", "0", std::to_string(std::max<int64_t>(0, q.meta_ttl_seconds)),
       random_epoch()},
      [alive, q, ch = std::string(channel), done = std::move(done)](reply&& r) {
        if (!alive->load() || !done) return;
        if (r.type != reply::kind::array || r.elements.size() < 2 || !r.elements[0].as_int()) {
          return done(errors::internal);
        }
        history_page page;
        page.top.offset = static_cast<uint64_t>(*r.elements[0].as_int());
        page.top.epoch = r.elements[1].str;
        if (q.since && !q.since->epoch.empty() && q.since->epoch != page.top.epoch) {
          return done(errors::unrecoverable_position);
        }
        std::vector<publication> all;  // newest first, as stored
        if (r.elements.size() > 2) {
          for (const auto& v : r.elements[2].elements) {
            uint64_t offset = 0;
            std::string_view epoch, pbv;
            publication p;
            if (!v.str.starts_with("__p1:") || !parse_p1(v.str, offset, epoch, pbv) ||
                !pb_wire::decode_publication(pbv, p)) {
              continue;
            }
            p.offset = offset;
            all.push_back(std::move(p));
          }
        }
        const size_t max = q.limit < 0 ? all.size() : static_cast<size_t>(q.limit);
        if (!q.reverse) {
          std::reverse(all.begin(), all.end());
          for (auto& p : all) {
            if (page.publications.size() >= max) break;
            if (q.since && p.offset <= q.since->offset) continue;
            page.publications.push_back(std::move(p));
          }
        } else {
          for (auto& p : all) {
            if (page.publications.size() >= max) break;
            if (q.since && p.offset >= q.since->offset) continue;
            page.publications.push_back(std::move(p));
          }
        }
        done(std::move(page));
      });
}

void redis_broker::remove_history(std::string_view channel, status_callback done) {
  if (stopped_.load()) {
    if (done) done(errors::internal);
    return;
  }
  const std::string key = core_->key(opts_.history_use_lists ? "list" : "stream", channel);
  auto alive = alive_;
  core_->shard_of(channel).exec(key, {"DEL", key}, [alive, done = std::move(done)](reply&& r) {
    if (!alive->load() || !done) return;
    if (r.is_error()) return done(errors::internal);
    done(ok_v);
  });
}

}  // namespace gyre::redis
