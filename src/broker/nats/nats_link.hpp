// nats_link: one NATS connection (cnats) shared by the NATS broker or the NATS control bus:
// publishing, subscriptions, confirmation by flush, health. Internal to broker/nats/.
//
// Threads and what holds:
// - Callers never block on I/O: publish/subscribe/unsubscribe append to one bounded FIFO
//   (max_queued_ops, max_queued_bytes) and return. One writer thread drains it in batches:
//   it writes each operation to the connection in queue order, then sends one PING and
//   waits for the PONG (natsConnection_FlushTimeout, bounded by write_timeout): one round
//   trip per batch, which also puts the batch on the wire at once (cnats alone would
//   wait for its flusher).
// - subscribe's `done` runs after that flush: the server has then processed the SUB, so
//   every later publication on the subject reaches this connection.
// - publish's `done` runs after the flush AND after every local subscription whose
//   subject matches has handed the message to its callback (the broker contract: the
//   handler sees publication N before publish() reports N). How: the server writes our
//   own MSG before the PONG, and the single cnats reader queues it before it sees the
//   PONG, so after the flush the subscription's delivered + pending count (cnats stats)
//   includes it; the publish completes when the subscription's own count of handled
//   messages reaches that number (32-bit wrapping counters, cnats reports an int).
// - Messages are delivered on cnats' global delivery pool (delivery_threads). cnats keeps
//   each subscription on one pool thread, so one subscription's messages are handled in
//   order, one at a time. Different subscriptions may run in parallel.
// - While the connection is not connected, publish and subscribe fail at once with
//   errors::internal (nothing is buffered for a later reconnect). cnats reconnects for
//   ever (reconnect_wait between attempts) and re-sends every subscription itself.
// - stop(): fails queued operations, waits for callbacks in progress, closes the
//   connection and waits for cnats to finish with it. No callback runs after stop()
//   returns. stop() must not be called from one of this link's callbacks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "broker/broker.hpp"

namespace gyre {

struct nats_link_options {
  std::string url = "nats://localhost:4222";  // comma-separated list allowed
  std::string name = "gyre";                  // connection name the NATS server shows
  std::chrono::milliseconds dial_timeout{1000};
  // Socket write deadline and the wait for a flush's PONG.
  std::chrono::milliseconds write_timeout{1000};
  // Pause between reconnect attempts (nats.go and cnats default).
  std::chrono::milliseconds reconnect_wait{2000};

  // TLS; PEM texts already resolved. ca_pem empty = the system trust store.
  bool tls = false;
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
  std::string server_name;
  bool insecure_skip_verify = false;

  // Operation queue bound: beyond it publish/subscribe fail with too_many_requests.
  // 65536 operations or 64 MiB of payload absorb a one-second burst at API rates while
  // the writer waits one flush timeout.
  size_t max_queued_ops = 65536;
  size_t max_queued_bytes = size_t{64} << 20;
  // Operations written per flush; bounds the latency added to the first one of a batch.
  size_t max_batch = 1024;
  // Per-subscription inbound limit in cnats; beyond it messages are dropped and counted
  // as a slow consumer (cnats defaults).
  int max_pending_messages = 65536;
  int max_pending_bytes = 64 << 20;
  // Threads of cnats' global delivery pool (process-wide; the largest request wins).
  int delivery_threads = 2;
};

class nats_link {
 public:
  using message_fn = std::function<void(std::string_view subject, std::string_view data)>;
  using state_fn = std::function<void(bool healthy)>;

  struct stats {
    uint64_t published = 0;         // messages written to the connection
    uint64_t publish_failures = 0;  // publishes reported as failed
    uint64_t received = 0;          // messages handed to subscription callbacks
    uint64_t slow_consumer_events = 0;
    uint64_t disconnects = 0;
    uint64_t reconnects = 0;
    size_t subscriptions = 0;
  };

  // Connects (bounded by dial_timeout). On failure returns null and sets `error` to a
  // text naming the URL.
  static std::unique_ptr<nats_link> connect(const nats_link_options& opts, std::string& error);

  ~nats_link();
  nats_link(const nats_link&) = delete;
  nats_link& operator=(const nats_link&) = delete;

  // Called on a cnats thread when the connection is lost or restored. Set it before the
  // link is shared; it is never called after stop().
  void set_state_callback(state_fn fn);

  // `done` may be empty: then nothing waits for a flush (best effort, like control
  // messages). Completes with errors::internal when not connected or on flush timeout,
  // errors::bad_request when the payload exceeds the server's max_payload (or alone
  // exceeds max_queued_bytes),
  // errors::too_many_requests when the queue is full.
  void publish(std::string subject, std::string payload, status_callback done);
  // `key` names the subscription (one per key; subscribing an existing key confirms it
  // again). On failure the subscription is removed. `on_message` runs on a delivery
  // thread; it must not throw.
  void subscribe(std::string key, std::string subject, message_fn on_message, status_callback done);
  // No-op for an unknown key. Never dropped for a full queue.
  void unsubscribe(std::string key);

  bool healthy() const;
  // The configured URL(s), passwords hidden (for logs).
  const std::string& url() const;
  stats snapshot() const;
  void stop();

  // Subscription contexts alive in the process (released by cnats' completion
  // callback after unsubscribe or close); for leak tests.
  static int64_t live_subscription_contexts();

 private:
  struct impl;
  explicit nats_link(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace gyre
