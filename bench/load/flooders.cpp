// flooders: the abusive peers of the soak scenario; see flooders.hpp.
#include "load/flooders.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "load/message_scan.hpp"
#include "load/proc_stats.hpp"
#include "transport/ws_frame.hpp"

namespace gyre::bench {

namespace {

constexpr ws::masking_key flood_mask = {0x0f, 0x1e, 0x2d, 0x3c};
constexpr double tick_s = 0.01;  // the paced flooders send one block per tick

// A client that never reads cannot see the server's pings, and a pong the server did not
// ask for ends the connection (bad request). The server's first ping comes at a random
// point of the second half of the first client.ping_interval (25 s by default), then one
// every interval, each to be answered within client.pong_timeout (8 s). A blind pong at
// interval + 4 s, then every interval, therefore matches the server's pings on about one
// connection in three; that one stays in step for many intervals (the server's timer
// wheel makes its pings drift later by at most a tick each). On the others the server
// ends the connection within ~30 s and the flooder connects again, so within a few
// minutes each flooder holds one long-lived connection.
struct blind_pong {
  uint64_t next_ns;
  uint64_t interval_ns;
  explicit blind_pong(double interval_s)
      : next_ns(now_ns() + static_cast<uint64_t>((interval_s + 4) * 1e9)),
        interval_ns(static_cast<uint64_t>(interval_s * 1e9)) {}
  bool due() {
    if (now_ns() < next_ns) return false;
    next_ns += interval_ns;
    return true;
  }
};

// A blocking socket whose every send and receive gives up after `timeout_ms`. A small
// receive buffer makes a non-reading peer's backlog sit in the server, not in our kernel.
int dial_bounded(in_addr dst, uint16_t port, int rcvbuf, int timeout_ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr = dst;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads until the end of an HTTP head (bounded by size and the socket's timeout).
// Returns the head, or "" if the connection ended or timed out first.
std::string read_head(int fd) {
  std::string head;
  char buf[4096];
  while (head.size() < 16384) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return {};
    head.append(buf, static_cast<size_t>(n));
    if (head.find("\r\n\r\n") != std::string::npos) return head;
  }
  return {};
}

// A paced sender on a socket the server may stop reading: hands `block` to the kernel once
// per tick without waiting (what the kernel does not take waits in `out`, so frames are
// never cut). Returns false when the connection is gone.
struct paced_sender {
  int fd;
  std::string out;
  bool tick(const std::string& block, size_t& whole_blocks) {
    if (out.size() < 4 * block.size()) {
      out += block;
      ++whole_blocks;
    }
    ssize_t w = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    out.erase(0, static_cast<size_t>(w));
    return true;
  }
};

}  // namespace

bool flooders::pause(double seconds) const {
  uint64_t until = now_ns() + static_cast<uint64_t>(seconds * 1e9);
  while (!stop_.load(std::memory_order_relaxed)) {
    uint64_t now = now_ns();
    if (now >= until) return true;
    std::this_thread::sleep_for(
        std::chrono::nanoseconds(std::min<uint64_t>(until - now, 100'000'000)));
  }
  return false;
}

int flooders::open_ws(const std::string& first_message) {
  int fd = dial_bounded(o_.dst, o_.port, 4096, 1000);
  if (fd < 0) return -1;
  std::string r = "GET " + o_.ws_path + " HTTP/1.1\r\nHost: " + o_.host_header +
                  "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                  "Z3lyZS1mbG9vZGVyLTAxMg==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (!first_message.empty())
    ws::append_client_frame(r, ws::opcode::text, first_message, flood_mask);
  if (!send_all(fd, r.data(), r.size()) || !read_head(fd).starts_with("HTTP/1.1 101")) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void flooders::ping_loop() {
  // Pings with a 16-byte payload: the server owes a pong of the same size for each. The
  // flooder connects (an unconnected socket is closed as stale within seconds) and sends
  // blind pongs (see blind_pong), so only the server's own limits should end it.
  const size_t per_tick = std::max<size_t>(1, static_cast<size_t>(o_.ping_rate * tick_s));
  std::string block, keepalive;
  for (size_t i = 0; i < per_tick; ++i)
    ws::append_client_frame(block, ws::opcode::ping, "ping-flood-01234", flood_mask);
  keepalive = block;
  ws::append_client_frame(keepalive, ws::opcode::text, "{}", flood_mask);
  while (!stop_) {
    std::string connect;
    json_connect(connect, 1, {});
    int fd = open_ws(connect);
    if (fd < 0) {
      if (!pause(1)) return;
      continue;
    }
    paced_sender s{fd, {}};
    size_t blocks = 0;
    uint64_t next = now_ns();
    blind_pong pong(o_.ping_interval_s);
    while (!stop_) {
      size_t before = blocks;
      if (!s.tick(pong.due() ? keepalive : block, blocks)) break;
      pings_ += (blocks - before) * per_tick;
      next += static_cast<uint64_t>(tick_s * 1e9);
      uint64_t now = now_ns();
      if (next > now)
        std::this_thread::sleep_for(std::chrono::nanoseconds(next - now));
      else if (now - next > 1'000'000'000)
        next = now;
    }
    ::close(fd);
    ++ping_reconnects_;
    if (!pause(1)) return;
  }
}

void flooders::command_loop() {
  const size_t per_tick = std::max<size_t>(1, static_cast<size_t>(o_.command_rate * tick_s));
  uint32_t id = 2;
  while (!stop_) {
    std::string connect;
    json_connect(connect, 1, {});
    int fd = open_ws(connect);
    if (fd < 0) {
      if (!pause(1)) return;
      continue;
    }
    paced_sender s{fd, {}};
    size_t blocks = 0;
    uint64_t next = now_ns();
    std::string cmds, block;
    blind_pong pong(o_.ping_interval_s);
    while (!stop_) {
      // Fresh ids per block; several commands per frame, as an SDK batches them; the
      // blind pong ahead of them when due.
      cmds.clear();
      if (pong.due()) cmds += "{}\n";
      for (size_t i = 0; i < per_tick; ++i) {
        if (i) cmds += '\n';
        cmds += "{\"id\":" + std::to_string(id++) + ",\"history\":{\"channel\":\"" +
                o_.history_channel + "\",\"limit\":" + std::to_string(o_.history_limit) + "}}";
      }
      block.clear();
      ws::append_client_frame(block, ws::opcode::text, cmds, flood_mask);
      size_t before = blocks;
      if (!s.tick(block, blocks)) break;
      commands_ += (blocks - before) * per_tick;
      next += static_cast<uint64_t>(tick_s * 1e9);
      uint64_t now = now_ns();
      if (next > now)
        std::this_thread::sleep_for(std::chrono::nanoseconds(next - now));
      else if (now - next > 1'000'000'000)
        next = now;
    }
    ::close(fd);
    ++command_reconnects_;
    if (!pause(1)) return;
  }
}

void flooders::api_loop(bool wrong_key) {
  // wrong_key: 1 MB bodies under a wrong key, at api_rate; otherwise the right key and a
  // body over the server's limit, at a tenth of that. One request per connection.
  const size_t size = wrong_key ? o_.api_wrong_key_body : o_.api_big_body;
  const double rate = wrong_key ? o_.api_rate : o_.api_rate / 10;
  if (rate <= 0) return;
  std::string chunk(64 * 1024, 'x');
  const std::string head = "POST " + o_.api_path + "/publish HTTP/1.1\r\nHost: " + o_.host_header +
                           "\r\nContent-Type: application/json\r\nAuthorization: apikey " +
                           (wrong_key ? std::string("wrong-key") : o_.api_key) +
                           "\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
  const std::string open_body = "{\"channel\":\"flood\",\"data\":\"";
  uint64_t next = now_ns();
  while (!stop_) {
    next += static_cast<uint64_t>(1e9 / rate);
    uint64_t now = now_ns();
    if (next > now) {
      if (!pause(static_cast<double>(next - now) / 1e9)) return;
    } else if (now - next > 5'000'000'000ull) {
      next = now;
    }
    int fd = dial_bounded(o_.dst, o_.port, 0, 2000);
    if (fd < 0) {
      ++api_reconnects_;
      continue;
    }
    // The body: a string value of x's, cut at `size` (it need not be valid JSON: a server
    // that checks the key or the length first never looks at it). A server that answers
    // early and closes makes a send fail; the answer is read either way.
    bool sent = send_all(fd, head.data(), head.size()) &&
                send_all(fd, open_body.data(), std::min(open_body.size(), size));
    for (size_t left = size > open_body.size() ? size - open_body.size() : 0;
         sent && left > 0 && !stop_;) {
      size_t n = std::min(left, chunk.size());
      sent = send_all(fd, chunk.data(), n);
      left -= n;
    }
    std::string answer = read_head(fd);
    ++api_requests_;
    if (answer.starts_with("HTTP/1.1 4") || answer.starts_with("HTTP/1.1 5")) ++api_refused_;
    ::close(fd);
  }
}

void flooders::slow_loop() {
  std::vector<char> buf(std::max<size_t>(1, o_.slow_read_bytes));
  while (!stop_) {
    std::string cmds;
    json_connect(cmds, 1, {});
    cmds += '\n';
    json_subscribe(cmds, 2, o_.slow_channel);
    int fd = open_ws(cmds);
    if (fd < 0) {
      if (!pause(1)) return;
      continue;
    }
    while (!stop_) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;
      if (n > 0) slow_bytes_ += static_cast<uint64_t>(n);
      if (!pause(0.1)) break;
    }
    ::close(fd);
    ++slow_reconnects_;
    if (!pause(1)) return;
  }
}

void flooders::start() {
  stop_ = false;
  if (o_.ping_rate > 0) threads_.emplace_back([this] { ping_loop(); });
  if (o_.command_rate > 0 && !o_.history_channel.empty())
    threads_.emplace_back([this] { command_loop(); });
  if (o_.api_rate > 0) {
    threads_.emplace_back([this] { api_loop(true); });
    threads_.emplace_back([this] { api_loop(false); });
  }
  if (!o_.slow_channel.empty()) threads_.emplace_back([this] { slow_loop(); });
}

void flooders::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

flood_counts flooders::counts() const {
  flood_counts c;
  c.pings = pings_;
  c.commands = commands_;
  c.api_requests = api_requests_;
  c.api_refused = api_refused_;
  c.slow_bytes = slow_bytes_;
  c.ping_reconnects = ping_reconnects_;
  c.command_reconnects = command_reconnects_;
  c.api_reconnects = api_reconnects_;
  c.slow_reconnects = slow_reconnects_;
  return c;
}

}  // namespace gyre::bench
