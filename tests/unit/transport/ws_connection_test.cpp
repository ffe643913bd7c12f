// ws_connection's flow control over a real socket pair (docs/design/flow-control.md): a
// read turn takes at most its budget and leaves the rest for a later pass of the poller;
// pings from a peer that never reads leave one pong queued, not one per ping; a peer that
// pipelines commands without reading is no longer read once its queue is over
// client.queue_max_size, and is disconnected with 3008 when it does not drain within
// websocket.write_timeout; a peer behind in a gyre_conflation namespace gets the latest
// publication once its socket drains (docs/design/conflation.md).
#include "transport/ws_connection.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <cerrno>
#include <memory>
#include <string>
#include <thread>

#include "broker/memory/memory_broker.hpp"
#include "broker/memory/memory_presence.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "hub/node.hpp"
#include "hub/shard.hpp"

namespace gyre {
namespace {

// A client frame (masked, as RFC 6455 requires from clients).
std::string client_frame(uint8_t opcode, std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  const size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xff));
  }
  const char key[4] = {0x11, 0x22, 0x33, 0x44};
  f.append(key, 4);
  for (size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  return f;
}

struct server_frame {
  uint8_t opcode;
  std::string payload;
};

// Splits what the server wrote (after its handshake) into frames.
std::vector<server_frame> server_frames(std::string_view bytes) {
  std::vector<server_frame> out;
  size_t pos = 0;
  while (pos + 2 <= bytes.size()) {
    uint8_t op = static_cast<uint8_t>(bytes[pos]) & 0x0f;
    uint64_t len = static_cast<uint8_t>(bytes[pos + 1]) & 0x7f;
    size_t hdr = 2;
    if (len == 126) {
      len = (static_cast<uint8_t>(bytes[pos + 2]) << 8) | static_cast<uint8_t>(bytes[pos + 3]);
      hdr = 4;
    } else if (len == 127) {
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<uint8_t>(bytes[pos + 2 + i]);
      hdr = 10;
    }
    if (pos + hdr + len > bytes.size()) break;
    out.push_back({op, std::string(bytes.substr(pos + hdr, len))});
    pos += hdr + len;
  }
  return out;
}

class ws_connection_test : public ::testing::Test {
 protected:
  void start(config::config c) {
    c.client_.insecure_ = true;
    cfg_ = std::make_shared<const config::config>(std::move(c));
    broker_ = std::make_unique<memory_broker>(clock_);
    presence_ = std::make_unique<memory_presence>();
    node_ = std::make_unique<node>(cfg_, *broker_, *presence_, clock_, registry_, 1);
    loop().set_loop_thread(std::this_thread::get_id());
    broker_->start(*node_);
    poller_ = std::make_unique<poller>(io_);
    poller_->set_after_batch([this] { loop().flush_dirty(); });
  }
  void TearDown() override {
    for (int fd : peers_) ::close(fd);
    poller_.reset();  // deletes the connections still open
    if (broker_) broker_->stop();
  }

  shard& loop() { return node_->shard_at(0); }

  // A connection whose server side sends into a buffer of `server_sndbuf` bytes (0 = the
  // default); returns the peer's descriptor, with the server's handshake read.
  int open(int server_sndbuf = 0) {
    int fd[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd), 0);
    if (server_sndbuf)
      ::setsockopt(fd[0], SOL_SOCKET, SO_SNDBUF, &server_sndbuf, sizeof server_sndbuf);
    peers_.push_back(fd[1]);
    ws_connection::start(loop(), *poller_, fd[0], protocol::encoding::json, std::string(handshake),
                         "", {});
    io_.poll();
    io_.restart();
    std::string got = read_all(fd[1]);
    EXPECT_EQ(got, handshake);
    return fd[1];
  }

  // Writes `bytes` as far as the socket takes them, running the server in between; returns
  // how many were written (stops when the server no longer reads).
  size_t write_some(int fd, std::string_view bytes) {
    size_t done = 0;
    for (int idle = 0; done < bytes.size() && idle < 20;) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n > 0) {
        done += static_cast<size_t>(n);
        idle = 0;
      } else {
        ++idle;
      }
      io_.poll();
      io_.restart();
    }
    return done;
  }

  // Reads everything the server has written or writes while we read.
  std::string read_all(int fd) {
    std::string out;
    char buf[65536];
    for (int idle = 0; idle < 5;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        idle = 0;
      } else {
        ++idle;
      }
      io_.poll();
      io_.restart();
    }
    return out;
  }

  static constexpr std::string_view handshake = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
  boost::asio::io_context io_{1};
  manual_clock clock_;
  metrics::registry registry_;
  std::shared_ptr<const config::config> cfg_;
  std::unique_ptr<memory_broker> broker_;
  std::unique_ptr<memory_presence> presence_;
  std::unique_ptr<node> node_;
  std::unique_ptr<poller> poller_;
  std::vector<int> peers_;
};

TEST_F(ws_connection_test, a_read_turn_takes_one_budget_and_the_rest_waits_for_the_next_pass) {
  config::config c;
  c.gyre_.read_budget_bytes_ = 65536;
  start(c);
  const int peer = open();
  int big = 1 << 22;
  ::setsockopt(peer, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  // Pings with no payload: 6 bytes each, no reply that matters.
  std::string pings;
  for (int i = 0; i < 40000; ++i) pings += client_frame(0x9, "");
  size_t written = 0;
  for (int i = 0; i < 100 && written < pings.size(); ++i) {
    ssize_t n = ::write(peer, pings.data() + written, pings.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const size_t budget = 65536 + ws::max_client_header_size;
  ASSERT_GT(written, 2 * budget) << "the socket pair must hold more than two turns";
  const uint64_t before = loop().counters().bytes_received.load();
  io_.run_one();  // one pass of the poller: one turn of this connection
  io_.restart();
  EXPECT_LE(loop().counters().bytes_received.load() - before, budget);
  EXPECT_EQ(poller_->waiting_again(), 1u) << "input is left: the connection asked for another turn";
  for (int pass = 0; pass < 100 && loop().counters().bytes_received.load() - before < written;
       ++pass) {
    io_.run_one();
    io_.restart();
  }
  EXPECT_EQ(loop().counters().bytes_received.load() - before, written);
}

TEST_F(ws_connection_test, pings_from_a_peer_that_does_not_read_leave_one_pong_queued) {
  start(config::config{});
  const int peer = open(4096);
  std::string pings;
  const int count = 20000;
  for (int i = 0; i < count; ++i) pings += client_frame(0x9, std::to_string(i));
  ASSERT_EQ(write_some(peer, pings), pings.size());
  std::vector<server_frame> frames = server_frames(read_all(peer));
  size_t pongs = 0;
  std::string last;
  for (const auto& f : frames) {
    if (f.opcode != 0xA) continue;
    ++pongs;
    last = f.payload;
  }
  EXPECT_GE(pongs, 1u);
  EXPECT_LT(pongs, 200u) << "a pong per ping piled up while the peer did not read";
  EXPECT_EQ(last, std::to_string(count - 1)) << "the pong answers the latest ping";
}

TEST_F(ws_connection_test,
       a_peer_that_pipelines_commands_without_reading_is_held_then_closed_with_3008) {
  config::config c;
  c.client_.queue_max_size_ = 8192;
  c.websocket_.write_timeout_ = std::chrono::milliseconds(1000);
  start(c);
  const int peer = open(4096);
  const std::string connect = client_frame(0x1, R"({"connect":{},"id":1})");
  ASSERT_EQ(write_some(peer, connect), connect.size());
  std::string flood;
  for (int id = 2; id < 20000; id += 50) {
    std::string batch;
    for (int k = id; k < id + 50; ++k) {
      if (!batch.empty()) batch += '\n';
      batch += R"({"unsubscribe":{"channel":"x"},"id":)" + std::to_string(k) + "}";
    }
    flood += client_frame(0x1, batch);
  }
  const size_t taken = write_some(peer, flood);
  // The server stopped reading: the rest stays with the peer (TCP would block it).
  EXPECT_LT(taken, flood.size());
  EXPECT_EQ(loop().held_count(), 1u);
  EXPECT_EQ(loop().counters().read_holds.load(), 1u);
  loop().tick(loop().now_ms() + 500);
  EXPECT_EQ(loop().held_count(), 1u) << "still within websocket.write_timeout";
  loop().tick(loop().now_ms() + 750);
  EXPECT_EQ(loop().held_count(), 0u);
  std::vector<server_frame> frames = server_frames(read_all(peer));
  ASSERT_FALSE(frames.empty());
  const server_frame& close = frames.back();
  ASSERT_EQ(close.opcode, 0x8);
  ASSERT_GE(close.payload.size(), 2u);
  EXPECT_EQ((static_cast<uint8_t>(close.payload[0]) << 8) | static_cast<uint8_t>(close.payload[1]),
            3008);
}

TEST_F(ws_connection_test,
       a_peer_behind_in_a_conflation_namespace_gets_the_latest_publication_once_it_reads) {
  config::config c;
  c.client_.queue_max_size_ = 8192;
  auto& ns = c.channel_.without_namespace_;
  ns.history_size_ = 10;
  ns.history_ttl_ = std::chrono::seconds(300);
  ns.gyre_conflation_ = true;
  start(c);
  const int peer = open(4096);
  const std::string hello = client_frame(0x1, R"({"connect":{},"id":1})"
                                              "\n"
                                              R"({"subscribe":{"channel":"c"},"id":2})");
  ASSERT_EQ(write_some(peer, hello), hello.size());
  const auto opts = node_->publish_options_for(ns, *cfg_);
  const int count = 3000;
  for (int i = 1; i <= count; ++i) {
    publication p;
    p.data = R"({"n":)" + std::to_string(i) + R"(,"pad":")" + std::string(100, 'p') + R"("})";
    broker_->publish("c", std::move(p), opts, [](result<publish_outcome>) {});
    if (i % 50 == 0) {
      loop().drain_inbox();
      io_.poll();
      io_.restart();
    }
  }
  loop().drain_inbox();
  EXPECT_GT(loop().counters().conflated.load(), 0u) << "the peer did not read: it fell behind";
  EXPECT_EQ(loop().counters().conflating.load(), 1);
  // The peer reads: the socket drains, and the held publication follows what was queued.
  std::string all;
  for (const auto& f : server_frames(read_all(peer))) {
    EXPECT_NE(f.opcode, 0x8) << "no close frame: " << f.payload;
    all += f.payload;
  }
  const size_t last = all.rfind(R"("offset":)");
  ASSERT_NE(last, std::string::npos);
  const std::string top = R"("offset":)" + std::to_string(count) + "}";
  EXPECT_EQ(all.substr(last, top.size()), top) << all.substr(last, 40);
  EXPECT_EQ(loop().counters().conflating.load(), 0) << "caught up";
}

}  // namespace
}  // namespace gyre
