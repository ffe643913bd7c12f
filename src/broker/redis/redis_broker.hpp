// redis_broker: the broker of engines.md §4 on Redis, wire-compatible with Centrifugo:
// history in `P.stream.ch` (or `P.list.ch`) + `P.stream.meta.ch`, idempotency results in
// `P.result.ch.KEY`, publications/joins/leaves on PUB/SUB `P.client.ch` framed as
// `__p1:`, `__d1:`, `__j__`, `__l__` or raw Protobuf.
//
// Ordering and "handler before done": Redis delivers PUB/SUB messages of a channel in
// the order the scripts ran. publish() on a channel this node is subscribed to registers
// a delivery waiter (the Publication bytes) before the command is sent; its callback runs
// only after the PUB/SUB message with those bytes went through the handler, or when that
// can no longer happen (PUB/SUB connection lost, channel unsubscribed, io_timeout passed).
//
// Lost delivery: when a shard's PUB/SUB connection is back and its channels are confirmed
// again, the handler's on_subscriptions_restored() gets them (that shard's channels only).
// stream_tops() reads `P.stream.meta.ch` (HMGET s e, nothing created or refreshed) of a
// batch of channels in one pipelined write per shard, then sends a barrier (PING) on the
// PUB/SUB connection of every shard involved: Redis answers it after every message it
// wrote to that connection before, so once it is back every publication up to the tops
// read has gone through the handler. In a Cluster the PUB/SUB connection may be on another
// node than the channel's master and a publication reaches it over the cluster bus, which
// the barrier does not wait for: a top may then be reported before its publication came
// (docs/design/resubscribe-position-check.md).
//
// Where Centrifugo's Redis engine differs from its memory engine, this one follows it
// (docs/supported-options.md, "Engine differences"):
// - a reverse history read from a since more than one past the top reads from the top;
// - a publication without a version keeps the stored version;
// - history publications carry no epoch (history_page::epoch_on_first is false).
//
// Publish batching: publications, joins and leaves of a shard go through the shard's
// publish queue, in the order they were made. The engine's I/O thread sends what is queued
// when nothing of that queue is waiting for Redis, consecutive history publications (stream
// history, outside a Redis Cluster) as one add_history_stream_batch call of at most
// max_publish_batch; whatever arrives meanwhile waits for the replies and goes in the next
// round trip. So concurrent publishes from many API connections share round trips (one
// call per round trip per shard under load, none added when idle), the order per channel
// is the order of the queue, and every publication is acknowledged only with its own
// result (stored, or its own error: the batch runs each publication under pcall).
// docs/design/api-threading.md §5.
//
// Threads: every method may be called from any thread. The handler and all callbacks run
// on the engine's I/O thread (except the callbacks of publishes, joins and leaves made on a
// requests thread given to use_local_threads(): those run on that thread, or on the I/O
// thread when they wait for the PUB/SUB delivery); the handler must not block (hand
// events to an event loop).
// After stop() returns neither the handler nor any callback of this broker runs: replies
// still in flight are dropped.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/broker.hpp"
#include "broker/redis/engine_core.hpp"

namespace gyre::redis {

class redis_broker final : public broker, private message_sink {
 public:
  struct options {
    bool history_use_lists = false;
  };

  redis_broker(std::shared_ptr<engine_core> core, options opts);
  ~redis_broker() override;

  void start(broker_event_handler& handler) override;
  void stop() override;

  void subscribe(std::string_view channel, status_callback done) override;
  void unsubscribe(std::string_view channel) override;

  void publish(std::string_view channel, publication pub, const publish_options& opts,
               callback<publish_outcome> done) override;
  void publish_join(std::string_view channel, const client_info& info,
                    status_callback done) override;
  void publish_leave(std::string_view channel, const client_info& info,
                     status_callback done) override;

  void history(std::string_view channel, const history_query& q,
               callback<history_page> done) override;
  void remove_history(std::string_view channel, status_callback done) override;
  void stream_tops(std::vector<std::string> channels,
                   callback<std::vector<stream_position>> done) override;
  bool supports_history() const override { return true; }

  engine_core& core() { return *core_; }

  // Requests threads (docs/design/api-threading.md §5): each gets its own data connection
  // to every standalone shard, living on that thread's io_context; a publish, join or
  // leave made on one of these threads goes through that thread's own publish queue and
  // connection, so its reply (and the caller's callback) comes on the same thread, without
  // a hop through the engine's I/O thread. Other threads, and shards behind Sentinel or in
  // a Cluster, use the engine's I/O thread as before. Call once, before requests are
  // served; the io_contexts must outlive release_local_threads().
  void use_local_threads(const std::vector<asio::io_context*>& ios);
  // Stops those connections (their in-flight commands fail). Call when the requests
  // threads have stopped running (or from a thread that is none of them: it then waits for
  // each to stop its connections), before their io_contexts are destroyed.
  void release_local_threads();

 private:
  struct waiter {
    std::string pb;  // Publication bytes, as they will come back on PUB/SUB
    size_t shard = 0;
    uint64_t generation = 0;
    bool delivered = false;
    bool replied = false;
    std::chrono::steady_clock::time_point deadline{};
    std::function<void()> complete;
  };
  using waiter_ptr = std::shared_ptr<waiter>;

  void on_message(size_t shard, std::string_view channel, std::string_view payload) override;
  void on_pubsub_reset(size_t shard) override;
  void on_pubsub_restored(size_t shard, std::vector<std::string> pubsub_channels) override;

  void publish_event(std::string_view channel, std::string_view prefix, const client_info& info,
                     status_callback done);

  // A command waiting in a shard's publish queue.
  struct queued_command {
    const lua_script* script = nullptr;  // nullptr: a plain command (args in argv)
    bool batchable = false;              // an add_history_stream call (3 keys, 11 arguments)
    std::string key;                     // routes the command in a cluster
    std::vector<std::string> keys;
    std::vector<std::string> argv;
    reply_callback cb;
  };
  struct publish_queue {
    // Where send_queued runs and what it sends on: the engine's I/O thread and the shard's
    // own connection(s) (null), or a requests thread and its connection to the shard.
    asio::io_context* io = nullptr;
    std::shared_ptr<connection> conn;
    std::mutex mu;
    std::vector<queued_command> items;
    bool posted = false;   // a send_queued() is posted to the I/O thread
    size_t waiting = 0;    // commands sent and not answered yet
    bool sending = false;  // I/O thread: inside send_queued (a reply that comes at once,
                           // a failure, must not send the next round in between)
  };
  // The queue of the calling thread for `shard`: its own when it is a requests thread with
  // a connection to the shard, else the shard's queue on the I/O thread.
  publish_queue& queue_for(size_t shard);
  void enqueue(publish_queue& q, size_t shard, queued_command c);
  // On q.io's thread: sends what the queue holds unless earlier commands still wait for
  // Redis.
  void send_queued(publish_queue& q, size_t shard);
  // After the reply: completes now or when the message has gone through the handler.
  void finish(const std::string& channel, const waiter_ptr& w, bool published,
              std::function<void()> complete);
  void delivered(const std::string& channel, std::string_view pb);
  void sweep();
  void read_list_history(std::string_view channel, const history_query& q,
                         callback<history_page> done);

  std::shared_ptr<engine_core> core_;
  options opts_;
  std::shared_ptr<std::atomic<bool>> alive_;
  std::atomic<broker_event_handler*> handler_{nullptr};
  std::atomic<bool> stopped_{false};
  std::unique_ptr<asio::steady_timer> sweep_timer_;

  std::mutex mu_;
  std::unordered_map<std::string, std::deque<waiter_ptr>> waiters_;
  std::vector<std::unique_ptr<publish_queue>> queues_;  // one per shard
  struct local_thread {
    asio::io_context* io = nullptr;
    std::vector<std::unique_ptr<publish_queue>> queues;  // per shard; null: no connection
  };
  // Written by use_local_threads() before locals_on_ is set; the queues stay until the
  // broker is destroyed (release only stops their connections).
  std::vector<std::unique_ptr<local_thread>> locals_;
  std::atomic<bool> locals_on_{false};
};

// Publications of one add_history_stream_batch call at most: bounds how long one call
// keeps Redis busy (about 10 µs per publication).
inline constexpr size_t max_publish_batch = 64;

}  // namespace gyre::redis
