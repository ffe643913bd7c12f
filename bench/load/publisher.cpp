// publisher: paced publishing over HTTP or a client connection; see publisher.hpp.
#include "load/publisher.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "load/message_scan.hpp"
#include "load/proc_stats.hpp"
#include "load/server_frames.hpp"
#include "transport/ws_frame.hpp"

namespace gyre::bench {

namespace {

constexpr ws::masking_key mask_key = {0x21, 0x43, 0x65, 0x07};

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Blocking connect with a timeout, then non-blocking. Returns the fd or -1 (errno set).
int dial(in_addr dst, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr = dst;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 5000) != 1) {
      ::close(fd);
      errno = ETIMEDOUT;
      return -1;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      ::close(fd);
      errno = err;
      return -1;
    }
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Writes everything, waiting for writability when needed (requests are small).
bool write_all(int fd, const char* p, size_t n) {
  for (int spins = 0; n > 0 && spins < 100000; ++spins) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) return false;
    pollfd pf{fd, POLLOUT, 0};
    if (::poll(&pf, 1, 5000) != 1) return false;
  }
  return n == 0;
}

}  // namespace

long parse_http_response(std::string_view in, int& status, std::string_view& body, bool& close) {
  size_t he = in.find("\r\n\r\n");
  if (he == std::string_view::npos) return in.size() > 64 * 1024 ? -1 : 0;
  if (!in.starts_with("HTTP/1.") || in.size() < 12) return -1;
  status = std::atoi(std::string(in.substr(9, 3)).c_str());
  close = in.starts_with("HTTP/1.0");
  long content_length = -1;
  bool chunked = false;
  size_t pos = in.find("\r\n") + 2;
  while (pos < he) {
    size_t eol = in.find("\r\n", pos);
    std::string_view line = in.substr(pos, eol - pos);
    pos = eol + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals_prefix(line, "content-length:")) {
      content_length = std::atol(std::string(value).c_str());
    } else if (iequals_prefix(line, "transfer-encoding:")) {
      chunked = value.find("chunked") != std::string_view::npos;
    } else if (iequals_prefix(line, "connection:")) {
      if (iequals_prefix(value, "close")) close = true;
      if (iequals_prefix(value, "keep-alive")) close = false;
    }
  }
  size_t start = he + 4;
  if (chunked) {
    size_t p = start;
    for (int chunks = 0; chunks < 100000; ++chunks) {
      size_t eol = in.find("\r\n", p);
      if (eol == std::string_view::npos) return 0;
      unsigned long sz = std::strtoul(std::string(in.substr(p, eol - p)).c_str(), nullptr, 16);
      p = eol + 2;
      if (sz == 0) {
        size_t end = in.find("\r\n", p);  // no trailers expected: an empty line ends it
        if (end == std::string_view::npos) return 0;
        body = in.substr(start, p - start);
        return static_cast<long>(end + 2);
      }
      if (in.size() < p + sz + 2) return 0;
      p += sz + 2;
    }
    return -1;
  }
  if (content_length < 0) content_length = 0;  // publish responses always carry a length
  if (in.size() < start + static_cast<size_t>(content_length)) return 0;
  body = in.substr(start, static_cast<size_t>(content_length));
  return static_cast<long>(start + static_cast<size_t>(content_length));
}

size_t scan_batch_replies(std::string_view body, bool* ok, size_t n) {
  size_t found = 0, pos = 0;
  while (found < n) {
    size_t a = body.find("{\"publish\":", pos);
    size_t b = body.find("{\"error\":", pos);
    if (a == std::string_view::npos && b == std::string_view::npos) break;
    if (a < b) {
      ok[found++] = true;
      pos = a + 1;
    } else {
      ok[found++] = false;
      // Skip the error object so its fields are not read as replies.
      size_t close = body.find('}', b);
      pos = close == std::string_view::npos ? body.size() : close + 1;
    }
  }
  return found;
}

struct publisher::impl {
  pub_options o;
  int ep = -1;
  uint64_t seq = 0;
  std::string payload, body, req, chan;

  struct hconn {
    int fd = -1;
    bool busy = false;
    std::string in;
    std::vector<uint64_t> expected;  // per publication of the request in flight
    uint64_t sent_ns = 0;
  };
  std::vector<hconn> hc;

  // ws mode
  struct ws_state {
    int fd = -1;
    server_frame_reader rx;
    json_line_splitter lines;
    varint_splitter msgs;
    uint32_t next_id = 2;
    bool pong = false;
    std::unordered_map<uint32_t, std::pair<uint64_t, uint64_t>>
        inflight;  // id -> expected, sent_ns
    std::string wbuf;
  } ws;

  std::string open_http(hconn& c) {
    c.fd = dial(o.dst, o.port);
    if (c.fd < 0) return std::string("connect: ") + std::strerror(errno);
    c.busy = false;
    c.in.clear();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = &c;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    return {};
  }

  std::string open_ws() {
    ws.fd = dial(o.dst, o.port);
    if (ws.fd < 0) return std::string("connect: ") + std::strerror(errno);
    std::string r = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host_header +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                    "Z3lyZS1iZW5jaC1wdWItMQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n";
    if (o.protobuf) r += "Sec-WebSocket-Protocol: centrifuge-protobuf\r\n";
    r += "\r\n";
    std::string cmd;
    if (o.protobuf)
      proto_connect(cmd, 1, o.token);
    else
      json_connect(cmd, 1, o.token);
    ws::append_client_frame(r, o.protobuf ? ws::opcode::binary : ws::opcode::text, cmd, mask_key);
    if (!write_all(ws.fd, r.data(), r.size())) return "write failed";
    // Read the 101 and the connect reply (bounded: 5 s).
    std::string head;
    char buf[8192];
    bool connected = false, failed = false;
    uint64_t deadline = now_ns() + 5'000'000'000ull;
    while (!connected && !failed && now_ns() < deadline) {
      pollfd p{ws.fd, POLLIN, 0};
      if (::poll(&p, 1, 500) != 1) continue;
      ssize_t n = ::read(ws.fd, buf, sizeof buf);
      if (n <= 0) return "connection closed during the handshake";
      std::string_view frames;
      std::string rest;
      if (head.find("\r\n\r\n") == std::string::npos) {
        head.append(buf, static_cast<size_t>(n));
        size_t e = head.find("\r\n\r\n");
        if (e == std::string::npos) continue;
        if (!head.starts_with("HTTP/1.1 101"))
          return "upgrade refused: " + head.substr(0, head.find('\r'));
        rest = head.substr(e + 4);
        frames = rest;
      } else {
        frames = std::string_view(buf, static_cast<size_t>(n));
      }
      feed_ws(frames, [&](const reply_info& ri) {
        if (ri.id == 1) {
          if (ri.error)
            failed = true;
          else
            connected = true;
          ws.pong = ri.pong;
        }
      });
    }
    if (!connected) return "no connect reply (or an error reply)";
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = &ws;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, ws.fd, &ev);
    return {};
  }

  // Feeds server frames; calls on_reply for every reply, answers pings.
  template <typename F>
  bool feed_ws(std::string_view bytes, F&& on_reply) {
    struct sink {
      impl& s;
      F& f;
      void on_data(const char* p, size_t n) {
        if (s.o.protobuf)
          s.ws.msgs.feed(p, n, [&](std::string_view m) { s.on_ws_message(m, false, f); });
        else
          s.ws.lines.feed(p, n, [&](std::string_view l) { s.on_ws_message(l, true, f); });
      }
      void on_message_end() {
        if (!s.o.protobuf)
          s.ws.lines.end_message([&](std::string_view l) { s.on_ws_message(l, true, f); });
      }
      void on_control(ws_op op, std::string_view payload) {
        if (op == ws_op::ping) {
          char frame[ws::max_client_header_size + ws::max_control_payload];
          size_t n = ws::write_client_frame(frame, ws::opcode::pong, payload, mask_key);
          s.ws.wbuf.append(frame, n);
        }
      }
    } sk{*this, on_reply};
    return ws.rx.feed(bytes.data(), bytes.size(), sk);
  }

  template <typename F>
  void on_ws_message(std::string_view m, bool json, F& on_reply) {
    msg_kind k = json ? classify_json_line(m) : classify_proto_message(m);
    if (k == msg_kind::ping) {
      if (ws.pong) {
        char frame[16];
        size_t n = json ? ws::write_client_frame(frame, ws::opcode::text, "{}", mask_key)
                        : ws::write_client_frame(frame, ws::opcode::binary,
                                                 std::string_view("\0", 1), mask_key);
        ws.wbuf.append(frame, n);
      }
      return;
    }
    if (k != msg_kind::reply) return;
    reply_info ri;
    if (json ? parse_json_reply(m, ri) : parse_proto_reply(m, ri)) on_reply(ri);
  }

  // ---- sending ----

  void build_http(uint64_t now_us_v, const channel_picker& pick, hconn& c) {
    c.expected.clear();
    body.clear();
    std::string target;
    if (o.via == pub_via::batch) body += "{\"commands\":[";
    uint32_t n = o.via == pub_via::batch ? o.batch : 1;
    for (uint32_t i = 0; i < n; ++i) {
      uint64_t exp = 0;
      pick(seq, chan, exp);
      make_payload(payload, now_us_v, seq, o.payload_size);
      ++seq;
      c.expected.push_back(exp);
      switch (o.via) {
        case pub_via::api:
          body += "{\"channel\":\"" + chan + "\",\"data\":" + payload + "}";
          target = o.path + "/publish";
          break;
        case pub_via::batch:
          if (i) body += ',';
          body += "{\"publish\":{\"channel\":\"" + chan + "\",\"data\":" + payload + "}}";
          target = o.path + "/batch";
          break;
        case pub_via::nchan: {
          body = payload;
          target = o.path;
          if (size_t k = target.find("{channel}"); k != std::string::npos)
            target.replace(k, 9, chan);
          break;
        }
        case pub_via::ws:
          break;
      }
    }
    if (o.via == pub_via::batch) body += "]}";
    req = "POST " + target + " HTTP/1.1\r\nHost: " + o.host_header +
          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n";
    if (!o.api_key.empty() && o.via != pub_via::nchan)
      req += "Authorization: apikey " + o.api_key + "\r\n";
    req += "\r\n";
    req += body;
  }

  bool any_free_http() const {
    for (const auto& c : hc)
      if (c.fd >= 0 && !c.busy) return true;
    return false;
  }

  // Returns false when the connection failed (its publications count as failed).
  bool on_http_readable(hconn& c, pub_result& r) {
    char buf[65536];
    for (int reads = 0; reads < 64; ++reads) {
      ssize_t n = ::read(c.fd, buf, sizeof buf);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      return false;  // closed
    }
    for (;;) {
      int status = 0;
      std::string_view body_v;
      bool close_after = false;
      long used = parse_http_response(c.in, status, body_v, close_after);
      if (used == 0) return true;
      if (used < 0 || !c.busy) {
        r.last_error = "malformed HTTP response";
        return false;
      }
      uint64_t now = now_ns();
      r.request_us.record((now - c.sent_ns) / 1000);
      r.last_done_ns = now;
      size_t npubs = c.expected.size();
      if (o.via == pub_via::batch) {
        std::unique_ptr<bool[]> okv(new bool[npubs]());
        bool* okp = okv.get();
        size_t found = status == 200 ? scan_batch_replies(body_v, okp, npubs) : 0;
        for (size_t i = 0; i < npubs; ++i) {
          if (i < found && okp[i]) {
            ++r.ok;
            r.expected += c.expected[i];
          } else {
            ++r.failed;
          }
        }
        if (found < npubs || status != 200)
          r.last_error = "batch: " + std::string(body_v.substr(0, 200));
      } else {
        bool ok = o.via == pub_via::nchan
                      ? (status >= 200 && status < 300)
                      : (status == 200 && body_v.find("\"error\"") == std::string_view::npos);
        if (ok) {
          ++r.ok;
          r.expected += c.expected[0];
        } else {
          ++r.failed;
          r.last_error =
              "HTTP " + std::to_string(status) + ": " + std::string(body_v.substr(0, 200));
        }
      }
      c.in.erase(0, static_cast<size_t>(used));
      c.busy = false;
      c.expected.clear();
      if (close_after) return false;
    }
  }

  void drop_http(hconn& c, pub_result& r, bool reopen) {
    if (c.busy) r.failed += c.expected.size();
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.busy = false;
    c.expected.clear();
    c.in.clear();
    if (reopen) {
      std::string e = open_http(c);
      if (!e.empty()) r.last_error = e;
    }
  }

  void send_ws(uint64_t now_us_v, const channel_picker& pick, pub_result& r) {
    std::string cmds;
    uint64_t now = now_ns();
    for (uint32_t i = 0; i < o.batch; ++i) {
      uint64_t exp = 0;
      pick(seq, chan, exp);
      make_payload(payload, now_us_v, seq, o.payload_size);
      ++seq;
      uint32_t id = ws.next_id++;
      if (o.protobuf) {
        proto_publish(cmds, id, chan, payload);
      } else {
        if (i) cmds += '\n';
        json_publish(cmds, id, chan, payload);
      }
      ws.inflight.emplace(id, std::make_pair(exp, now));
      ++r.sent;
    }
    ws::append_client_frame(ws.wbuf, o.protobuf ? ws::opcode::binary : ws::opcode::text, cmds,
                            mask_key);
    flush_ws();
  }

  void flush_ws() {
    if (ws.wbuf.empty() || ws.fd < 0) return;
    if (!write_all(ws.fd, ws.wbuf.data(), ws.wbuf.size())) {
      ::close(ws.fd);
      ws.fd = -1;
    }
    ws.wbuf.clear();
  }

  bool on_ws_readable(pub_result& r) {
    char buf[65536];
    for (int reads = 0; reads < 64; ++reads) {
      ssize_t n = ::read(ws.fd, buf, sizeof buf);
      if (n > 0) {
        uint64_t now = now_ns();
        bool okf =
            feed_ws(std::string_view(buf, static_cast<size_t>(n)), [&](const reply_info& ri) {
              auto it = ws.inflight.find(ri.id);
              if (it == ws.inflight.end()) return;
              r.request_us.record((now - it->second.second) / 1000);
              r.last_done_ns = now;
              if (ri.error) {
                ++r.failed;
                r.last_error = "publish error reply, code " + std::to_string(ri.error_code);
              } else {
                ++r.ok;
                r.expected += it->second.first;
              }
              ws.inflight.erase(it);
            });
        if (!okf) return false;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      return false;
    }
    flush_ws();  // pongs
    return ws.fd >= 0;
  }
};

publisher::publisher(pub_options o) : impl_(std::make_unique<impl>()) {
  impl_->o = std::move(o);
}

publisher::~publisher() {
  close();
}

std::string publisher::open() {
  impl& s = *impl_;
  s.ep = epoll_create1(EPOLL_CLOEXEC);
  if (s.ep < 0) return "epoll_create1 failed";
  if (s.o.via == pub_via::ws) return s.open_ws();
  s.hc.resize(std::max<uint32_t>(1, s.o.conns));
  for (auto& c : s.hc) {
    std::string e = s.open_http(c);
    if (!e.empty()) return e;
  }
  return {};
}

void publisher::close() {
  impl& s = *impl_;
  for (auto& c : s.hc)
    if (c.fd >= 0) {
      ::close(c.fd);
      c.fd = -1;
    }
  if (s.ws.fd >= 0) {
    ::close(s.ws.fd);
    s.ws.fd = -1;
  }
  if (s.ep >= 0) {
    ::close(s.ep);
    s.ep = -1;
  }
}

pub_result publisher::run(double rate, double seconds, const channel_picker& pick, double drain_s) {
  impl& s = *impl_;
  pub_result r;
  const bool ws_mode = s.o.via == pub_via::ws;
  const uint32_t per_send =
      (s.o.via == pub_via::batch || ws_mode) ? std::max<uint32_t>(1, s.o.batch) : 1;
  const uint64_t interval = rate > 0 ? static_cast<uint64_t>(1e9 * per_send / rate) : 0;
  const uint64_t t0 = now_ns();
  const uint64_t end = t0 + static_cast<uint64_t>(seconds * 1e9);
  const uint64_t hard_end = end + static_cast<uint64_t>(drain_s * 1e9);
  uint64_t k = 0;
  epoll_event evs[64];
  size_t rr = 0;  // round-robin start among HTTP connections
  for (;;) {
    uint64_t now = now_ns();
    if (now >= hard_end) break;
    const bool sending = now < end;
    // Send everything due, as far as free connections allow.
    while (sending) {
      uint64_t due = t0 + k * interval;
      if (interval && due > now) break;
      bool sent = false;
      if (ws_mode) {
        if (s.ws.fd < 0 || s.ws.inflight.size() + per_send > s.o.window) break;
        if (interval) r.max_behind_us = std::max(r.max_behind_us, (now - due) / 1000);
        s.send_ws(now / 1000, pick, r);
        sent = true;
      } else {
        for (size_t i = 0; i < s.hc.size(); ++i) {
          auto& c = s.hc[(rr + i) % s.hc.size()];
          if (c.fd < 0 || c.busy) continue;
          if (interval) r.max_behind_us = std::max(r.max_behind_us, (now - due) / 1000);
          s.build_http(now_ns() / 1000, pick, c);
          c.sent_ns = now_ns();
          c.busy = true;
          r.sent += c.expected.size();
          if (!write_all(c.fd, s.req.data(), s.req.size())) {
            s.drop_http(c, r, true);
          }
          rr = (rr + i + 1) % s.hc.size();
          sent = true;
          break;
        }
      }
      if (!sent) break;
      ++r.requests;
      if (!r.first_send_ns) r.first_send_ns = now;
      r.last_send_ns = now_ns();
      ++k;
      now = now_ns();
    }
    bool busy = ws_mode ? !s.ws.inflight.empty()
                        : !std::all_of(s.hc.begin(), s.hc.end(), [](auto& c) { return !c.busy; });
    if (!sending && !busy) break;
    if (!ws_mode && std::none_of(s.hc.begin(), s.hc.end(), [](auto& c) { return c.fd >= 0; })) {
      r.last_error = "every publisher connection failed";
      break;
    }
    if (ws_mode && s.ws.fd < 0) {
      r.last_error = "publisher connection lost";
      break;
    }
    // Sleep until the next send is due or an answer arrives.
    uint64_t wait_ns = 20'000'000;
    if (sending && interval) {
      uint64_t due = t0 + k * interval;
      uint64_t t = now_ns();
      wait_ns = due > t ? std::min<uint64_t>(due - t, wait_ns) : 0;
    }
    timespec ts{static_cast<time_t>(wait_ns / 1'000'000'000),
                static_cast<long>(wait_ns % 1'000'000'000)};
    int n = epoll_pwait2(s.ep, evs, 64, &ts, nullptr);
    for (int i = 0; i < n; ++i) {
      if (ws_mode) {
        if (!s.on_ws_readable(r)) {
          if (s.ws.fd >= 0) ::close(s.ws.fd);
          s.ws.fd = -1;
        }
      } else {
        auto* c = static_cast<impl::hconn*>(evs[i].data.ptr);
        if (c->fd >= 0 && !s.on_http_readable(*c, r)) s.drop_http(*c, r, true);
      }
    }
  }
  // Whatever is still unanswered failed.
  if (ws_mode) {
    r.failed += s.ws.inflight.size();
    s.ws.inflight.clear();
  } else {
    for (auto& c : s.hc)
      if (c.busy) s.drop_http(c, r, true);
  }
  return r;
}

}  // namespace gyre::bench
