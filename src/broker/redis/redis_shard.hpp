// redis_shard: one shard of the Redis engine (engines.md §4.1): where its data commands
// go and its PUB/SUB connection.
// - standalone: one data connection (pipelined) to the address.
// - sentinel: the same, but before every (re)connect the sentinels are asked for the
//   current master (SENTINEL get-master-addr-by-name) and the connection checks ROLE. A
//   failover is followed in two ways: one more connection per shard stays subscribed to a
//   sentinel's `+switch-master` events and moves the data and PUB/SUB connections to the
//   new master at once (Sentinel demotes the old master only ~10 s after the switch, and
//   until then it accepts writes the new master never sees); and a READONLY reply (a
//   demoted master) drops the connection.
// - cluster: a connection per master node; commands go to the node owning the key's slot
//   (CLUSTER SLOTS, refreshed every 5 s, every 250 ms while a master it routes to is down
//   so that a failover is followed as soon as the cluster made it, and on MOVED), MOVED
//   and ASK redirects are followed (at most 5 hops). Commands already queued for a dead
//   master wait for it until io_timeout and fail. PUB/SUB uses one connection to any node
//   (regular PUBLISH reaches every node of the cluster); when that node dies it moves to
//   the next one and every channel is subscribed again.
//
// Scripts: exec_script() sends EVALSHA and falls back to EVAL on NOSCRIPT; the scripts are
// also SCRIPT LOADed on every data connection when it connects.
//
// Health: healthy() = the data connection(s) and the PUB/SUB connection are up;
// on_health runs (I/O thread) when that changes.
//
// Threads: exec/exec_script/healthy/pubsub from any thread; callbacks on the I/O thread.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/redis/lua_scripts.hpp"
#include "broker/redis/redis_address.hpp"
#include "broker/redis/redis_connection.hpp"
#include "broker/redis/redis_subscriber.hpp"

namespace gyre::redis {

class shard {
 public:
  shard(asio::io_context& io, shard_spec spec, size_t index,
        std::vector<const lua_script*> scripts);
  ~shard();
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  void start();
  void stop_on_io();

  // `key` chooses the cluster node (ignored outside a cluster).
  void exec(std::string_view key, std::vector<std::string> args, reply_callback cb);
  void exec_script(const lua_script& s, std::vector<std::string> keys,
                   std::vector<std::string> argv, reply_callback cb);
  // The same, on a data connection the caller owns (make_local_data): the reply comes on
  // that connection's thread. NOSCRIPT falls back to EVAL on it.
  void exec_on(const std::shared_ptr<connection>& c, std::vector<std::string> args,
               reply_callback cb);
  void exec_script_on(const std::shared_ptr<connection>& c, const lua_script& s,
                      std::vector<std::string> keys, std::vector<std::string> argv,
                      reply_callback cb);
  // A further data connection to this shard's server, living on `io` (a requests thread:
  // docs/design/api-threading.md §5), started; same handshake and scripts as the shard's
  // own. Only for a standalone server: null for Sentinel (the master lookup runs on the
  // engine's I/O thread) and Cluster (routing per slot). The caller stops it on `io`'s
  // thread (connection::stop_on_io) before `io` is destroyed. It does not count for
  // healthy().
  std::shared_ptr<connection> make_local_data(asio::io_context& io, size_t thread_index);
  subscriber& pubsub() { return *sub_; }

  bool healthy() const { return healthy_.load(std::memory_order_acquire); }
  // Why a connection the shard needs is down (its last error), or empty. Any thread.
  std::string last_error() const;
  std::function<void(bool healthy)> on_health;
  const shard_spec& spec() const { return spec_; }
  size_t index() const { return index_; }
  std::string describe() const;

 private:
  struct cluster_state;
  using args_ptr = std::shared_ptr<std::vector<std::string>>;

  connection_options options_for(const std::string& role, bool pubsub) const;
  connection_options sentinel_options(const std::string& role) const;
  void on_sentinel_event(const reply& r);
  std::shared_ptr<asio::ssl::context> make_tls(const tls_options& t) const;
  using resolve_done = std::function<void(std::optional<endpoint>, std::string)>;
  void query_sentinel(size_t tried, std::string last_error, resolve_done done);
  void exec_args(std::string_view key, args_ptr args, reply_callback cb);
  void send_to(const std::shared_ptr<connection>& c, args_ptr args, bool asking, reply_callback cb);
  void cluster_exec(uint16_t slot, args_ptr args, int hops, std::shared_ptr<connection> target,
                    bool asking, reply_callback cb);
  std::shared_ptr<connection> cluster_node(const endpoint& ep);
  void cluster_refresh();
  void cluster_tick();
  void update_health();

  asio::io_context& io_;
  shard_spec spec_;
  size_t index_;
  std::vector<const lua_script*> scripts_;
  std::shared_ptr<asio::ssl::context> tls_ctx_;
  std::shared_ptr<asio::ssl::context> sentinel_tls_ctx_;
  std::shared_ptr<connection> data_;   // standalone / sentinel
  std::shared_ptr<connection> pub_;    // the subscriber's connection
  std::shared_ptr<connection> watch_;  // sentinel: subscribed to +switch-master
  std::unique_ptr<cluster_state> cluster_;
  std::unique_ptr<subscriber> sub_;
  std::atomic<bool> healthy_{false};
  bool reported_ = false;  // I/O thread: last value passed to on_health
  bool stopped_ = false;
  size_t sentinel_next_ = 0;  // I/O thread: the sentinel asked first
  size_t watch_next_ = 0;     // I/O thread: the sentinel the watcher tries next
  size_t watch_at_ = 0;       // I/O thread: the sentinel the watcher is connected to
};

}  // namespace gyre::redis
