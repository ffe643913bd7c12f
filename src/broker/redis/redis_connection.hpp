// redis_connection: one non-blocking connection to one Redis server (TCP, unix socket or
// TLS), owned by an engine's I/O thread.
//
// What it does:
// - Pipelining: send() may be called from any thread; commands are queued under a mutex
//   and the I/O thread writes everything queued in ONE write, so the round trip is paid
//   per batch. Replies are matched to callbacks in FIFO order.
// - Handshake on every (re)connect: AUTH, SELECT, CLIENT SETNAME, optional ROLE check
//   (sentinel: must be a master) and the `setup` commands (SCRIPT LOAD). User commands
//   wait in the queue until the handshake is done.
// - Deadlines: every command has io_timeout from the moment it is queued. A queued command
//   that outlives it fails alone; an in-flight one that outlives it means the connection
//   is stuck: it is dropped and everything in flight fails.
// - Liveness: an idle connection sends PING every ping_interval; no answer within
//   io_timeout drops it, so a dead peer is noticed without traffic.
// - Reconnect with exponential backoff and jitter; in-flight commands fail (reply::failure),
//   queued ones stay (bounded by max_queued and their deadlines). retry_now() cuts a
//   backoff short (the shard calls it when a sibling connection came back).
// - Pub/Sub mode: after the handshake every reply goes to the push handler (SUBSCRIBE
//   confirmations, messages, pongs); send() callbacks are not used.
//
// Threads: send(), reset(), start(), stop(), up() are safe from any thread. Callbacks, the
// push handler and the state handler run on the I/O thread, one at a time. Callbacks may
// call send() again.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/redis/redis_address.hpp"
#include "broker/redis/resp.hpp"

namespace gyre::redis {

namespace asio = boost::asio;

using reply_callback = std::function<void(reply&&)>;

struct connection_options {
  std::string name;  // for logs, e.g. "shard 0 data"
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds io_timeout{4000};
  std::string user, password;
  int64_t db = 0;
  std::string client_name;
  std::shared_ptr<asio::ssl::context> tls;  // null = plain
  std::string tls_server_name;
  bool tls_verify_host = true;  // check the certificate names the server (unless insecure)
  bool pubsub = false;
  bool require_master = false;
  // Fail everything and stop after the first failed attempt (short-lived sentinel queries).
  bool single_attempt = false;
  // Commands waiting to be written; beyond it send() fails at once. 64k commands is far
  // above one batch and bounds memory during an outage.
  size_t max_queued = 65536;
  std::chrono::milliseconds ping_interval{1000};
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{2000};
  std::vector<std::vector<std::string>> setup;
};

// Finds the server to connect to before each attempt (sentinel: ask for the master).
// Calls back on the I/O thread with the endpoint or an error text.
using target_resolver =
    std::function<void(std::function<void(std::optional<endpoint>, std::string)>)>;

class connection : public std::enable_shared_from_this<connection> {
 public:
  static std::shared_ptr<connection> create(asio::io_context& io, endpoint target,
                                            connection_options opts);
  ~connection();

  // Before start().
  void set_resolver(target_resolver r) { resolver_ = std::move(r); }
  void set_push_handler(std::function<void(reply&&)> h) { push_ = std::move(h); }
  void set_state_handler(std::function<void(bool up, const std::string& why)> h) {
    state_handler_ = std::move(h);
  }

  void start();
  // Closes the connection, fails everything queued or in flight; nothing runs afterwards.
  // Must be called on the I/O thread (the engine stops from a posted task).
  void stop_on_io();

  void send(std::string encoded, reply_callback cb);
  // On the I/O thread: commands it sends between cork and uncork are written together at
  // uncork, without a flush posted to the I/O thread (one scheduler pass and its
  // epoll_wait less per round of commands). Sends from other threads are not held.
  void cork_on_io();
  void uncork_on_io();
  // Two commands written back to back with nothing in between (ASKING + command).
  void send2(std::string first, reply_callback cb1, std::string second, reply_callback cb2);
  // Drops the connection and reconnects (e.g. after READONLY). Any thread.
  void reset(std::string why);
  // Connects again at once, to whatever the resolver finds now: drops the connection or
  // the attempt in progress, or cuts the wait for the next attempt short (the sentinels
  // announced a new master). Nothing before start() or after stop. Any thread.
  void reconnect_now(std::string why);
  // Skips what is left of the reconnect backoff and connects now: another connection to
  // the same server just came up, so it is probably back. No-op unless this connection is
  // waiting to reconnect. Any thread.
  void retry_now();
  // Fails every command still waiting to be written (none of them reached the server)
  // with reply::failure(why), unless the connection is up and writing them. Any thread;
  // the callbacks run on the I/O thread. (A cluster node that lost its slots to a failover:
  // the shard sends them again to the new owner.)
  void fail_queued(std::string why);

  bool up() const { return up_.load(std::memory_order_acquire); }
  // Why the last attempt failed or the connection dropped ("AUTH failed: WRONGPASS ...",
  // "TLS handshake: certificate verify failed ..."); empty once connected. Any thread.
  std::string last_error() const;
  const std::string& name() const { return opts_.name; }
  // The endpoint of the current or last connection (I/O thread).
  const endpoint& current_target() const { return current_; }
  const connection_options& options() const { return opts_; }

 private:
  using clock_type = std::chrono::steady_clock;
  enum class state { idle, connecting, handshaking, ready, closed };
  struct pending {
    std::string data;
    reply_callback cb;
    clock_type::time_point deadline;
    bool expects_reply = true;
  };
  struct waiting {
    reply_callback cb;
    clock_type::time_point deadline;
  };

  connection(asio::io_context& io, endpoint target, connection_options opts);

  void enqueue(pending p, std::optional<pending> second);
  void connect_now();
  void connect_to(const endpoint& ep);
  void on_transport_ready(uint64_t gen);
  void handshake();
  void on_ready();
  void fail(const std::string& why);
  void schedule_reconnect();
  void start_read(uint64_t gen);
  void on_read(uint64_t gen, const boost::system::error_code& ec, size_t n);
  void dispatch(reply&& r);
  void start_write();
  void tick();
  void fail_queue(const std::string& why, bool all);
  void close_streams();

  asio::io_context& io_;
  endpoint target_;
  endpoint current_;
  connection_options opts_;
  target_resolver resolver_;
  std::function<void(reply&&)> push_;
  std::function<void(bool, const std::string&)> state_handler_;

  // Shared with callers.
  mutable std::mutex mu_;
  std::deque<pending> queue_;
  bool flush_posted_ = false;
  bool stopped_ = false;
  std::string last_error_;
  std::atomic<bool> up_{false};

  // I/O thread only.
  bool corked_ = false;  // read by enqueue() only on the I/O thread
  state state_ = state::idle;
  uint64_t gen_ = 0;  // bumped on every attempt and failure: stale handlers ignore themselves
  std::shared_ptr<asio::ip::tcp::socket> tcp_;
  std::shared_ptr<asio::local::stream_protocol::socket> unix_;
  std::shared_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
  std::shared_ptr<asio::ip::tcp::resolver> dns_;
  asio::steady_timer connect_timer_;
  asio::steady_timer reconnect_timer_;
  asio::steady_timer tick_timer_;
  std::vector<pending> handshake_;  // written before anything queued
  size_t handshake_left_ = 0;
  std::deque<waiting> inflight_;
  bool writing_ = false;
  reply_reader reader_;
  std::shared_ptr<std::vector<char>> rbuf_;
  clock_type::time_point last_read_{};
  clock_type::time_point ping_sent_{};
  bool ping_outstanding_ = false;
  unsigned attempt_ = 0;
  bool logged_down_ = false;
};

}  // namespace gyre::redis
