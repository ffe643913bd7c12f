// nats_jetstream_consumer: the `nats_jetstream` async consumer (docs/consumers.md): a
// durable pull consumer on `stream_name` (created or updated with `deliver_policy`,
// `max_ack_pending`, AckWait 30 s and the subject filter; or an existing one with
// `use_existing_consumer`), fetched by a thread of its own (cnats' fetch blocks; no event
// loop or requests thread ever waits for it): up to 100 messages that are available now,
// or, when none is, a wait of up to 1 s for the next one.
//
// What holds:
//  * Each fetched message runs through the dispatcher in fetch order, one at a time; done
//    or skipped → Ack, internal error → NakWithDelay (10 ms … 5 s by delivery count), so
//    JetStream redelivers it while the following messages go on (as Centrifugo).
//  * At least once: nothing is acknowledged before its command completed; a crash leaves
//    it unacknowledged and JetStream redelivers it after AckWait.
//  * Connection loss: cnats reconnects; the thread retries the consumer set-up and the
//    fetches with a backoff, logging what failed.
//  * stop() returns within about a second (the fetch wait) plus the command in progress.
//
// Threading: construct, prepare(), start() and stop() from one thread (the main thread).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "config/consumers.hpp"
#include "consumers/dispatch.hpp"

namespace gyre::consumers {

class nats_jetstream_consumer {
 public:
  nats_jetstream_consumer(boost::asio::io_context& io, config::nats_jetstream_consumer_config cfg,
                          std::string key, std::unique_ptr<dispatcher> d);
  ~nats_jetstream_consumer();

  // Checks what Gyre supports of the block; empty on success, else an error naming the key.
  std::string prepare();
  void start();
  void stop();

 private:
  void run();
  config::nats_jetstream_consumer_config cfg_;
  std::string key_;
  std::unique_ptr<dispatcher> dispatcher_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace gyre::consumers
