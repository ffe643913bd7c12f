// http_client: see http_client.hpp.
#include "proxy/http_client.hpp"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <deque>
#include <unordered_map>

namespace gyre::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<http_target> parse_http_url(std::string_view url) {
  http_target t;
  if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else if (url.starts_with("https://")) {
    url.remove_prefix(8);
    t.tls = true;
    t.port = "443";
  } else {
    return std::nullopt;
  }
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) t.path = std::string(url.substr(slash));
  if (authority.find('@') != std::string_view::npos) return std::nullopt;  // no userinfo
  if (authority.starts_with('[')) {                                        // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    t.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      t.port = std::string(rest.substr(1));
    }
  } else {
    size_t colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) t.port = std::string(authority.substr(colon + 1));
  }
  if (t.host.empty() || t.port.empty() || t.port.size() > 5) return std::nullopt;
  for (char c : t.port)
    if (c < '0' || c > '9') return std::nullopt;
  for (char c : t.path)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return std::nullopt;
  return t;
}

namespace {

// A header a peer may have supplied (emulated headers come in the connect command) goes
// out only when it cannot break the request: a token name, a value without CR/LF/NUL.
bool header_ok(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u >= 0x7f || c == ':' || c == '(' || c == ')' || c == ',' || c == ';' ||
        c == '<' || c == '>' || c == '@' || c == '[' || c == ']' || c == '\\' || c == '"' ||
        c == '/' || c == '?' || c == '=' || c == '{' || c == '}')
      return false;
  }
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

struct conn {
  explicit conn(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  beast::flat_buffer buf;
};

// An idle keep-alive connection the backend has not closed (nothing to read yet).
bool still_open(conn& c) {
  char b;
  ssize_t n = ::recv(c.socket.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

struct call;

struct host_pool {
  std::vector<std::unique_ptr<conn>> idle;
  size_t active = 0;  // connections held by calls
  std::deque<std::shared_ptr<call>> waiting;
};

struct http_client::impl {
  impl(asio::io_context& io, size_t max_idle, size_t max_active)
      : io(io), max_idle(max_idle), max_active(max_active) {}
  void acquire(const std::shared_ptr<call>& c);
  void release(call& c, bool keep);

  asio::io_context& io;
  size_t max_idle, max_active;
  std::unordered_map<std::string, host_pool> pools;
};

struct call : std::enable_shared_from_this<call> {
  explicit call(http_client::impl& o) : owner(o), timer(o.io), resolver(o.io) {}

  void connect_new();
  void send();
  void on_timeout();
  // The step that just completed failed with `ec`: retry a reused connection once, or end.
  void failed(const boost::system::error_code& ec, bool got_response_bytes);
  void finish(http_result r, bool keep);

  http_client::impl& owner;
  http_request_spec spec;
  std::string key;  // host:port
  std::function<void(http_result)> done;
  asio::steady_timer timer;
  tcp::resolver resolver;
  std::unique_ptr<conn> cn;
  http::request<http::string_body> req;
  std::optional<http::response_parser<http::string_body>> parser;
  bool waiting = false;  // in the pool's queue
  bool has_slot = false;
  bool reused = false;
  bool retried = false;
  bool timed_out = false;
  bool finished = false;
};

void http_client::impl::acquire(const std::shared_ptr<call>& c) {
  if (c->timed_out) {  // its deadline passed before it started
    http_result r;
    r.err = http_result::error::timeout;
    r.detail = "timed out before it started";
    return c->finish(std::move(r), false);
  }
  host_pool& p = pools[c->key];
  while (!p.idle.empty()) {
    std::unique_ptr<conn> cn = std::move(p.idle.back());
    p.idle.pop_back();
    if (!still_open(*cn)) continue;
    c->cn = std::move(cn);
    c->reused = true;
    c->has_slot = true;
    ++p.active;
    return c->send();
  }
  if (p.active < max_active) {
    c->has_slot = true;
    ++p.active;
    return c->connect_new();
  }
  c->waiting = true;
  p.waiting.push_back(c);
}

void http_client::impl::release(call& c, bool keep) {
  host_pool& p = pools[c.key];
  if (c.has_slot) {
    c.has_slot = false;
    --p.active;
    if (keep && c.cn && p.idle.size() < max_idle) {
      c.cn->buf.clear();
      p.idle.push_back(std::move(c.cn));
    }
  }
  c.cn.reset();
  while (!p.waiting.empty() && (p.active < max_active || !p.idle.empty())) {
    auto next = std::move(p.waiting.front());
    p.waiting.pop_front();
    next->waiting = false;
    acquire(next);
  }
}

void call::connect_new() {
  cn = std::make_unique<conn>(owner.io);
  auto self = shared_from_this();
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(spec.target.host, ec);
  if (!ec) {
    tcp::endpoint ep(addr, static_cast<unsigned short>(std::stoi(spec.target.port)));
    cn->socket.async_connect(ep, [self](const boost::system::error_code& e) {
      if (e || self->timed_out) return self->failed(e, false);
      self->cn->socket.set_option(tcp::no_delay(true));
      self->send();
    });
    return;
  }
  resolver.async_resolve(
      spec.target.host, spec.target.port,
      [self](const boost::system::error_code& e, const tcp::resolver::results_type& results) {
        if (e || self->timed_out) return self->failed(e, false);
        asio::async_connect(self->cn->socket, results,
                            [self](const boost::system::error_code& e2, const tcp::endpoint&) {
                              if (e2 || self->timed_out) return self->failed(e2, false);
                              self->cn->socket.set_option(tcp::no_delay(true));
                              self->send();
                            });
      });
}

void call::send() {
  auto self = shared_from_this();
  http::async_write(cn->socket, req, [self](const boost::system::error_code& e, size_t) {
    if (e || self->timed_out) return self->failed(e, false);
    self->parser.emplace();
    self->parser->body_limit(self->spec.max_response);
    http::async_read(self->cn->socket, self->cn->buf, *self->parser,
                     [self](const boost::system::error_code& e2, size_t) {
                       if (e2 || self->timed_out) return self->failed(e2, self->parser->got_some());
                       auto res = self->parser->release();
                       http_result r;
                       r.status = res.result_int();
                       r.body = std::move(res.body());
                       self->finish(std::move(r), res.keep_alive());
                     });
  });
}

void call::failed(const boost::system::error_code& ec, bool got_response_bytes) {
  if (finished) return;
  http_result r;
  if (timed_out) {
    r.err = http_result::error::timeout;
    r.detail = "timed out";
    return finish(std::move(r), false);
  }
  if (ec == http::error::body_limit) {
    r.err = http_result::error::too_large;
    r.detail = "response body over " + std::to_string(spec.max_response) + " bytes";
    return finish(std::move(r), false);
  }
  if (reused && !retried && !got_response_bytes) {
    // The backend closed the idle connection: once more on a new one.
    retried = true;
    reused = false;
    boost::system::error_code ignored;
    cn->socket.close(ignored);
    return connect_new();
  }
  r.err = http_result::error::unavailable;
  r.detail = ec.message();
  finish(std::move(r), false);
}

void call::on_timeout() {
  if (finished) return;
  timed_out = true;
  if (waiting) {
    auto& q = owner.pools[key].waiting;
    for (auto it = q.begin(); it != q.end(); ++it)
      if (it->get() == this) {
        auto self = *it;  // keep alive through finish()
        q.erase(it);
        waiting = false;
        http_result r;
        r.err = http_result::error::timeout;
        r.detail = "timed out waiting for a connection";
        return self->finish(std::move(r), false);
      }
    return;
  }
  // Cancel what is in progress; its handler reports the timeout.
  resolver.cancel();
  if (cn) {
    boost::system::error_code ignored;
    cn->socket.close(ignored);
  }
}

void call::finish(http_result r, bool keep) {
  if (finished) return;
  finished = true;
  timer.cancel();
  owner.release(*this, keep);
  auto cb = std::move(done);
  cb(std::move(r));
}

http_client::http_client(asio::io_context& io, size_t max_idle, size_t max_active)
    : impl_(std::make_unique<impl>(io, max_idle, max_active)) {}

http_client::~http_client() = default;

void http_client::post(http_request_spec spec, std::function<void(http_result)> done) {
  auto c = std::make_shared<call>(*impl_);
  if (spec.target.tls) {
    asio::post(impl_->io, [done = std::move(done)] {
      http_result r;
      r.err = http_result::error::unavailable;
      r.detail = "https:// endpoints are not supported";
      done(std::move(r));
    });
    return;
  }
  c->key = spec.target.host + ":" + spec.target.port;
  c->req.method(http::verb::post);
  c->req.target(spec.target.path);
  c->req.version(11);
  // Host: an IPv6 literal goes in brackets; the port only when not the default.
  std::string host = spec.target.host.find(':') != std::string::npos ? "[" + spec.target.host + "]"
                                                                     : spec.target.host;
  c->req.set(http::field::host, spec.target.port == "80" ? host : host + ":" + spec.target.port);
  c->req.set(http::field::user_agent, "Gyre");
  for (auto& [k, v] : spec.headers)
    if (header_ok(k, v)) c->req.insert(k, v);
  c->req.set(http::field::content_type, "application/json");
  c->req.body() = std::move(spec.body);
  c->req.prepare_payload();
  c->spec = std::move(spec);
  c->done = std::move(done);
  c->timer.expires_after(c->spec.timeout);
  c->timer.async_wait([w = std::weak_ptr<call>(c)](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = w.lock()) self->on_timeout();
  });
  // Started from the loop, not inside the caller: done() never runs inside post().
  asio::post(impl_->io, [c, i = impl_.get()] { i->acquire(c); });
}

}  // namespace gyre::proxy
