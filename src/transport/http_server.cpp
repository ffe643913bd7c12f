// http_server implementation; see http_server.hpp.
#include "transport/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <string_view>

#include "core/glob.hpp"
#include "core/log.hpp"
#include "hub/shard.hpp"
#include "transport/event_loop.hpp"
#include "transport/http_framing.hpp"
#include "transport/ws_connection.hpp"
#include "transport/ws_handshake.hpp"

namespace gyre {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using tcp_acceptor = asio::basic_socket_acceptor<tcp, asio::io_context::executor_type>;
using tcp_socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;

bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin) {
  if (origin.empty()) return true;
  std::string lower(origin);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const auto& pattern : allowed) {
    if (pattern == "*") return true;
    std::string p = pattern;
    std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return std::tolower(c); });
    if (glob_match(p, lower)) return true;
  }
  return false;
}

namespace {

// A request's head and body must arrive within header_timeout of its first byte (of the
// connection, for the first request); a keep-alive connection may wait idle_timeout for
// its next request. A refused request's connection lingers (discarding input) for at most
// linger_timeout so that the peer reads the refusal instead of a reset.
constexpr auto header_timeout = std::chrono::seconds(10);
constexpr auto idle_timeout = std::chrono::seconds(60);
constexpr auto linger_timeout = std::chrono::seconds(2);
constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

std::string joined_header(const http::request<http::string_body>& req, std::string_view name) {
  std::string out;
  for (auto it = req.find(name); it != req.end() && beast::iequals(it->name_string(), name); ++it) {
    if (!out.empty()) out += ", ";
    out.append(it->value().data(), it->value().size());
  }
  return out;
}

const http_route* find_route(const std::vector<http_route>& routes, std::string_view path) {
  for (const auto& route : routes) {
    bool match = path == route.path ||
                 (route.prefix && path.size() > route.path.size() && path.starts_with(route.path) &&
                  (path[route.path.size()] == '/' || route.path.ends_with("/")));
    if (match) return &route;
  }
  return nullptr;
}

// One HTTP connection. `io` runs it: the accepting loop's, or a requests thread's once it
// moved there; `home` is the accepting loop, which takes WebSocket upgrades.
//
// Per request on a requests thread, nothing but the request itself costs: the deadline is
// a time stored in the session (one timer wait outstanding, re-armed only when a deadline
// comes earlier, so no timer system call per request), the peer's address is read once,
// and the response is rendered into a buffer the session keeps.
//
// A request goes: read the head → check its framing (http_framing) → route → the
// handler's admit() → read the body within the admitted limit → handle() → write the
// response → next request, or a lingering close. Every refusal (framing, a parse error,
// an oversized head or body, a body the handler did not read) closes the connection.
class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(asio::io_context& io, event_loop& home, tcp_socket socket,
               const http_server_options& opts, std::atomic<size_t>& next_requests,
               beast::flat_buffer buffer = {}, uint32_t requests = 0, std::string remote = {})
      : io_(io),
        home_(home),
        socket_(std::move(socket)),
        timer_(io),
        opts_(opts),
        next_requests_(next_requests),
        buffer_(std::move(buffer)),
        requests_(requests),
        remote_(std::move(remote)) {}

  void start() { read(); }

 private:
  void read() {
    if (opts_.postpone_reading && &io_ != &home_.io() && opts_.postpone_reading())
      return postpone();
    parser_.emplace();
    parser_->header_limit(opts_.max_header_size);
    parser_->body_limit(boost::none);  // set per route once the head is known
    route_ = nullptr;
    arm(buffer_.size() == 0 && requests_ > 0 ? idle_timeout : header_timeout);
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        size_t) { self->on_header(ec); });
  }

  // The event loops are behind on fan-out: read nothing for 1 ms, then ask again. No
  // deadline runs meanwhile (the peer waits for us, not we for it); the loops drain their
  // bounded inboxes, so the wait ends.
  void postpone() {
    disarm();
    if (!postpone_timer_) postpone_timer_ = std::make_unique<asio::steady_timer>(io_);
    postpone_timer_->expires_after(std::chrono::milliseconds(1));
    postpone_timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->read();
    });
  }

  void on_header(const boost::system::error_code& ec) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    if (auto v = http_framing::check_request(req, parser_->chunked()); !v.ok()) return refuse(v);
    ++requests_;
    keep_alive_ = req.keep_alive();
    const bool has_body = !parser_->is_done();
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    const bool uni_ws = !opts_.uni_websocket_path.empty() && path == opts_.uni_websocket_path;
    if ((opts_.websocket_enabled && path == opts_.websocket_path) || uni_ws) {
      if (has_body) return refuse({400, "a WebSocket upgrade request has no body"});
      return upgrade(req, target, uni_ws);
    }
    route_ = find_route(opts_.routes, path);
    if (!route_) {
      keep_alive_ = keep_alive_ && !has_body;  // the body is not read: the connection ends
      disarm();
      return write(http_response::text(404, "404 page not found\n"));
    }
    head_ = http_request{};
    head_.method = std::string(req.method_string());
    head_.path = std::string(path);
    if (target.size() > path.size()) head_.query = std::string(target.substr(path.size() + 1));
    for (const auto& f : req) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      head_.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    head_.remote_address = remote_address();
    head_.version = req.version();
    http_admission admission = route_->handler->admit(head_);
    if (admission.refusal) {
      keep_alive_ = keep_alive_ && !has_body;
      disarm();
      return write(std::move(*admission.refusal), true);
    }
    if (!has_body) return on_body({});
    const auto length = parser_->content_length();
    if (length && *length > admission.body_limit) return refuse_body(*length, admission.body_limit);
    parser_->body_limit(admission.body_limit);  // a chunked body is counted as it arrives
    body_limit_ = admission.body_limit;
    if (req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue")) {
      asio::async_write(socket_, asio::buffer(continue_100.data(), continue_100.size()),
                        [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                          if (ec) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       self->on_body(ec);
                     });
  }

  void on_body(const boost::system::error_code& ec) {
    if (ec == http::error::body_limit) return refuse_body(0, body_limit_);
    if (ec) return on_read_error(ec);
    disarm();
    head_.body = std::move(parser_->get().body());
    if (route_->handler->takes_connection()) return hand_over_stream();
    // dispatch: a handler that answers at once (an accepted publish) writes the response
    // now, before the fan-out this request queued on the same loop.
    route_->handler->handle(std::move(head_), [self = shared_from_this()](http_response resp) {
      asio::dispatch(self->io_, [self, resp = std::move(resp)]() mutable {
        self->write(std::move(resp), true);
      });
    });
  }

  // A read that ended in an error: a malformed request is answered, a closed or timed-out
  // connection just ends.
  void on_read_error(const boost::system::error_code& ec) {
    auto v = http_framing::for_read_error(ec);
    if (v.ok()) return close();
    refuse(v);
  }

  // Answers with `v`'s status and closes: the rest of the input cannot be trusted.
  void refuse(http_framing::verdict v) {
    static log::limiter refusals;
    log::limited(refusals, spdlog::level::info, "HTTP request from {} refused with {}: {}",
                 remote_address(), v.status, v.reason);
    disarm();
    keep_alive_ = false;
    write(http_response::text(v.status, std::string(v.reason) + "\n"));
  }

  // 413: `length` is the announced Content-Length (0 for a chunked body that outgrew it).
  void refuse_body(uint64_t length, uint64_t limit) {
    static log::limiter oversized;
    if (length > 0) {
      log::limited(oversized, spdlog::level::warn,
                   "HTTP request from {} to {} refused with 413: body of {} bytes, the limit is {}",
                   remote_address(), head_.path, length, limit);
    } else {
      log::limited(
          oversized, spdlog::level::warn,
          "HTTP request from {} to {} refused with 413: chunked body over the limit of {} bytes",
          remote_address(), head_.path, limit);
    }
    disarm();
    keep_alive_ = false;
    write(http_response::text(
        413, "request body too large: the limit is " + std::to_string(limit) + " bytes\n"));
  }

  // The peer's address, read once per connection.
  const std::string& remote_address() {
    if (remote_.empty()) {
      boost::system::error_code ec;
      auto ep = socket_.remote_endpoint(ec);
      remote_ = ec ? std::string("?") : ep.address().to_string();
    }
    return remote_;
  }

  // The connection's deadline: a request's head and body, the idle time between requests,
  // the lingering close. Moving it costs no system call: one timer wait is outstanding
  // (waits_ counts the ones not yet completed) and is restarted only when the deadline
  // comes earlier than its expiry; when it fires before a deadline that moved later, it
  // waits again.
  void arm(std::chrono::steady_clock::duration d) {
    deadline_ = std::chrono::steady_clock::now() + d;
    if (waits_ == 0 || deadline_ < timer_.expiry()) wait_deadline();
  }
  // No deadline while a request is being handled (a slow engine answers within its own
  // timeout).
  void disarm() { deadline_ = std::chrono::steady_clock::time_point::max(); }

  void wait_deadline() {
    const auto now = std::chrono::steady_clock::now();
    timer_.expires_at(deadline_ == std::chrono::steady_clock::time_point::max() ? now + idle_timeout
                                                                                : deadline_);
    ++waits_;
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      --self->waits_;
      if (ec) return;  // restarted, or the session ended
      if (self->deadline_ <= std::chrono::steady_clock::now()) return self->close();
      if (self->waits_ == 0) self->wait_deadline();
    });
  }

  // A streaming transport takes the socket (http_handler::adopt) on the accepting loop.
  void hand_over_stream() {
    timer_.cancel();  // the session ends here: no wait may keep it alive
    parser_.reset();
    boost::system::error_code ec;
    int fd = socket_.release(ec);
    if (ec) return;
    auto adopt = [&home = home_, fd, handler = route_->handler, req = std::move(head_)]() mutable {
      handler->adopt(home, fd, std::move(req));
    };
    if (&io_ == &home_.io()) {
      adopt();
    } else {
      asio::post(home_.io(), std::move(adopt));
    }
  }

  void upgrade(http::request<http::string_body>& req, std::string_view target, bool uni) {
    std::string upgrade_h = joined_header(req, "Upgrade");
    std::string connection_h = joined_header(req, "Connection");
    std::string version_h = joined_header(req, "Sec-WebSocket-Version");
    std::string key_h = joined_header(req, "Sec-WebSocket-Key");
    std::string protocols_h = joined_header(req, "Sec-WebSocket-Protocol");
    std::string method(req.method_string());
    ws::upgrade_request ur;
    ur.method = method;
    ur.http_version = req.version();
    ur.upgrade = upgrade_h;
    ur.connection = connection_h;
    ur.version = version_h;
    ur.key = key_h;
    ur.protocols = protocols_h;
    timer_.cancel();  // the session ends here: no wait may keep it alive
    if (auto e = ws::validate_upgrade(ur); e != ws::handshake_error::none)
      return write_string(ws::render_handshake_error(e));
    std::string origin = joined_header(req, "Origin");
    if (!origin.empty() &&
        !origin_allowed(
            opts_.allowed_origins ? opts_.allowed_origins() : std::vector<std::string>{}, origin)) {
      static log::limiter origins;
      log::limited(origins, spdlog::level::info, "request Origin is not allowed: {}", origin);
      return write_string(ws::render_http_error(403, "Forbidden\n"));
    }
    std::string_view subprotocol = uni ? std::string_view{} : ws::select_subprotocol(protocols_h);
    if (!uni && !protocols_h.empty() && subprotocol.empty())
      return write_string(ws::render_http_error(400, "unsupported subprotocol\n"));
    protocol::encoding enc = protocol::encoding::json;
    if (subprotocol == "centrifuge-protobuf") enc = protocol::encoding::protobuf;
    std::string_view query =
        target.size() > target.find('?') ? target.substr(target.find('?') + 1) : std::string_view{};
    http_request qr;
    qr.query = std::string(query);
    if (!uni &&
        (qr.query_param("format") == "protobuf" || qr.query_param("cf_protocol") == "protobuf"))
      enc = protocol::encoding::protobuf;
    ws_connection_options wo;
    wo.max_message_size = opts_.websocket_message_size_limit;
    if (uni) {
      // uni_websocket: JSON only; the ConnectRequest may come in the cf_connect parameter.
      wo.max_message_size = opts_.uni_websocket_message_size_limit;
      wo.unidirectional = true;
      wo.join_push_messages = opts_.uni_websocket_join_push_messages;
      wo.disconnect_push = opts_.uni_websocket_disconnect_push;
      if (qr.query.find("cf_connect=") != std::string::npos)
        wo.connect = qr.query_param("cf_connect");
    }
    if (!opts_.user_id_http_header.empty()) {
      wo.user_id_header = opts_.user_id_http_header;
      wo.user_id_value = joined_header(req, opts_.user_id_http_header);
    }
    if (opts_.proxy_header_names) {
      for (const auto& name : opts_.proxy_header_names())
        for (auto it = req.find(name); it != req.end() && beast::iequals(it->name_string(), name);
             ++it)
          wo.proxy_headers.emplace_back(name, std::string(it->value()));
    }
    ws::deflate_agreement deflate;
    if (opts_.websocket_compression) {
      deflate = ws::negotiate_deflate(joined_header(req, "Sec-WebSocket-Extensions"));
      wo.deflate = deflate.enabled;
      wo.client_no_context_takeover = deflate.client_no_context_takeover;
      wo.max_decompressed_size = opts_.websocket_decompressed_size_limit;
    }
    std::string handshake = ws::render_switching_protocols(ws::compute_accept_key(key_h),
                                                           subprotocol, deflate.response);
    auto leftover = buffer_.data();
    std::string rest(static_cast<const char*>(leftover.data()), leftover.size());
    parser_.reset();
    // The socket leaves Asio (already non-blocking: Asio set it for the HTTP read) and is
    // registered in the home loop's own poller, on that loop's thread.
    boost::system::error_code ec;
    int fd = socket_.release(ec);
    if (ec) return;
    auto hand_over = [&home = home_, fd, enc, handshake = std::move(handshake),
                      rest = std::move(rest), wo = std::move(wo)]() mutable {
      ws_connection::start(home.hub(), home.sockets(), fd, enc, std::move(handshake),
                           std::move(rest), std::move(wo));
    };
    if (&io_ == &home_.io()) {
      hand_over();
    } else {
      asio::post(home_.io(), std::move(hand_over));
    }
  }

  // Hands the connection to a requests thread (after a response, nothing in flight),
  // round robin over opts_.requests_ios: the same socket and the bytes already read go on
  // there in a new session.
  void move_to_requests_io() {
    timer_.cancel();
    asio::io_context& target =
        *opts_.requests_ios[next_requests_.fetch_add(1, std::memory_order_relaxed) %
                            opts_.requests_ios.size()];
    (void)remote_address();
    boost::system::error_code ec;
    const auto protocol = socket_.local_endpoint(ec).protocol();
    const int fd = ec ? -1 : socket_.release(ec);
    if (ec || fd < 0) {
      socket_.close(ec);
      return;
    }
    tcp_socket moved(target);
    moved.assign(protocol, fd, ec);
    if (ec) {
      ::close(fd);
      return;
    }
    auto next =
        std::make_shared<http_session>(target, home_, std::move(moved), opts_, next_requests_,
                                       std::move(buffer_), requests_, std::move(remote_));
    asio::post(target, [next] { next->read(); });
  }

  // A response rendered by ws_handshake (upgrade refusals); the connection ends after it.
  void write_string(std::string raw) {
    auto buf = std::make_shared<std::string>(std::move(raw));
    asio::async_write(
        socket_, asio::buffer(*buf),
        [self = shared_from_this(), buf](const boost::system::error_code& ec, size_t) {
          if (ec) return self->close();
          self->linger_close();
        });
  }

  // Renders an HTTP/1.1 response into out_ (kept by the session: no allocation once it
  // is large enough): status line, the handler's fields, Content-Length (not for 1xx,
  // 204, 304), and Connection: close when the connection ends after it.
  void render(const http_response& r) {
    out_.clear();
    char num[24];
    auto put_number = [&](uint64_t v) {
      auto [end, ec] = std::to_chars(num, num + sizeof num, v);
      (void)ec;
      out_.append(num, static_cast<size_t>(end - num));
    };
    out_.append("HTTP/1.1 ");
    put_number(r.status);
    out_.push_back(' ');
    auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
    out_.append(reason.data(), reason.size());
    out_.append("\r\n");
    for (const auto& [k, v] : r.headers) out_.append(k).append(": ").append(v).append("\r\n");
    if (r.status >= 200 && r.status != 204 && r.status != 304) {
      out_.append("Content-Length: ");
      put_number(r.body.size());
      out_.append("\r\n");
    }
    if (!keep_alive_) out_.append("Connection: close\r\n");
    out_.append("\r\n").append(r.body);
  }

  // `routed`: the response of a route handler (a plain HTTP request), after which a
  // keep-alive connection moves to a requests thread.
  void write(http_response r, bool routed = false) {
    render(r);
    asio::async_write(
        socket_, asio::buffer(out_),
        [self = shared_from_this(), routed](const boost::system::error_code& ec, size_t) {
          if (ec) return self->close();
          if (!self->keep_alive_) return self->linger_close();
          if (routed && !self->opts_.requests_ios.empty() && &self->io_ == &self->home_.io())
            return self->move_to_requests_io();
          self->read();
        });
  }

  // Closes after the last response without resetting it: stop sending, then read and
  // discard what the peer still sends (a body that was never read, pipelined requests)
  // until it closes too or linger_timeout passes. Closing with unread input would make
  // the kernel send a reset, which can destroy the response before the peer reads it.
  void linger_close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    parser_.reset();
    arm(linger_timeout);
    discard();
  }

  void discard() {
    buffer_.clear();
    socket_.async_read_some(
        buffer_.prepare(16 * 1024),
        [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
          if (ec) return self->close();
          self->discard();
        });
  }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  asio::io_context& io_;
  event_loop& home_;
  tcp_socket socket_;
  asio::steady_timer timer_;
  std::unique_ptr<asio::steady_timer> postpone_timer_;  // made on the first postponement
  const http_server_options& opts_;
  std::atomic<size_t>& next_requests_;  // the server's round-robin counter
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const http_route* route_ = nullptr;  // the route of the request being read
  http_request head_;                  // its head (and, once read, its body)
  uint64_t body_limit_ = 0;            // the body limit its handler admitted
  bool keep_alive_ = true;
  uint32_t requests_ = 0;
  std::string remote_;  // the peer's address, once read
  std::string out_;     // the response being written
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  uint32_t waits_ = 0;  // timer waits not completed yet
};

// One acceptor per loop.
class listener {
 public:
  listener(event_loop& loop, const http_server_options& opts, std::atomic<size_t>& next_requests)
      : loop_(loop), acceptor_(loop.io()), opts_(opts), next_requests_(next_requests) {}

  // Opens, binds and listens; on failure "<step>: <cause>".
  std::string open(const tcp::endpoint& ep) {
    boost::system::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (ec) return "socket: " + ec.message();
    // SO_REUSEADDR: bind while connections of a previous run are in TIME_WAIT.
    // SO_REUSEPORT: one acceptor per loop on the same port (see http_server.hpp).
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return "SO_REUSEADDR: " + ec.message();
    int one = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      return std::string("SO_REUSEPORT: ") + std::strerror(errno);
    acceptor_.bind(ep, ec);
    if (ec) return "bind: " + ec.message();
    acceptor_.listen(4096, ec);
    if (ec) return "listen: " + ec.message();
    return {};
  }

  uint16_t port() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void start() {
    asio::post(loop_.io(), [this] { accept(); });
  }

  void close() {
    asio::post(loop_.io(), [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
  }

 private:
  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp_socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        std::make_shared<http_session>(loop_.io(), loop_, std::move(socket), opts_, next_requests_)
            ->start();
      } else if (ec == asio::error::no_descriptors) {
        // Out of file descriptors: back off briefly instead of spinning.
        log::warn("accept: {}", ec.message());
        auto t = std::make_shared<asio::steady_timer>(loop_.io(), std::chrono::milliseconds(100));
        t->async_wait([this, t](const boost::system::error_code&) { accept(); });
        return;
      }
      accept();
    });
  }

  event_loop& loop_;
  tcp_acceptor acceptor_;
  const http_server_options& opts_;
  std::atomic<size_t>& next_requests_;
};

}  // namespace

struct http_server::impl {
  std::vector<event_loop*> loops;
  http_server_options opts;
  std::vector<std::unique_ptr<listener>> listeners;
  std::atomic<size_t> next_requests{0};  // round robin over opts.requests_ios
};

http_server::http_server(std::vector<event_loop*> loops, http_server_options opts)
    : impl_(std::make_unique<impl>()) {
  impl_->loops = std::move(loops);
  impl_->opts = std::move(opts);
}

http_server::~http_server() = default;

namespace {

std::string endpoint_text(const asio::ip::address& addr, uint16_t port) {
  std::string a = addr.to_string();
  return (addr.is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

// Every loop's acceptor binds the port with SO_REUSEPORT, which would also let another
// process (a second Gyre by mistake) share it silently. This probe binds without
// SO_REUSEPORT, so it fails while any other socket listens on the port; it sets
// SO_REUSEADDR, so connections of a previous run in TIME_WAIT do not stop a restart.
boost::system::error_code probe_bind(asio::io_context& io, const tcp::endpoint& ep) {
  boost::system::error_code ec;
  tcp_acceptor probe(io);
  probe.open(ep.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(ep, ec);
  return ec;
}

}  // namespace

std::string http_server::start() {
  boost::system::error_code ec;
  const bool any = impl_->opts.address.empty();
  asio::ip::address addr = any ? asio::ip::address(asio::ip::address_v6::any())
                               : asio::ip::make_address(impl_->opts.address, ec);
  if (ec) return "invalid listen address \"" + impl_->opts.address + "\": " + ec.message();
  uint16_t port = impl_->opts.port;
  if (port != 0) {
    ec = probe_bind(impl_->loops.front()->io(), tcp::endpoint(addr, port));
    if (ec && ec != asio::error::address_in_use && any) {
      addr = asio::ip::address_v4::any();  // no IPv6 on this machine
      ec = probe_bind(impl_->loops.front()->io(), tcp::endpoint(addr, port));
    }
    if (ec == asio::error::address_in_use)
      return "cannot listen on " + endpoint_text(addr, port) +
             ": address already in use (another process listens on this port)";
    if (ec) return "cannot listen on " + endpoint_text(addr, port) + ": bind: " + ec.message();
  }
  for (event_loop* loop : impl_->loops) {
    auto l = std::make_unique<listener>(*loop, impl_->opts, impl_->next_requests);
    std::string err = l->open(tcp::endpoint(addr, port));
    if (!err.empty() && any && addr.is_v6() && impl_->listeners.empty()) {
      // No IPv6 on this machine: fall back to IPv4.
      addr = asio::ip::address_v4::any();
      l = std::make_unique<listener>(*loop, impl_->opts, impl_->next_requests);
      err = l->open(tcp::endpoint(addr, port));
    }
    if (!err.empty()) return "cannot listen on " + endpoint_text(addr, port) + ": " + err;
    if (port == 0) port = l->port();  // port 0: every loop shares the first one's port
    impl_->listeners.push_back(std::move(l));
  }
  bound_port_ = port;
  for (auto& l : impl_->listeners) l->start();
  return {};
}

void http_server::stop() {
  for (auto& l : impl_->listeners) l->close();
}

}  // namespace gyre
