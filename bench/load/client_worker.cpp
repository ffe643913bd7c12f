// client_worker: simulated clients on one epoll thread; see client_worker.hpp.
#include "load/client_worker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "load/message_scan.hpp"
#include "load/proc_stats.hpp"
#include "load/server_frames.hpp"
#include "transport/ws_frame.hpp"

namespace gyre::bench {

namespace {

constexpr ws::masking_key mask_key = {0x12, 0x34, 0x56, 0x78};
constexpr size_t read_buffer_size = 256 * 1024;
constexpr size_t max_http_head = 16 * 1024;
constexpr int max_events = 256;
constexpr int idle_poll_ms = 20;  // how often an idle thread looks at the control block

enum class cstate : uint8_t { idle, connecting, upgrading, handshaking, ready };

struct conn {
  int fd = -1;
  uint32_t idx = 0;
  cstate st = cstate::idle;
  uint16_t replies_left = 0;
  bool pong = false;      // the server asked for pongs
  bool want_out = false;  // EPOLLOUT registered
  bool doomed = false;    // end after the current read
  uint64_t t_start_ns = 0;
  server_frame_reader rx;
  json_line_splitter lines;
  varint_splitter msgs;
  raw_message_head raw;
  std::string http;  // the upgrade response head, while it arrives
  std::string wbuf;  // bytes the socket did not take yet
  // permessage-deflate (--deflate): the inflate stream, allocated at the first
  // compressed message and reset after each (the server uses no context takeover).
  std::unique_ptr<z_stream, void (*)(z_stream*)> inflate{nullptr, [](z_stream* z) {
                                                           inflateEnd(z);
                                                           delete z;
                                                         }};
};

class worker {
 public:
  worker(const client_plan& p, shared_area& a, uint32_t t)
      : plan_(p), ctl_(a.ctl), st_(a.threads[t]), index_(t) {}
  ~worker() {
    if (ep_ >= 0) ::close(ep_);
  }

  int run();

  // Frame sink (server_frames.hpp) for the connection being read.
  struct sink {
    worker& w;
    conn& c;
    void on_data(const char* p, size_t n) { w.on_data(c, p, n); }
    void on_message_end() { w.on_message_end(c); }
    void on_control(ws_op op, std::string_view payload) { w.on_control(c, op, payload); }
  };

 private:
  bool stopping() const {
    return ctl_.phase.load(std::memory_order_acquire) == static_cast<uint32_t>(run_phase::stop);
  }
  bool run_round(uint32_t r);
  void open_due(uint64_t now);
  void open(uint32_t li, uint64_t now);
  void handle(uint32_t li, uint32_t events);
  void on_connected(conn& c);
  void on_readable(conn& c);
  void on_bytes(conn& c, const char* p, size_t n);
  void on_data(conn& c, const char* p, size_t n);
  void on_plain_data(conn& c, const char* p, size_t n);
  void inflate_data(conn& c, const char* p, size_t n, bool end);
  void on_message_end(conn& c);
  void on_control(conn& c, ws_op op, std::string_view payload);
  void on_json_line(conn& c, std::string_view line);
  void on_proto_message(conn& c, std::string_view msg);
  void on_push(std::string_view msg);
  void on_ping(conn& c);
  void on_reply(conn& c, const reply_info& ri);
  void mark_ready(conn& c);
  void send(conn& c, const char* data, size_t n);
  void flush_writes(conn& c);
  void set_out(conn& c, bool on);
  void fail(conn& c, const char* why, int err = 0);
  void end(conn& c, bool by_tool);
  void close_all();
  void check_timeouts(uint64_t now);
  void churn_due(uint64_t now);

  const client_plan& plan_;
  control_block& ctl_;
  thread_stats& st_;
  uint32_t index_;
  int ep_ = -1;
  std::vector<conn> conns_;
  std::vector<std::string> tokens_;
  std::vector<uint32_t> reopen_;
  size_t order_pos_ = 0;
  uint32_t pending_ = 0;
  uint64_t interval_ns_ = 0;
  uint64_t next_open_ns_ = 0;
  uint64_t next_check_ns_ = 0;
  uint64_t last_churn_ns_ = 0;
  double churn_credit_ = 0;
  uint64_t churn_rng_ = 0x9e3779b97f4a7c15ull;
  uint64_t now_us_ = 0;  // time of the current read
  uint32_t sample_left_ = 1;
  uint32_t errors_logged_ = 0;
  std::string scratch_;
  std::vector<char> rbuf_ = std::vector<char>(read_buffer_size);
};

int worker::run() {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) {
    std::perror("gyre-bench: epoll_create1");
    return 1;
  }
  for (uint32_t i = index_; i < plan_.conns; i += plan_.total_threads) {
    conns_.emplace_back();
    conns_.back().idx = i;
    if (!plan_.token_secret.empty())
      tokens_.push_back(make_hs256_token(plan_.token_secret, user_for(i), plan_.token_exp));
  }
  sample_left_ = 1 + index_ % std::max<uint32_t>(1, plan_.sample_every);
  if (plan_.connect_rate > 0)
    interval_ns_ = static_cast<uint64_t>(1e9 * plan_.total_threads / plan_.connect_rate);
  ctl_.prepared.fetch_add(1, std::memory_order_acq_rel);

  for (uint32_t r = 0; r < plan_.rounds; ++r) {
    while (ctl_.connect_round.load(std::memory_order_acquire) <= r) {
      if (stopping()) return 0;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (!run_round(r)) {
      close_all();
      return 0;
    }
  }
  while (!stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  close_all();
  return 0;
}

// One round: connect everything (rate-limited), then serve until the coordinator closes
// the round or stops the run. Returns false on stop.
bool worker::run_round(uint32_t r) {
  order_pos_ = 0;
  reopen_.clear();
  st_.first_start_ns.store(0, std::memory_order_relaxed);
  next_open_ns_ = now_ns();
  epoll_event evs[max_events];
  for (;;) {
    if (stopping()) return false;
    if (ctl_.close_round.load(std::memory_order_acquire) > r) {
      close_all();
      ctl_.closed.fetch_add(1, std::memory_order_acq_rel);
      return true;
    }
    uint64_t now = now_ns();
    if (plan_.churn_per_s > 0) churn_due(now);
    open_due(now);
    if (now >= next_check_ns_) {
      check_timeouts(now);
      next_check_ns_ = now + 250'000'000;
    }
    int timeout = idle_poll_ms;
    bool more = order_pos_ < conns_.size() || !reopen_.empty();
    if (more && pending_ < plan_.max_pending) {
      if (interval_ns_ == 0) {
        timeout = 0;
      } else {
        uint64_t t = now_ns();
        timeout =
            next_open_ns_ <= t ? 0 : static_cast<int>((next_open_ns_ - t + 999'999) / 1'000'000);
        if (timeout > idle_poll_ms) timeout = idle_poll_ms;
      }
    }
    int n = epoll_wait(ep_, evs, max_events, timeout);
    if (n < 0 && errno != EINTR) {
      std::perror("gyre-bench: epoll_wait");
      return false;
    }
    for (int i = 0; i < n; ++i) handle(evs[i].data.u32, evs[i].events);
  }
}

void worker::open_due(uint64_t now) {
  // Bounded by the number of connections and the in-flight cap.
  while (pending_ < plan_.max_pending) {
    bool fresh = order_pos_ < conns_.size();
    if (!fresh && reopen_.empty()) return;
    if (interval_ns_ != 0) {
      if (now < next_open_ns_) return;
      next_open_ns_ += interval_ns_;
      // After a stall (in-flight cap), do not burst to catch up more than a few slots.
      if (next_open_ns_ + 8 * interval_ns_ < now) next_open_ns_ = now;
    }
    uint32_t li;
    if (!reopen_.empty()) {
      li = reopen_.back();
      reopen_.pop_back();
    } else {
      li = static_cast<uint32_t>(order_pos_++);
    }
    open(li, now);
  }
}

void worker::open(uint32_t li, uint64_t now) {
  conn& c = conns_[li];
  bump(st_.started);
  if (st_.first_start_ns.load(std::memory_order_relaxed) == 0)
    st_.first_start_ns.store(now, std::memory_order_relaxed);
  c.t_start_ns = now;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    c.st = cstate::connecting;
    ++pending_;
    return fail(c, "socket", errno);
  }
  c.fd = fd;
  c.st = cstate::connecting;
  ++pending_;
  int one = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!plan_.sources.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr = plan_.sources[c.idx % plan_.sources.size()];
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0)
      return fail(c, "bind", errno);
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(plan_.port);
  dst.sin_addr = plan_.dst;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS)
    return fail(c, "connect", errno);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.u32 = li;
  c.want_out = true;
  if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) return fail(c, "epoll_ctl", errno);
}

void worker::handle(uint32_t li, uint32_t events) {
  conn& c = conns_[li];
  if (c.fd < 0) return;
  if (c.st == cstate::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(c, "connect", err);
    if (!(events & EPOLLOUT)) return fail(c, "connect", ECONNREFUSED);
    on_connected(c);
    if (c.doomed) end(c, false);
    return;
  }
  if ((events & EPOLLOUT) && c.want_out) flush_writes(c);
  if (c.fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) on_readable(c);
  if (c.fd >= 0 && c.doomed) end(c, false);
}

void worker::on_connected(conn& c) {
  const bool proto = plan_.proto == wire::gyre_protobuf;
  std::vector<std::string> chans = channels_for(plan_, c.idx);
  std::string path = plan_.ws_path;
  if (size_t k = path.find("{channel}"); k != std::string::npos) path.replace(k, 9, chans.front());
  scratch_.clear();
  scratch_ += "GET ";
  scratch_ += path;
  scratch_ += " HTTP/1.1\r\nHost: ";
  scratch_ += plan_.host_header;
  scratch_ +=
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
      "Z3lyZS1iZW5jaC1rZXktMQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n";
  if (proto) scratch_ += "Sec-WebSocket-Protocol: centrifuge-protobuf\r\n";
  if (plan_.deflate)
    scratch_ += "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n";
  scratch_ += "\r\n";
  if (plan_.proto != wire::raw) {
    // connect + subscribes in one WebSocket message, as the JS SDK does.
    std::string cmds;
    std::string_view token =
        tokens_.empty() ? std::string_view() : tokens_[c.idx / plan_.total_threads];
    if (proto)
      proto_connect(cmds, 1, token);
    else
      json_connect(cmds, 1, token);
    uint16_t id = 2;
    if (plan_.subscribe) {
      for (const auto& ch : chans) {
        if (proto) {
          proto_subscribe(cmds, id++, ch);
        } else {
          cmds += '\n';
          json_subscribe(cmds, id++, ch);
        }
      }
    }
    c.replies_left = static_cast<uint16_t>(id - 1);
    ws::append_client_frame(scratch_, proto ? ws::opcode::binary : ws::opcode::text, cmds,
                            mask_key);
  }
  c.st = cstate::upgrading;
  c.http.clear();
  send(c, scratch_.data(), scratch_.size());
  if (c.wbuf.empty()) set_out(c, false);
}

void worker::on_readable(conn& c) {
  ssize_t n = ::read(c.fd, rbuf_.data(), rbuf_.size());
  if (n > 0) {
    now_us_ = now_us();
    bump(st_.bytes, static_cast<uint64_t>(n));
    uint64_t before = st_.messages.load(std::memory_order_relaxed);
    on_bytes(c, rbuf_.data(), static_cast<size_t>(n));
    if (st_.messages.load(std::memory_order_relaxed) != before)
      st_.last_msg_ns.store(now_us_ * 1000, std::memory_order_relaxed);
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (c.st != cstate::ready)
    return fail(c, n == 0 ? "closed by server" : "read", n == 0 ? 0 : errno);
  end(c, false);
}

void worker::on_bytes(conn& c, const char* p, size_t n) {
  if (c.st == cstate::upgrading) {
    size_t old = c.http.size();
    c.http.append(p, n);
    size_t e = c.http.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
    if (e == std::string::npos) {
      if (c.http.size() > max_http_head) fail(c, "upgrade response too long");
      return;
    }
    if (!c.http.starts_with("HTTP/1.1 101")) {
      std::string line = c.http.substr(0, c.http.find('\r'));
      return fail(c, line.c_str());
    }
    // Bytes after the head are frames; they sit in c.http, which is not touched below.
    size_t head = e + 4;
    std::string rest = c.http.substr(head);
    // The server may accept or decline the offer (Sec-WebSocket-Extensions in the head).
    c.rx.allow_compression(plan_.deflate &&
                           c.http.substr(0, head).find("permessage-deflate") != std::string::npos);
    c.http.clear();
    if (plan_.proto == wire::raw) {
      mark_ready(c);
    } else {
      c.st = cstate::handshaking;
    }
    if (rest.empty()) return;
    sink s{*this, c};
    if (!c.rx.feed(rest.data(), rest.size(), s)) c.doomed = true;
    return;
  }
  sink s{*this, c};
  if (!c.rx.feed(p, n, s)) {
    if (!c.doomed && errors_logged_++ < 5)
      std::fprintf(stderr, "gyre-bench: bad frame from server (error %d)\n",
                   static_cast<int>(c.rx.error()));
    c.doomed = true;
  }
}

void worker::on_data(conn& c, const char* p, size_t n) {
  if (c.rx.compressed()) return inflate_data(c, p, n, false);
  on_plain_data(c, p, n);
}

void worker::inflate_data(conn& c, const char* p, size_t n, bool end) {
  if (!c.inflate) {
    c.inflate.reset(new z_stream{});
    if (inflateInit2(c.inflate.get(), -15) != Z_OK) {
      c.doomed = true;
      return;
    }
  }
  z_stream& z = *c.inflate;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p));
  z.avail_in = static_cast<uInt>(n);
  thread_local char out[16384];
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(out);
    z.avail_out = sizeof out;
    int rc = inflate(&z, Z_SYNC_FLUSH);
    size_t got = sizeof out - z.avail_out;
    if (got) on_plain_data(c, out, got);
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
      c.doomed = true;
      return;
    }
    if (z.avail_in == 0 && z.avail_out != 0) break;
  }
  if (end) inflateReset(&z);
}

void worker::on_plain_data(conn& c, const char* p, size_t n) {
  switch (plan_.proto) {
    case wire::gyre_json:
      if (!c.lines.feed(p, n, [&](std::string_view line) { on_json_line(c, line); }))
        c.doomed = true;
      break;
    case wire::gyre_protobuf:
      if (!c.msgs.feed(p, n, [&](std::string_view m) { on_proto_message(c, m); })) c.doomed = true;
      break;
    case wire::raw:
      c.raw.feed(p, n);
      break;
  }
}

void worker::on_message_end(conn& c) {
  if (c.rx.compressed()) {
    static const char tail[4] = {0, 0, static_cast<char>(0xff), static_cast<char>(0xff)};
    inflate_data(c, tail, sizeof tail, true);
  }
  switch (plan_.proto) {
    case wire::gyre_json:
      c.lines.end_message([&](std::string_view line) { on_json_line(c, line); });
      break;
    case wire::gyre_protobuf:
      if (!c.msgs.end_message()) c.doomed = true;
      break;
    case wire::raw:
      on_push(c.raw.head());
      c.raw.reset();
      break;
  }
}

void worker::on_control(conn& c, ws_op op, std::string_view payload) {
  if (op == ws_op::ping) {
    bump(st_.pings);
    char frame[ws::max_client_header_size + ws::max_control_payload];
    size_t n = ws::write_client_frame(frame, ws::opcode::pong, payload, mask_key);
    send(c, frame, n);
    bump(st_.pongs);
  } else if (op == ws_op::close) {
    bump(st_.server_closes);
    uint64_t code =
        payload.size() >= 2
            ? (uint64_t{static_cast<uint8_t>(payload[0])} << 8 | static_cast<uint8_t>(payload[1]))
            : 1005;
    st_.last_close_code.store(code, std::memory_order_relaxed);
    c.doomed = true;
  }
}

void worker::on_json_line(conn& c, std::string_view line) {
  switch (classify_json_line(line)) {
    case msg_kind::push:
      return on_push(line);
    case msg_kind::ping:
      return on_ping(c);
    case msg_kind::reply: {
      reply_info ri;
      if (!parse_json_reply(line, ri)) {
        c.doomed = true;
        return;
      }
      return on_reply(c, ri);
    }
    case msg_kind::other:
      return;
  }
}

void worker::on_proto_message(conn& c, std::string_view msg) {
  switch (classify_proto_message(msg)) {
    case msg_kind::push:
      return on_push(msg);
    case msg_kind::ping:
      return on_ping(c);
    case msg_kind::reply: {
      reply_info ri;
      if (!parse_proto_reply(msg, ri)) {
        c.doomed = true;
        return;
      }
      return on_reply(c, ri);
    }
    case msg_kind::other:
      return;
  }
}

void worker::on_push(std::string_view msg) {
  bump(st_.messages);
  if (--sample_left_ != 0) return;
  sample_left_ = plan_.sample_every;
  uint64_t ts;
  if (!find_timestamp(msg, ts)) {
    bump(st_.bad_samples);
    return;
  }
  bump(st_.samples);
  st_.latency.record(now_us_ > ts ? now_us_ - ts : 0);
}

void worker::on_ping(conn& c) {
  bump(st_.pings);
  if (!c.pong) return;
  // Pong: an empty command ({} in JSON, a zero length in Protobuf).
  char frame[16];
  size_t n =
      plan_.proto == wire::gyre_protobuf
          ? ws::write_client_frame(frame, ws::opcode::binary, std::string_view("\0", 1), mask_key)
          : ws::write_client_frame(frame, ws::opcode::text, "{}", mask_key);
  send(c, frame, n);
  bump(st_.pongs);
}

void worker::on_reply(conn& c, const reply_info& ri) {
  bump(st_.replies);
  if (ri.error) {
    bump(st_.reply_errors);
    st_.last_error_code.store(ri.error_code, std::memory_order_relaxed);
  }
  if (c.st != cstate::handshaking) return;
  if (ri.error) {
    // Only mark it: the connection's reader is still running on this stack.
    if (errors_logged_++ < 5)
      std::fprintf(stderr, "gyre-bench: connection %u: %s error reply, code %u\n", c.idx,
                   ri.id == 1 ? "connect" : "subscribe", ri.error_code);
    c.doomed = true;
    return;
  }
  if (ri.id == 1) c.pong = ri.pong;
  if (c.replies_left > 0 && --c.replies_left == 0) mark_ready(c);
}

void worker::mark_ready(conn& c) {
  c.st = cstate::ready;
  --pending_;
  uint64_t now = now_ns();
  bump(st_.ready);
  bump(st_.open);
  st_.last_ready_ns.store(now, std::memory_order_relaxed);
  st_.connect.record((now - c.t_start_ns) / 1000);
}

void worker::send(conn& c, const char* data, size_t n) {
  if (c.fd < 0) return;
  if (!c.wbuf.empty()) {
    c.wbuf.append(data, n);
    return;
  }
  ssize_t w = ::send(c.fd, data, n, MSG_NOSIGNAL);
  if (w < 0) {
    if (errno != EAGAIN && errno != EINTR) {
      c.doomed = true;
      return;
    }
    w = 0;
  }
  if (static_cast<size_t>(w) < n) {
    c.wbuf.append(data + w, n - static_cast<size_t>(w));
    set_out(c, true);
  }
}

void worker::flush_writes(conn& c) {
  if (c.wbuf.empty()) return set_out(c, false);
  ssize_t w = ::send(c.fd, c.wbuf.data(), c.wbuf.size(), MSG_NOSIGNAL);
  if (w < 0) {
    if (errno != EAGAIN && errno != EINTR) c.doomed = true;
    return;
  }
  c.wbuf.erase(0, static_cast<size_t>(w));
  if (c.wbuf.empty()) set_out(c, false);
}

void worker::set_out(conn& c, bool on) {
  if (c.want_out == on || c.fd < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
  ev.data.u32 = static_cast<uint32_t>(&c - conns_.data());
  ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  c.want_out = on;
}

void worker::fail(conn& c, const char* why, int err) {
  if (errors_logged_++ < 5)
    std::fprintf(stderr, "gyre-bench: connection %u: %s%s%s\n", c.idx, why, err ? ": " : "",
                 err ? std::strerror(err) : "");
  c.doomed = false;
  end(c, false);
}

// Ends a connection. by_tool: the tool closes it on purpose (end of a round or run).
void worker::end(conn& c, bool by_tool) {
  if (c.fd >= 0) {
    if (by_tool) {
      // Abortive close: no TIME_WAIT on the tool's side, so rounds can reuse the ports.
      linger lg{1, 0};
      ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    ::close(c.fd);
  }
  c.fd = -1;
  if (c.st == cstate::ready) {
    st_.open.store(st_.open.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    if (!by_tool) {
      bump(st_.lost);
      if (ctl_.reconnect.load(std::memory_order_relaxed))
        reopen_.push_back(static_cast<uint32_t>(&c - conns_.data()));
    }
  } else if (c.st != cstate::idle) {
    --pending_;
    if (!by_tool) bump(st_.failed);
  }
  c.st = cstate::idle;
  c.doomed = false;
  c.want_out = false;
  c.pong = false;
  c.rx = server_frame_reader{};
  c.inflate.reset();
  c.lines.reset();
  c.msgs.reset();
  c.raw.reset();
  c.http.clear();
  c.wbuf.clear();
}

void worker::close_all() {
  for (conn& c : conns_)
    if (c.fd >= 0 || c.st != cstate::idle) end(c, true);
  pending_ = 0;
}

void worker::churn_due(uint64_t now) {
  if (!ctl_.churn.load(std::memory_order_relaxed)) {
    last_churn_ns_ = now;
    return;
  }
  churn_credit_ += static_cast<double>(now - last_churn_ns_) / 1e9 * plan_.churn_per_s *
                   static_cast<double>(conns_.size());
  last_churn_ns_ = now;
  // Random ready connections (a few tries each: some are reconnecting right now).
  for (int budget = 1000; churn_credit_ >= 1 && budget > 0; --budget) {
    churn_rng_ ^= churn_rng_ << 13;
    churn_rng_ ^= churn_rng_ >> 7;
    churn_rng_ ^= churn_rng_ << 17;
    conn& c = conns_[churn_rng_ % conns_.size()];
    if (c.st != cstate::ready || c.fd < 0) continue;
    churn_credit_ -= 1;
    char frame[16];
    const char bye[2] = {0x03, static_cast<char>(0xe8)};  // 1000, normal closure
    size_t n = ws::write_client_frame(frame, ws::opcode::close, std::string_view(bye, 2), mask_key);
    send(c, frame, n);
    ::close(c.fd);
    c.fd = -1;
    bump(st_.churned);
    // Reopened like a lost connection, but not counted as one.
    st_.open.store(st_.open.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    c.st = cstate::idle;
    end(c, true);
    reopen_.push_back(static_cast<uint32_t>(&c - conns_.data()));
  }
  if (churn_credit_ > 16) churn_credit_ = 16;  // never a burst after a stall
}

void worker::check_timeouts(uint64_t now) {
  const uint64_t limit = static_cast<uint64_t>(plan_.connect_timeout_s * 1e9);
  for (conn& c : conns_)
    if (c.st != cstate::idle && c.st != cstate::ready && now - c.t_start_ns > limit)
      fail(c, "timed out");
}

}  // namespace

int run_client_worker(const client_plan& plan, shared_area& area, uint32_t thread_index) {
  worker w(plan, area, thread_index);
  return w.run();
}

}  // namespace gyre::bench
