// postgresql_consumer: the `postgresql` async consumer (docs/consumers.md): reads an outbox
// table the application writes in its own transactions (`id`, `method`, `payload`,
// `partition`), runs each row through the dispatcher and deletes the rows it processed.
//
// What holds:
//  * One thread of its own per consumer, with blocking libpq calls (never an event loop):
//    it walks the partitions 0..num_partitions-1; for each, in one READ COMMITTED
//    transaction, it takes the partition's advisory transaction lock (Centrifugo's key, so
//    nodes exclude each other; with `use_try_lock` a partition another node holds is
//    skipped instead of waited for), selects up to `partition_select_limit` rows in id
//    order, runs them one after another, stops at the first one that must be retried,
//    deletes the ones done and commits.
//  * At least once: a row is deleted in the transaction that follows its command; a crash
//    in between runs it again (use idempotency keys). A retried row blocks the rows after
//    it in its partition (backoff 10 ms … 5 s).
//  * Waits `partition_poll_interval` when no partition had a full batch, and wakes
//    earlier on a NOTIFY on `partition_notification_channel` (LISTEN on a connection of
//    its own, to `partition_notification_dsn` or else `dsn`).
//  * Bounded: at most one batch (`partition_select_limit` rows) in memory.
//  * Bad rows (payload of an unknown type, bad JSON, unknown method, a NULL payload) are
//    logged, counted and deleted.
//  * Connection loss: reconnects with a backoff; what was not committed runs again.
//
// Threading: construct, prepare(), start() and stop() from one thread (the main one).
#pragma once

#include <memory>
#include <string>

#include "config/consumers.hpp"
#include "consumers/dispatch.hpp"

namespace gyre::consumers {

class postgresql_consumer {
 public:
  postgresql_consumer(config::postgresql_consumer_config cfg, std::string key,
                      std::unique_ptr<dispatcher> d);
  ~postgresql_consumer();

  // Checks the table name and the DSNs; empty on success, else an error naming the key.
  std::string prepare();
  void start();
  // Stops reading; a command in flight is waited for a short while.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace gyre::consumers
