// nats_link: see the header for the contract. Implementation notes:
// - cnats calls back with raw closures: the connection callbacks get the impl (kept
//   alive until cnats' closed callback, the last one, has run), each subscription gets
//   its sub_ctx (kept alive by a self reference until cnats' completion callback).
// - A call_gate in front of every user callback gives stop() its "nothing afterwards".
// - The subscription tables are touched by the writer thread only (and by stop() after
//   the writer has been joined).
#include "broker/nats/nats_link.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/nats/nats_subject.hpp"
#include "core/log.hpp"
#include "core/redact.hpp"

namespace gyre {
namespace {

std::atomic<int64_t> g_live_contexts{0};

// Lets callbacks in while open; close() waits for those inside and shuts the rest out.
class call_gate {
 public:
  bool enter() {
    active_.fetch_add(1);
    if (closed_.load()) {
      leave();
      return false;
    }
    return true;
  }
  void leave() {
    if (active_.fetch_sub(1) == 1 && closed_.load()) {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    }
  }
  void close() {
    closed_.store(true);
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return active_.load() == 0; });
  }

 private:
  std::atomic<int> active_{0};
  std::atomic<bool> closed_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

struct counters {
  std::atomic<uint64_t> published{0};
  std::atomic<uint64_t> publish_failures{0};
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> slow_consumer_events{0};
  std::atomic<uint64_t> disconnects{0};
  std::atomic<uint64_t> reconnects{0};
  std::atomic<size_t> subscriptions{0};
};

// One publish waiting for its local deliveries; completes when `remaining` reaches 0.
struct publish_waiter {
  publish_waiter(int n, status_callback cb) : remaining(n), done(std::move(cb)) {}
  void fire() {
    if (remaining.fetch_sub(1) == 1 && done) done(ok_v);
  }
  std::atomic<int> remaining;
  status_callback done;
};

struct sub_ctx {
  sub_ctx(std::shared_ptr<call_gate> g, std::shared_ptr<counters> c, std::string k, std::string s,
          nats_link::message_fn f)
      : gate(std::move(g)),
        stats(std::move(c)),
        key(std::move(k)),
        subject(std::move(s)),
        wildcard(nats_subject::is_wildcard_channel(subject)),
        fn(std::move(f)) {
    g_live_contexts.fetch_add(1);
  }
  ~sub_ctx() { g_live_contexts.fetch_sub(1); }

  // Called after each message handed over (or skipped); returns the waiters now due.
  std::vector<std::shared_ptr<publish_waiter>> advance() {
    std::vector<std::shared_ptr<publish_waiter>> due;
    std::lock_guard lock(mu);
    ++handled;
    while (!parked.empty() && static_cast<int32_t>(handled - parked.front().first) >= 0) {
      due.push_back(std::move(parked.front().second));
      parked.pop_front();
    }
    return due;
  }

  // Parks `w` until `target` messages were handled; fires at once when already done.
  void park(uint32_t target, std::shared_ptr<publish_waiter> w) {
    {
      std::lock_guard lock(mu);
      if (!closed && static_cast<int32_t>(handled - target) < 0) {
        parked.emplace_back(target, std::move(w));
        return;
      }
    }
    w->fire();
  }

  // No more deliveries will be waited for: returns every parked waiter.
  std::vector<std::shared_ptr<publish_waiter>> close_waiters() {
    std::lock_guard lock(mu);
    closed = true;
    std::vector<std::shared_ptr<publish_waiter>> out;
    for (auto& p : parked) out.push_back(std::move(p.second));
    parked.clear();
    return out;
  }

  const std::shared_ptr<call_gate> gate;
  const std::shared_ptr<counters> stats;
  const std::string key;
  const std::string subject;
  const bool wildcard;
  const nats_link::message_fn fn;

  natsSubscription* sub = nullptr;  // writer thread only
  std::shared_ptr<sub_ctx> self;    // released by cnats' completion callback

  std::mutex mu;
  uint32_t handled = 0;  // wraps like cnats' int counter
  bool closed = false;
  std::deque<std::pair<uint32_t, std::shared_ptr<publish_waiter>>> parked;
};

void on_sub_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* ctx = static_cast<sub_ctx*>(closure);
  const bool open = ctx->gate->enter();
  if (open) {
    ctx->stats->received.fetch_add(1, std::memory_order_relaxed);
    const char* data = natsMsg_GetData(msg);
    const int len = natsMsg_GetDataLength(msg);
    try {
      ctx->fn(natsMsg_GetSubject(msg),
              std::string_view(data ? data : "", static_cast<size_t>(std::max(len, 0))));
    } catch (const std::exception& e) {
      log::error("nats: message handler of {} threw: {}", ctx->subject, e.what());
    } catch (...) {
      log::error("nats: message handler of {} threw", ctx->subject);
    }
  }
  natsMsg_Destroy(msg);
  auto due = ctx->advance();
  if (open) {
    for (auto& w : due) w->fire();
    ctx->gate->leave();
  }
}

void on_sub_complete(void* closure) {
  auto* ctx = static_cast<sub_ctx*>(closure);
  auto keep = std::move(ctx->self);  // may free ctx when this returns
}

std::string status_text(natsStatus s) {
  // The thread's last error usually says more ("SSL handshake error: ..."); it starts
  // with the cnats source location, "(conn.c:733): ", which is dropped.
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  std::string text = natsStatus_GetText(s);
  if (detail == nullptr || last != s) return text;
  std::string_view d(detail);
  if (d.starts_with("(")) {
    if (const auto end = d.find("): "); end != std::string_view::npos) d.remove_prefix(end + 3);
  }
  if (!d.empty() && d != text) {
    text += " (";
    text += d;
    text += ")";
  }
  return text;
}

void pool_size_at_least(int n) {
  static std::mutex mu;
  static int current = 0;
  std::lock_guard lock(mu);
  if (n <= current) return;
  if (nats_SetMessageDeliveryPoolSize(n) == NATS_OK) current = n;
}

void fail(const status_callback& done, protocol_error err) {
  if (done) done(err);
}

}  // namespace

struct nats_link::impl {
  struct op {
    enum class type { publish, subscribe, unsubscribe };
    type t = type::publish;
    std::string key;
    std::string subject;
    std::string payload;
    message_fn fn;
    status_callback done;
  };

  // An operation waiting for the batch's flush.
  struct confirm {
    bool is_publish = true;
    std::string subject;           // publish
    std::shared_ptr<sub_ctx> ctx;  // subscribe
    status_callback done;
  };

  explicit impl(nats_link_options o)
      : opts(std::move(o)), display_url(redact_url_passwords(opts.url)) {}

  // ---- connection callbacks (cnats' callback thread)

  static void on_disconnected(natsConnection*, void* closure) {
    auto* self = static_cast<impl*>(closure);
    self->stats->disconnects.fetch_add(1);
    if (!self->stopped.load())
      log::warn("nats: disconnected from {}; reconnecting", self->display_url);
    self->set_health(false);
  }

  static void on_reconnected(natsConnection* nc, void* closure) {
    auto* self = static_cast<impl*>(closure);
    self->stats->reconnects.fetch_add(1);
    char url[256] = {0};
    natsConnection_GetConnectedUrl(nc, url, sizeof(url));
    log::info("nats: reconnected to {}; subscriptions restored", redact_url_passwords(url));
    self->set_health(true);
  }

  static void on_closed(natsConnection*, void* closure) {
    auto* self = static_cast<impl*>(closure);
    std::lock_guard lock(self->closed_mu);
    self->closed = true;
    self->closed_cv.notify_all();
  }

  static void on_error(natsConnection*, natsSubscription* sub, natsStatus err, void* closure) {
    auto* self = static_cast<impl*>(closure);
    if (err == NATS_SLOW_CONSUMER) {
      const auto n = self->stats->slow_consumer_events.fetch_add(1) + 1;
      // Logged at 1, 2, 4, 8, ...: visible, never a flood.
      if ((n & (n - 1)) == 0) {
        const char* subj = sub ? natsSubscription_GetSubject(sub) : nullptr;
        log::warn("nats: slow consumer on {}, messages dropped ({} events so far)",
                  subj ? subj : "?", n);
      }
      return;
    }
    log::warn("nats: asynchronous error: {}", natsStatus_GetText(err));
  }

  void set_health(bool h) {
    if (healthy.exchange(h) == h) return;
    if (!gate->enter()) return;
    if (state_cb) state_cb(h);
    gate->leave();
  }

  // ---- queue

  void enqueue(op o) {
    if (stopped.load()) return fail(o.done, errors::internal);
    const bool bounded = o.t != op::type::unsubscribe;
    const size_t bytes = o.payload.size() + o.subject.size();
    {
      std::unique_lock lock(q_mu);
      if (q_stop) {
        lock.unlock();
        return fail(o.done, errors::internal);
      }
      if (bytes > opts.max_queued_bytes) {
        lock.unlock();
        stats->publish_failures.fetch_add(1);
        return fail(o.done, errors::bad_request);  // could never be queued
      }
      if (bounded &&
          (queue.size() >= opts.max_queued_ops || queued_bytes + bytes > opts.max_queued_bytes)) {
        lock.unlock();
        if (o.t == op::type::publish) stats->publish_failures.fetch_add(1);
        return fail(o.done, errors::too_many_requests);
      }
      queued_bytes += bytes;
      queue.push_back(std::move(o));
    }
    q_cv.notify_one();
  }

  void run_writer() {
    std::vector<op> batch;
    for (;;) {
      {
        std::unique_lock lock(q_mu);
        q_cv.wait(lock, [&] { return q_stop || !queue.empty(); });
        if (q_stop) return;  // stop() fails what is left
        while (!queue.empty() && batch.size() < opts.max_batch) {
          queued_bytes -= queue.front().payload.size() + queue.front().subject.size();
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      process(batch);
      batch.clear();
    }
  }

  void process(std::vector<op>& batch) {
    const bool connected = natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
    std::vector<confirm> confirms;
    bool wrote = false;
    for (auto& o : batch) {
      switch (o.t) {
        case op::type::publish:
          wrote = do_publish(o, connected, confirms) || wrote;
          break;
        case op::type::subscribe:
          do_subscribe(o, connected, confirms);
          break;
        case op::type::unsubscribe:
          remove_sub(o.key, nullptr);
          break;
      }
    }
    // Flushed even when nobody waits: the PING makes cnats write the batch now instead of
    // after its flusher's ~1 ms coalescing pause (control messages carry no callback).
    if (confirms.empty() && !wrote) return;
    const natsStatus fs =
        natsConnection_FlushTimeout(nc, static_cast<int64_t>(opts.write_timeout.count()));
    if (fs != NATS_OK) {
      log::warn("nats: flush to {} failed: {}", display_url, natsStatus_GetText(fs));
    }
    for (auto& c : confirms) {
      if (c.is_publish) {
        if (fs != NATS_OK) {
          stats->publish_failures.fetch_add(1);
          fail(c.done, errors::internal);
        } else {
          wait_local_delivery(c.subject, std::move(c.done));
        }
      } else {
        if (fs != NATS_OK) {
          remove_sub(c.ctx->key, c.ctx.get());
          fail(c.done, errors::internal);
        } else if (c.done) {
          c.done(ok_v);
        }
      }
    }
  }

  // True when the message was written to the connection.
  bool do_publish(op& o, bool connected, std::vector<confirm>& confirms) {
    if (!connected) {
      stats->publish_failures.fetch_add(1);
      fail(o.done, errors::internal);
      return false;
    }
    const natsStatus s = natsConnection_Publish(nc, o.subject.c_str(), o.payload.data(),
                                                static_cast<int>(o.payload.size()));
    if (s != NATS_OK) {
      stats->publish_failures.fetch_add(1);
      log::warn("nats: publish to {} failed: {}", o.subject, natsStatus_GetText(s));
      fail(o.done, s == NATS_MAX_PAYLOAD ? errors::bad_request : errors::internal);
      return false;
    }
    stats->published.fetch_add(1, std::memory_order_relaxed);
    if (o.done) confirms.push_back(confirm{true, std::move(o.subject), nullptr, std::move(o.done)});
    return true;
  }

  void do_subscribe(op& o, bool connected, std::vector<confirm>& confirms) {
    if (auto it = subs.find(o.key); it != subs.end()) {
      confirms.push_back(confirm{false, {}, it->second, std::move(o.done)});
      return;
    }
    if (!connected) return fail(o.done, errors::internal);
    auto ctx = std::make_shared<sub_ctx>(gate, stats, o.key, o.subject, std::move(o.fn));
    ctx->self = ctx;
    natsStatus s =
        natsConnection_Subscribe(&ctx->sub, nc, ctx->subject.c_str(), on_sub_message, ctx.get());
    if (s != NATS_OK) {
      ctx->self.reset();
      log::warn("nats: subscribe to {} failed: {}", ctx->subject, natsStatus_GetText(s));
      return fail(o.done, errors::internal);
    }
    natsSubscription_SetPendingLimits(ctx->sub, opts.max_pending_messages, opts.max_pending_bytes);
    if (natsSubscription_SetOnCompleteCB(ctx->sub, on_sub_complete, ctx.get()) != NATS_OK) {
      // Closed already: cnats will not tell us when it is done with ctx, so ctx stays
      // alive for good (a small, safe leak on a path that needs a concurrent close).
      log::warn("nats: subscription to {} closed while being set up", ctx->subject);
    }
    subs.emplace(ctx->key, ctx);
    if (ctx->wildcard) {
      wildcard_subs.push_back(ctx.get());
    } else {
      exact_subs.emplace(ctx->subject, ctx.get());
    }
    stats->subscriptions.store(subs.size());
    confirms.push_back(confirm{false, {}, std::move(ctx), std::move(o.done)});
  }

  // Removes the subscription under `key` (only if it is `expected`, when given).
  void remove_sub(const std::string& key, const sub_ctx* expected) {
    auto it = subs.find(key);
    if (it == subs.end() || (expected != nullptr && it->second.get() != expected)) return;
    auto ctx = std::move(it->second);
    subs.erase(it);
    stats->subscriptions.store(subs.size());
    if (ctx->wildcard) {
      std::erase(wildcard_subs, ctx.get());
    } else {
      auto [b, e] = exact_subs.equal_range(ctx->subject);
      for (auto i = b; i != e; ++i) {
        if (i->second == ctx.get()) {
          exact_subs.erase(i);
          break;
        }
      }
    }
    natsSubscription_Unsubscribe(ctx->sub);
    natsSubscription_Destroy(ctx->sub);
    ctx->sub = nullptr;
    for (auto& w : ctx->close_waiters()) w->fire();
  }

  // Completes `done` once every local subscription matching `subject` has handled what
  // it had received up to the last flush (which includes this publication).
  void wait_local_delivery(const std::string& subject, status_callback done) {
    std::vector<sub_ctx*> targets;
    auto [b, e] = exact_subs.equal_range(subject);
    for (auto i = b; i != e; ++i) targets.push_back(i->second);
    for (auto* w : wildcard_subs) {
      if (nats_subject::matches(w->subject, subject)) targets.push_back(w);
    }
    if (targets.empty()) {
      if (done) done(ok_v);
      return;
    }
    // One extra count held here, so the waiter cannot fire before all are parked.
    auto waiter =
        std::make_shared<publish_waiter>(static_cast<int>(targets.size()) + 1, std::move(done));
    for (auto* ctx : targets) {
      int pending = 0;
      int64_t delivered = 0;
      if (natsSubscription_GetStats(ctx->sub, &pending, nullptr, nullptr, nullptr, &delivered,
                                    nullptr) != NATS_OK) {
        waiter->fire();  // closed: nothing more will be delivered on it
        continue;
      }
      ctx->park(static_cast<uint32_t>(delivered) + static_cast<uint32_t>(pending), waiter);
    }
    waiter->fire();
  }

  // Once; a concurrent second caller waits for the first to finish.
  void stop() {
    std::call_once(stop_once, [this] { do_stop(); });
  }

  void do_stop() {
    stopped.store(true);
    healthy.store(false);
    {
      std::lock_guard lock(q_mu);
      q_stop = true;
    }
    q_cv.notify_all();
    if (writer.joinable()) writer.join();
    std::deque<op> left;
    {
      std::lock_guard lock(q_mu);
      left.swap(queue);
      queued_bytes = 0;
    }
    gate->close();
    // Work in flight is cancelled: queued operations fail; publications already written
    // (and waiting for their local delivery) are reported done.
    for (auto& o : left) fail(o.done, errors::internal);
    for (auto& [key, ctx] : subs) {
      for (auto& w : ctx->close_waiters()) w->fire();
    }
    natsConnection_Close(nc);
    {
      std::unique_lock lock(closed_mu);
      if (!closed_cv.wait_for(lock, std::chrono::seconds(5), [&] { return closed; })) {
        log::error("nats: connection to {} did not report closed; leaking it", display_url);
        leaked = true;
      }
    }
    for (auto& [key, ctx] : subs) {
      natsSubscription_Destroy(ctx->sub);
      ctx->sub = nullptr;
    }
    subs.clear();
    exact_subs.clear();
    wildcard_subs.clear();
    stats->subscriptions.store(0);
    if (!leaked) {
      natsConnection_Destroy(nc);
      nc = nullptr;
    }
  }

  const nats_link_options opts;
  const std::string display_url;  // opts.url without passwords, for logs and errors
  natsConnection* nc = nullptr;
  std::shared_ptr<call_gate> gate = std::make_shared<call_gate>();
  std::shared_ptr<counters> stats = std::make_shared<counters>();
  std::atomic<bool> healthy{false};
  std::atomic<bool> stopped{false};
  std::once_flag stop_once;
  state_fn state_cb;
  bool leaked = false;

  std::mutex closed_mu;
  std::condition_variable closed_cv;
  bool closed = false;

  std::mutex q_mu;
  std::condition_variable q_cv;
  std::deque<op> queue;
  size_t queued_bytes = 0;
  bool q_stop = false;
  std::thread writer;

  // Writer thread only.
  std::unordered_map<std::string, std::shared_ptr<sub_ctx>> subs;
  std::unordered_multimap<std::string, sub_ctx*> exact_subs;
  std::vector<sub_ctx*> wildcard_subs;
};

std::unique_ptr<nats_link> nats_link::connect(const nats_link_options& o, std::string& error) {
  auto p = std::make_unique<impl>(o);
  natsOptions* no = nullptr;
  natsStatus s = natsOptions_Create(&no);
  if (s != NATS_OK) {
    error = "cannot initialise the NATS client library: " + status_text(s);
    return nullptr;
  }
  pool_size_at_least(std::max(o.delivery_threads, 1));
  auto check = [&](natsStatus st, std::string_view what) {
    if (s == NATS_OK && st != NATS_OK) {
      s = st;
      error = std::string(what) + ": " + status_text(st);
    }
  };
  check(natsOptions_SetURL(no, o.url.c_str()), "invalid NATS URL " + redact_url_passwords(o.url));
  check(natsOptions_SetName(no, o.name.c_str()), "connection name");
  check(natsOptions_SetTimeout(no, o.dial_timeout.count()), "dial timeout");
  check(natsOptions_SetWriteDeadline(no, o.write_timeout.count()), "write timeout");
  check(natsOptions_SetAllowReconnect(no, true), "reconnect");
  check(natsOptions_SetMaxReconnect(no, -1), "reconnect");
  check(natsOptions_SetReconnectWait(no, o.reconnect_wait.count()), "reconnect wait");
  check(natsOptions_UseGlobalMessageDelivery(no, true), "message delivery");
  check(natsOptions_SetDisconnectedCB(no, impl::on_disconnected, p.get()), "callbacks");
  check(natsOptions_SetReconnectedCB(no, impl::on_reconnected, p.get()), "callbacks");
  check(natsOptions_SetClosedCB(no, impl::on_closed, p.get()), "callbacks");
  check(natsOptions_SetErrorHandler(no, impl::on_error, p.get()), "callbacks");
  if (o.tls) {
    check(natsOptions_SetSecure(no, true), "tls");
    if (!o.ca_pem.empty()) {
      check(natsOptions_SetCATrustedCertificates(no, o.ca_pem.c_str()), "tls.server_ca_pem");
    }
    if (!o.cert_pem.empty() || !o.key_pem.empty()) {
      check(natsOptions_SetCertificatesChain(no, o.cert_pem.c_str(), o.key_pem.c_str()),
            "tls.cert_pem/tls.key_pem");
    }
    if (!o.server_name.empty()) {
      check(natsOptions_SetExpectedHostname(no, o.server_name.c_str()), "tls.server_name");
    }
    if (o.insecure_skip_verify) check(natsOptions_SkipServerVerification(no, true), "tls");
  }
  if (s == NATS_OK) {
    s = natsConnection_Connect(&p->nc, no);
    if (s != NATS_OK)
      error = "cannot connect to NATS at " + redact_url_passwords(o.url) + ": " + status_text(s);
  }
  natsOptions_Destroy(no);
  if (s != NATS_OK) return nullptr;  // no connection: cnats holds no pointer to p
  p->healthy.store(true);
  auto* raw = p.get();
  p->writer = std::thread([raw] { raw->run_writer(); });
  return std::unique_ptr<nats_link>(new nats_link(std::move(p)));
}

nats_link::nats_link(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

nats_link::~nats_link() {
  stop();
  // cnats may still call into impl: keep it (see impl::stop).
  if (impl_->leaked) (void)impl_.release();
}

void nats_link::set_state_callback(state_fn fn) {
  impl_->state_cb = std::move(fn);
}

void nats_link::publish(std::string subject, std::string payload, status_callback done) {
  impl::op o;
  o.t = impl::op::type::publish;
  o.subject = std::move(subject);
  o.payload = std::move(payload);
  o.done = std::move(done);
  impl_->enqueue(std::move(o));
}

void nats_link::subscribe(std::string key, std::string subject, message_fn on_message,
                          status_callback done) {
  impl::op o;
  o.t = impl::op::type::subscribe;
  o.key = std::move(key);
  o.subject = std::move(subject);
  o.fn = std::move(on_message);
  o.done = std::move(done);
  impl_->enqueue(std::move(o));
}

void nats_link::unsubscribe(std::string key) {
  impl::op o;
  o.t = impl::op::type::unsubscribe;
  o.key = std::move(key);
  impl_->enqueue(std::move(o));
}

bool nats_link::healthy() const {
  return impl_->healthy.load();
}

const std::string& nats_link::url() const {
  return impl_->display_url;
}

nats_link::stats nats_link::snapshot() const {
  const auto& c = *impl_->stats;
  stats s;
  s.published = c.published.load();
  s.publish_failures = c.publish_failures.load();
  s.received = c.received.load();
  s.slow_consumer_events = c.slow_consumer_events.load();
  s.disconnects = c.disconnects.load();
  s.reconnects = c.reconnects.load();
  s.subscriptions = c.subscriptions.load();
  return s;
}

void nats_link::stop() {
  impl_->stop();
}

int64_t nats_link::live_subscription_contexts() {
  return g_live_contexts.load();
}

}  // namespace gyre
