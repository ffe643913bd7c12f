// broker: moves publications, joins and leaves between nodes and keeps channel history
// streams (engines.md §1-2). memory/, redis/ and nats/ implement it; the memory broker is
// the reference and every implementation passes tests/unit/broker/broker_suite.
//
// Contracts:
// - Asynchronous: no method blocks on I/O. Completion callbacks may run synchronously
//   inside the call (memory broker) or later on a broker thread (network brokers). A
//   caller that must continue on its own event loop posts there itself.
// - Ordering: within one channel, publications reach the event handler in offset order,
//   and the handler is called for publication N before publish() reports N as done.
// - Delivery to this node goes through the broker_event_handler given to start(), for
//   every channel the node has subscribe()d to (the memory broker delivers every channel).
// - Batch-friendly: callers may issue many calls without waiting; implementations are
//   free to pipeline them (Redis pays one round trip per batch, not per publication).
// - Lost delivery: a network broker that loses its subscription connection and
//   re-establishes it says so through on_subscriptions_restored() (see there), so that the
//   node can find subscribers that missed publications meanwhile at once
//   (docs/design/resubscribe-position-check.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/publication.hpp"
#include "core/result.hpp"

namespace gyre {

struct publish_options {
  // History is kept only when both are > 0.
  uint32_t history_size = 0;
  uint32_t history_ttl_seconds = 0;
  // Lifetime of the stream metadata (offset + epoch) after the last publish or read.
  uint32_t history_meta_ttl_seconds = 0;
  // Idempotent publish: a repeated key within the result TTL returns the first result.
  std::string idempotency_key;
  uint32_t idempotent_result_ttl_seconds = 300;
  // The publication may be sent to delta subscribers as a patch against the previous one.
  bool use_delta = false;
  // Version-based suppression (0 = off).
  uint64_t version = 0;
  std::string version_epoch;

  bool keeps_history() const { return history_size > 0 && history_ttl_seconds > 0; }
};

struct publish_outcome {
  stream_position position;  // empty when the channel keeps no history
  bool suppressed = false;
  std::string suppress_reason;  // "idempotency" or "version"
};

// A publication as delivered to nodes. Immutable once made; shared between threads.
struct delivered_publication {
  // The channel the node subscribe()d to: route by it. For a wildcard subscription (NATS
  // broker with allow_wildcards) this is the pattern, e.g. "news.*".
  std::string channel;
  // Wildcard subscriptions only: the concrete channel the publication was made in, for
  // the client's Publication.channel (field 10), e.g. "news.sport". Empty otherwise.
  std::string specific_channel;
  publication pub;    // offset set when the channel keeps history
  std::string epoch;  // stream epoch (empty without history)
  bool use_delta = false;
  // Previous publication payload of this stream, for delta encoding (null when absent).
  std::shared_ptr<const std::string> prev_data;
};

class broker_event_handler {
 public:
  virtual ~broker_event_handler() = default;
  virtual void on_publication(std::shared_ptr<const delivered_publication> p) = 0;
  virtual void on_join(std::string_view channel, const client_info& info) = 0;
  virtual void on_leave(std::string_view channel, const client_info& info) = 0;
  // Delivery of `channels` had stopped (the broker lost the connection that carried their
  // subscriptions) and is back: their subscriptions are confirmed again, but what was
  // published meanwhile never reached this node. Called on a broker thread once per
  // re-established subscription batch, only for channels this node had subscribe()d to;
  // must not block. Brokers that never lose delivery (memory) never call it.
  virtual void on_subscriptions_restored(std::vector<std::string> channels) { (void)channels; }
};

template <typename T>
using callback = std::function<void(result<T>)>;
using status_callback = std::function<void(status)>;

class broker {
 public:
  virtual ~broker() = default;

  // Starts delivering events to `handler`, which must outlive the broker's stop().
  virtual void start(broker_event_handler& handler) = 0;
  // Stops delivery and finishes or cancels work in flight; no callback runs afterwards.
  virtual void stop() = 0;

  // Node-level interest in a channel: called when the first local subscriber of a channel
  // appears and after the last one leaves. `done` reports when publications of the channel
  // are being received (Redis: SUBSCRIBE confirmed), so that a history read made after it
  // cannot miss a publication. The memory broker completes at once.
  virtual void subscribe(std::string_view channel, status_callback done) = 0;
  virtual void unsubscribe(std::string_view channel) = 0;

  virtual void publish(std::string_view channel, publication pub, const publish_options& opts,
                       callback<publish_outcome> done) = 0;
  virtual void publish_join(std::string_view channel, const client_info& info,
                            status_callback done) = 0;
  virtual void publish_leave(std::string_view channel, const client_info& info,
                             status_callback done) = 0;

  // Reads the stream. Creates stream metadata (new epoch, offset 0) when absent and
  // refreshes its TTL (q.meta_ttl_seconds). A non-empty q.since->epoch that differs from
  // the current epoch yields errors::unrecoverable_position.
  virtual void history(std::string_view channel, const history_query& q,
                       callback<history_page> done) = 0;
  // Drops stored publications; offset and epoch are kept.
  virtual void remove_history(std::string_view channel, status_callback done) = 0;

  // The current stream top of each channel, in the order asked, read without creating
  // or refreshing stream metadata: a channel without a stream (never published with
  // history, or its metadata expired) reads as offset 0 with an empty epoch. `done` runs
  // only once every publication up to the reported tops that will reach this node has
  // gone through the handler (for a channel this node is subscribed to), so a subscriber
  // whose position is still below a reported top after that missed something. Callers
  // bound the number of channels per call; implementations read them in one pipelined
  // batch. Brokers without history fail with errors::not_available.
  virtual void stream_tops(std::vector<std::string> channels,
                           callback<std::vector<stream_position>> done) = 0;

  // Whether the broker keeps history at all (the NATS broker does not).
  virtual bool supports_history() const = 0;

  // Whether subscribe()/unsubscribe() matter: false for a broker that delivers every
  // channel to this node anyway (memory), so that the node keeps no per-channel state.
  virtual bool needs_channel_subscriptions() const { return true; }
};

}  // namespace gyre
