// nats_broker: the NATS broker (engines.md §5), compatible on the wire with Centrifugo's.
// An at-most-once PUB/SUB bridge: no history, recovery, positioning, idempotency or
// version suppression (history calls → errors::not_available; the other publish options
// are ignored), no presence (pair it with the memory or Redis presence manager).
//
// Subjects and payloads:
// - channel `ch` ↔ `<prefix>.client.<ch>`, payload a protobuf Push{channel, pub|join|leave}
//   (nats_push_codec.hpp);
// - raw mode: `<raw prefix><ch after channel_replacements>`, payload = the publication's
//   data both ways; joins and leaves are not sent (done reports success), info and tags
//   are dropped.
// - A channel containing `*` or `>` may be subscribed only with allow_wildcards (NATS
//   wildcard semantics); its publications arrive with `channel` = the pattern and
//   `specific_channel` = the concrete channel (taken from the subject). Joins and leaves
//   arriving through a wildcard subscription are dropped: a node with subscribers of the
//   concrete channel has that channel subscribed too and gets them there. Publishing,
//   joining or leaving a wildcard channel → errors::bad_request, as is any channel that
//   cannot form a valid NATS subject (whitespace, control bytes, empty tokens).
//
// Contract (broker.hpp): calls never block on I/O; subscribe's done runs once the server
// has processed the SUB; publish's done runs after this node's handler has seen the
// publication when the node is subscribed to the channel; per-channel delivery order
// (one NATS subscription per channel, handled by one thread at a time). Publications of
// one broker instance keep their order; there is no order between nodes.
//
// Threads: every method may be called from any thread. The handler and completion
// callbacks run on cnats delivery threads or on the broker's writer thread; stop() waits
// for callbacks in progress and must not be called from one of them.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "broker/broker.hpp"

namespace gyre {

class nats_link;

class nats_broker final : public broker {
 public:
  struct options {
    std::string prefix = "centrifugo";
    bool allow_wildcards = false;
    bool raw_mode = false;
    std::string raw_prefix;
    std::map<std::string, std::string> raw_replacements;
  };

  struct stats {
    uint64_t published = 0;
    uint64_t publish_failures = 0;
    uint64_t received = 0;
    uint64_t undecodable = 0;  // messages that were not a Push
    uint64_t slow_consumer_events = 0;
    uint64_t disconnects = 0;
    uint64_t reconnects = 0;
    size_t subscriptions = 0;
  };

  // Takes a connected link (see make_nats_broker in nats_factory.hpp).
  nats_broker(std::unique_ptr<nats_link> link, options opts);
  ~nats_broker() override;

  nats_broker(const nats_broker&) = delete;
  nats_broker& operator=(const nats_broker&) = delete;

  void start(broker_event_handler& handler) override;
  // Fails queued calls with errors::internal, waits for callbacks in progress, closes
  // the connection. Later calls complete at once with errors::internal.
  void stop() override;

  void subscribe(std::string_view channel, status_callback done) override;
  void unsubscribe(std::string_view channel) override;

  void publish(std::string_view channel, publication pub, const publish_options& opts,
               callback<publish_outcome> done) override;
  void publish_join(std::string_view channel, const client_info& info,
                    status_callback done) override;
  void publish_leave(std::string_view channel, const client_info& info,
                     status_callback done) override;

  // errors::not_available.
  void history(std::string_view channel, const history_query& q,
               callback<history_page> done) override;
  void remove_history(std::string_view channel, status_callback done) override;
  void stream_tops(std::vector<std::string> channels,
                   callback<std::vector<stream_position>> done) override;

  bool supports_history() const override { return false; }

  // Connection state, for /health and metrics. The callback runs on a cnats thread at
  // each change (disconnected → false, reconnected → true); set it before start().
  bool healthy() const;
  void set_state_callback(std::function<void(bool healthy)> fn);
  stats snapshot() const;

  // The NATS subject of `channel` (empty when the channel cannot be one).
  std::string subject_for(std::string_view channel) const;

 private:
  void on_message(const std::string& channel, bool wildcard, std::string_view subject,
                  std::string_view data);
  void send_presence(std::string_view channel, const client_info& info, bool join,
                     status_callback done);

  std::unique_ptr<nats_link> link_;
  const options opts_;
  const std::string client_prefix_;  // "<prefix>.client."
  std::atomic<broker_event_handler*> handler_{nullptr};
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> undecodable_{0};
};

}  // namespace gyre
