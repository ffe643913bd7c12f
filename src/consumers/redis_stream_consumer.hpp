// redis_stream_consumer: the `redis_stream` async consumer (docs/consumers.md): reads the
// configured streams through a consumer group (created at `$` if missing, and again when
// Redis says NOGROUP), with this node's ID as the consumer name, runs each entry through
// the dispatcher and XACKs it afterwards; entries another consumer left pending longer
// than `visibility_timeout` are taken over with XAUTOCLAIM.
//
// What holds:
//  * Workers: `num_workers` per stream, each with its own Redis connection, reading
//    XREADGROUP COUNT 100 BLOCK (at most half of io_timeout, at most 5 s) and running its
//    entries one after another: with one worker a stream is processed in stream order, a
//    retried entry blocking the ones after it.
//  * At least once: an entry is acknowledged only after its command succeeded or was
//    skipped as bad (one XACK for the entries of a batch, sent before the next read or a
//    retry's wait); a crash before the XACK leaves them pending, and they run again when
//    claimed (use idempotency keys).
//  * Retry: an internal error retries the same entry after a backoff (10 ms … 5 s).
//  * Bounded: a worker holds at most one batch (100 entries) at a time.
//  * Never blocks a thread: everything runs on the consumers' I/O thread (`io`); executor
//    replies are posted back to it.
//
// Threading: construct, start() and stop_on_io() — the last on `io`'s thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config/consumers.hpp"
#include "consumers/dispatch.hpp"

namespace gyre::consumers {

class redis_stream_consumer {
 public:
  redis_stream_consumer(boost::asio::io_context& io, config::redis_stream_consumer_config cfg,
                        std::string key, std::string node_id, std::unique_ptr<dispatcher> d);
  ~redis_stream_consumer();

  // Checks the Redis address block; empty on success, else an error naming the key.
  std::string prepare();
  void start();
  void stop_on_io();

 private:
  struct worker;
  boost::asio::io_context& io_;
  config::redis_stream_consumer_config cfg_;
  std::string key_;
  std::string node_id_;
  std::unique_ptr<dispatcher> dispatcher_;
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace gyre::consumers
