// redis_connection: see redis_connection.hpp.
#include "broker/redis/redis_connection.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>

#include "core/log.hpp"
#include "core/random.hpp"

namespace gyre::redis {

using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {
constexpr auto tick_period = std::chrono::milliseconds(100);
constexpr size_t read_chunk = 64 * 1024;
}  // namespace

std::shared_ptr<connection> connection::create(asio::io_context& io, endpoint target,
                                               connection_options opts) {
  return std::shared_ptr<connection>(new connection(io, std::move(target), std::move(opts)));
}

connection::connection(asio::io_context& io, endpoint target, connection_options opts)
    : io_(io),
      target_(std::move(target)),
      current_(target_),
      opts_(std::move(opts)),
      connect_timer_(io),
      reconnect_timer_(io),
      tick_timer_(io) {}

connection::~connection() = default;

void connection::start() {
  asio::post(io_, [self = shared_from_this()] {
    if (self->state_ != state::idle) return;
    self->tick();
    self->connect_now();
  });
}

void connection::retry_now() {
  asio::post(io_, [self = shared_from_this()] {
    // attempt_ > 0: a failure scheduled a reconnect that has not succeeded yet.
    if (self->state_ != state::idle || self->attempt_ == 0) return;
    self->attempt_ = 0;
    self->connect_now();  // bumps gen_: the pending backoff timer ignores itself
  });
}

void connection::fail_queued(std::string why) {
  asio::post(io_, [self = shared_from_this(), why = std::move(why)] {
    if (self->state_ == state::ready || self->state_ == state::closed) return;
    self->fail_queue(why, true);
  });
}

void connection::stop_on_io() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  const bool was_up = up_.exchange(false);
  state_ = state::closed;
  ++gen_;
  close_streams();
  connect_timer_.cancel();
  reconnect_timer_.cancel();
  tick_timer_.cancel();
  auto inflight = std::move(inflight_);
  inflight_.clear();
  handshake_.clear();
  for (auto& w : inflight) {
    if (w.cb) w.cb(reply::make_failure("connection stopped"));
  }
  fail_queue("connection stopped", true);
  if (was_up && state_handler_) state_handler_(false, "stopped");
}

void connection::send(std::string encoded, reply_callback cb) {
  pending p{std::move(encoded), std::move(cb), clock_type::now() + opts_.io_timeout, !opts_.pubsub};
  enqueue(std::move(p), std::nullopt);
}

void connection::send2(std::string first, reply_callback cb1, std::string second,
                       reply_callback cb2) {
  const auto deadline = clock_type::now() + opts_.io_timeout;
  enqueue(pending{std::move(first), std::move(cb1), deadline, !opts_.pubsub},
          pending{std::move(second), std::move(cb2), deadline, !opts_.pubsub});
}

void connection::enqueue(pending p, std::optional<pending> second) {
  std::unique_lock lock(mu_);
  const char* refuse = nullptr;
  if (stopped_) {
    refuse = "connection stopped";
  } else if (queue_.size() + (second ? 2 : 1) > opts_.max_queued) {
    refuse = "too many queued commands";
  }
  if (refuse != nullptr) {
    lock.unlock();
    if (p.cb) p.cb(reply::make_failure(refuse));
    if (second && second->cb) second->cb(reply::make_failure(refuse));
    return;
  }
  queue_.push_back(std::move(p));
  if (second) queue_.push_back(std::move(*second));
  // Corked (see uncork_on_io): the I/O thread itself writes it when it uncorks.
  if (corked_ && io_.get_executor().running_in_this_thread()) return;
  if (!flush_posted_) {
    flush_posted_ = true;
    lock.unlock();
    asio::post(io_, [self = shared_from_this()] {
      {
        std::lock_guard l(self->mu_);
        self->flush_posted_ = false;
      }
      self->start_write();
    });
  }
}

void connection::cork_on_io() {
  corked_ = true;
}

void connection::uncork_on_io() {
  corked_ = false;
  start_write();
}

void connection::reset(std::string why) {
  asio::post(io_, [self = shared_from_this(), why = std::move(why)] {
    if (self->state_ == state::ready || self->state_ == state::handshaking) self->fail(why);
  });
}

void connection::reconnect_now(std::string why) {
  asio::post(io_, [self = shared_from_this(), why = std::move(why)] {
    if (self->state_ == state::closed) return;
    if (self->state_ == state::idle) {
      if (self->attempt_ == 0) return;  // idle and no attempt made: not started
    } else {
      self->fail(why);  // leaves it idle with the next attempt scheduled
      if (self->state_ != state::idle) return;
    }
    self->reconnect_timer_.cancel();
    self->connect_now();
  });
}

void connection::close_streams() {
  error_code ec;
  if (tls_) {
    tls_->lowest_layer().close(ec);
    tls_.reset();
  }
  if (tcp_) {
    tcp_->close(ec);
    tcp_.reset();
  }
  if (unix_) {
    unix_->close(ec);
    unix_.reset();
  }
  if (dns_) {
    dns_->cancel();
    dns_.reset();
  }
}

void connection::connect_now() {
  if (state_ == state::closed) return;
  state_ = state::connecting;
  const uint64_t gen = ++gen_;
  if (!resolver_) return connect_to(target_);
  resolver_([self = shared_from_this(), gen](std::optional<endpoint> ep, std::string error) {
    if (gen != self->gen_ || self->state_ != state::connecting) return;
    if (!ep) return self->fail("cannot find the server: " + error);
    self->connect_to(*ep);
  });
}

void connection::connect_to(const endpoint& ep) {
  current_ = ep;
  const uint64_t gen = gen_;
  auto self = shared_from_this();
  connect_timer_.expires_after(opts_.connect_timeout);
  connect_timer_.async_wait([self, gen](const error_code& ec) {
    if (ec || gen != self->gen_ || self->state_ != state::connecting) return;
    self->fail("connect timeout");
  });
  if (ep.is_unix()) {
    unix_ = std::make_shared<asio::local::stream_protocol::socket>(io_);
    auto sock = unix_;
    sock->async_connect(asio::local::stream_protocol::endpoint(ep.path),
                        [self, gen, sock](const error_code& ec) {
                          if (gen != self->gen_) return;
                          if (ec) return self->fail("connect: " + ec.message());
                          self->on_transport_ready(gen);
                        });
    return;
  }
  dns_ = std::make_shared<tcp::resolver>(io_);
  auto dns = dns_;
  dns->async_resolve(
      ep.host, std::to_string(ep.port),
      [self, gen, dns](const error_code& ec, tcp::resolver::results_type results) {
        if (gen != self->gen_) return;
        if (ec) return self->fail("resolve: " + ec.message());
        auto on_connected = [self, gen](const error_code& ec2, const tcp::endpoint&) {
          if (gen != self->gen_) return;
          if (ec2) return self->fail("connect: " + ec2.message());
          error_code ignored;
          if (self->tls_) {
            self->tls_->lowest_layer().set_option(tcp::no_delay(true), ignored);
            auto tls = self->tls_;
            if (!self->opts_.tls_server_name.empty() || !self->current_.host.empty()) {
              const std::string& sni = self->opts_.tls_server_name.empty()
                                           ? self->current_.host
                                           : self->opts_.tls_server_name;
              SSL_set_tlsext_host_name(tls->native_handle(), sni.c_str());
              if (self->opts_.tls_verify_host) {
                tls->set_verify_callback(asio::ssl::host_name_verification(sni));
              }
            }
            tls->async_handshake(asio::ssl::stream_base::client,
                                 [self, gen, tls](const error_code& ec3) {
                                   if (gen != self->gen_) return;
                                   if (ec3) return self->fail("TLS handshake: " + ec3.message());
                                   self->on_transport_ready(gen);
                                 });
            return;
          }
          self->tcp_->set_option(tcp::no_delay(true), ignored);
          self->on_transport_ready(gen);
        };
        if (self->opts_.tls) {
          self->tls_ =
              std::make_shared<asio::ssl::stream<tcp::socket>>(self->io_, *self->opts_.tls);
          auto tls = self->tls_;
          asio::async_connect(tls->next_layer(), results,
                              [on_connected, tls](const error_code& e, const tcp::endpoint& ep2) {
                                on_connected(e, ep2);
                              });
        } else {
          self->tcp_ = std::make_shared<tcp::socket>(self->io_);
          auto sock = self->tcp_;
          asio::async_connect(*sock, results,
                              [on_connected, sock](const error_code& e, const tcp::endpoint& ep2) {
                                on_connected(e, ep2);
                              });
        }
      });
}

void connection::on_transport_ready(uint64_t gen) {
  connect_timer_.cancel();
  state_ = state::handshaking;
  reader_.reset();
  rbuf_ = std::make_shared<std::vector<char>>(read_chunk);
  last_read_ = clock_type::now();
  ping_outstanding_ = false;
  start_read(gen);
  handshake();
}

void connection::handshake() {
  std::vector<std::vector<std::string>> cmds;
  if (!opts_.password.empty()) {
    if (opts_.user.empty()) {
      cmds.push_back({"AUTH", opts_.password});
    } else {
      cmds.push_back({"AUTH", opts_.user, opts_.password});
    }
  }
  if (opts_.db != 0) cmds.push_back({"SELECT", std::to_string(opts_.db)});
  if (!opts_.client_name.empty()) cmds.push_back({"CLIENT", "SETNAME", opts_.client_name});
  if (opts_.require_master) cmds.push_back({"ROLE"});
  for (const auto& c : opts_.setup) cmds.push_back(c);
  if (cmds.empty()) return on_ready();
  handshake_left_ = cmds.size();
  const auto deadline = clock_type::now() + opts_.io_timeout;
  const uint64_t gen = gen_;
  for (auto& c : cmds) {
    const bool is_role = c.size() == 1 && c[0] == "ROLE";
    std::string what =
        c[0] == "AUTH" ? std::string("AUTH") : c[0] + (c.size() > 1 ? " " + c[1] : "");
    auto cb = [self = shared_from_this(), gen, is_role, what](reply&& r) {
      if (gen != self->gen_ || self->state_ != state::handshaking) return;
      if (r.is_error()) return self->fail(what + " failed: " + r.str);
      if (is_role && (r.type != reply::kind::array || r.elements.empty() ||
                      r.elements[0].text() != "master")) {
        return self->fail("the server is not a master");
      }
      if (--self->handshake_left_ == 0) self->on_ready();
    };
    handshake_.push_back(pending{encode_command(c), std::move(cb), deadline, true});
  }
  start_write();
}

std::string connection::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void connection::on_ready() {
  state_ = state::ready;
  attempt_ = 0;
  {
    std::lock_guard lock(mu_);
    last_error_.clear();
  }
  up_.store(true, std::memory_order_release);
  if (logged_down_) {
    log::info("redis: {} connected to {}", opts_.name, current_.to_string());
    logged_down_ = false;
  } else {
    log::debug("redis: {} connected to {}", opts_.name, current_.to_string());
  }
  if (state_handler_) state_handler_(true, {});
  if (state_ == state::ready) start_write();
}

void connection::fail(const std::string& why) {
  if (state_ == state::closed) return;
  const bool was_up = up_.exchange(false);
  state_ = state::idle;
  ++gen_;
  close_streams();
  connect_timer_.cancel();
  writing_ = false;
  handshake_.clear();
  handshake_left_ = 0;
  ping_outstanding_ = false;
  auto inflight = std::move(inflight_);
  inflight_.clear();
  {
    std::lock_guard lock(mu_);
    last_error_ = why;
  }
  if (opts_.single_attempt) {
    // The owner hears of it through the failed command and reports it (rate-limited).
    log::debug("redis: {} ({}): {}", opts_.name, current_.to_string(), why);
  } else if (was_up || !logged_down_ || attempt_ % 20 == 0) {
    log::warn("redis: {} ({}): {}", opts_.name, current_.to_string(), why);
    logged_down_ = true;
  }
  for (auto& w : inflight) {
    if (w.cb) w.cb(reply::make_failure(why));
  }
  if (was_up && state_handler_) state_handler_(false, why);
  if (state_ == state::closed) return;  // a callback stopped us
  if (opts_.single_attempt) {
    fail_queue(why, true);
    state_ = state::closed;
    tick_timer_.cancel();
    std::lock_guard lock(mu_);
    stopped_ = true;
    return;
  }
  schedule_reconnect();
}

void connection::schedule_reconnect() {
  const auto min = opts_.backoff_min.count();
  const auto max = opts_.backoff_max.count();
  int64_t delay = min;
  for (unsigned i = 0; i < attempt_ && delay < max; ++i) delay *= 2;
  delay = std::min<int64_t>(delay, max);
  // Jitter: somewhere in [delay/2, delay], so that many nodes do not reconnect in step.
  delay = delay / 2 + static_cast<int64_t>(random_below(static_cast<uint64_t>(delay / 2 + 1)));
  ++attempt_;
  const uint64_t gen = gen_;
  reconnect_timer_.expires_after(std::chrono::milliseconds(delay));
  reconnect_timer_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
    if (ec || gen != self->gen_ || self->state_ != state::idle) return;
    self->connect_now();
  });
}

void connection::start_read(uint64_t gen) {
  auto buf = rbuf_;
  auto handler = [self = shared_from_this(), gen, buf](const error_code& ec, size_t n) {
    self->on_read(gen, ec, n);
  };
  if (tls_) {
    auto s = tls_;
    s->async_read_some(asio::buffer(*buf),
                       [handler, s](const error_code& ec, size_t n) { handler(ec, n); });
  } else if (tcp_) {
    auto s = tcp_;
    s->async_read_some(asio::buffer(*buf),
                       [handler, s](const error_code& ec, size_t n) { handler(ec, n); });
  } else if (unix_) {
    auto s = unix_;
    s->async_read_some(asio::buffer(*buf),
                       [handler, s](const error_code& ec, size_t n) { handler(ec, n); });
  }
}

void connection::on_read(uint64_t gen, const error_code& ec, size_t n) {
  if (gen != gen_) return;
  if (ec)
    return fail(ec == asio::error::eof ? "connection closed by server" : "read: " + ec.message());
  last_read_ = clock_type::now();
  ping_outstanding_ = false;
  reader_.feed(rbuf_->data(), n);
  std::string error;
  while (gen == gen_) {
    auto r = reader_.next(error);
    if (!r) break;
    dispatch(std::move(*r));
  }
  if (gen != gen_) return;  // a callback reset or stopped the connection
  if (!error.empty()) return fail("protocol error: " + error);
  start_read(gen);
}

void connection::dispatch(reply&& r) {
  if (!inflight_.empty()) {
    auto cb = std::move(inflight_.front().cb);
    inflight_.pop_front();
    if (cb) cb(std::move(r));
    return;
  }
  if (opts_.pubsub && push_) return push_(std::move(r));
  fail("unexpected reply");
}

void connection::start_write() {
  if (writing_) return;
  if (state_ != state::handshaking && state_ != state::ready) return;
  std::vector<pending> batch;
  batch.swap(handshake_);
  if (state_ == state::ready) {
    std::lock_guard lock(mu_);
    batch.reserve(batch.size() + queue_.size());
    for (auto& p : queue_) batch.push_back(std::move(p));
    queue_.clear();
  }
  if (batch.empty()) return;
  auto out = std::make_shared<std::string>();
  if (batch.size() == 1) {
    *out = std::move(batch[0].data);  // one command (a round's one script call): no copy
  } else {
    size_t total = 0;
    for (const auto& p : batch) total += p.data.size();
    out->reserve(total);
    for (const auto& p : batch) out->append(p.data);
  }
  for (auto& p : batch) {
    if (p.expects_reply) inflight_.push_back(waiting{std::move(p.cb), p.deadline});
  }
  writing_ = true;
  const uint64_t gen = gen_;
  auto handler = [self = shared_from_this(), gen, out](const error_code& ec, size_t) {
    if (gen != self->gen_) return;
    self->writing_ = false;
    if (ec) return self->fail("write: " + ec.message());
    self->start_write();
  };
  if (tls_) {
    auto s = tls_;
    asio::async_write(*s, asio::buffer(*out),
                      [handler, s](const error_code& ec, size_t n) { handler(ec, n); });
  } else if (tcp_) {
    auto s = tcp_;
    asio::async_write(*s, asio::buffer(*out),
                      [handler, s](const error_code& ec, size_t n) { handler(ec, n); });
  } else if (unix_) {
    auto s = unix_;
    asio::async_write(*s, asio::buffer(*out),
                      [handler, s](const error_code& ec, size_t n) { handler(ec, n); });
  }
}

void connection::fail_queue(const std::string& why, bool all) {
  std::vector<pending> expired;
  {
    std::lock_guard lock(mu_);
    const auto now = clock_type::now();
    while (!queue_.empty() && (all || queue_.front().deadline <= now)) {
      expired.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  for (auto& p : expired) {
    if (p.cb) p.cb(reply::make_failure(why));
  }
}

void connection::tick() {
  if (state_ == state::closed) return;
  const auto now = clock_type::now();
  if (state_ == state::ready || state_ == state::handshaking) {
    if (!inflight_.empty() && inflight_.front().deadline <= now) {
      fail("io timeout");
    } else if (ping_outstanding_ && now - ping_sent_ > opts_.io_timeout) {
      fail("no reply to PING within io_timeout");
    } else if (state_ == state::ready && inflight_.empty() && !ping_outstanding_ &&
               now - last_read_ >= opts_.ping_interval) {
      bool idle = false;
      {
        std::lock_guard lock(mu_);
        idle = queue_.empty();
      }
      if (idle) {
        ping_outstanding_ = true;
        ping_sent_ = now;
        send(encode_command({"PING"}), nullptr);
      }
    }
  }
  if (state_ != state::ready) fail_queue("not connected within io_timeout", false);
  tick_timer_.expires_after(tick_period);
  tick_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->tick();
  });
}

}  // namespace gyre::redis
