// node: the process-wide part of the hub. Owns the shards (one per event loop), holds the
// current configuration snapshot, the engines (broker, presence manager), the token
// verifiers and the metrics, and turns broker events into prepared events for the shards.
//
// It is also where operations that concern many connections start (the server API's
// subscribe / unsubscribe / disconnect / refresh, channels, info): they are posted to every
// shard and their results gathered.
//
// When the broker's subscriptions come back after a connection loss, the node reads the
// stream top of every restored channel it serves (gyre.position_check_batch_size channels
// per read, one read at a time) and has every shard unsubscribe (insufficient state) the
// positioned subscribers that are behind, so that they recover at once instead of at the
// next publication or periodic position check (docs/design/resubscribe-position-check.md).
//
// Threading: methods may be called from any thread unless marked otherwise. The reloadable
// configuration (config, runtime options, token verifiers) is one immutable live_config
// snapshot, replaced as a whole on reload (docs/design/config-reload.md): off-loop readers
// load it atomically (live()); event loops read their shard's cached copy, which follows a
// generation counter without a lock (shard::live()).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.hpp"
#include "broker/control_bus.hpp"
#include "broker/presence_manager.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/publication.hpp"
#include "hub/channel_rules.hpp"
#include "hub/client.hpp"
#include "hub/control.hpp"
#include "hub/counting_engine.hpp"
#include "hub/live_config.hpp"
#include "hub/shard.hpp"

namespace gyre {

namespace config {
struct config;
struct channel_options;
}  // namespace config
namespace auth {
class token_verifier;
}
namespace tracing {
class tracer;
}

class node final : public broker_event_handler, public control_handler {
 public:
  node(std::shared_ptr<const config::config> cfg, broker& b, presence_manager& p, clock& clk,
       metrics::registry& metrics, unsigned shard_count);
  ~node() override;

  // ---- configuration ----
  // The current snapshot (an atomic load; for threads other than the event loops, which
  // use shard::live()).
  std::shared_ptr<const live_config> live() const { return live_.load(std::memory_order_acquire); }
  std::shared_ptr<const config::config> cfg() const { return live()->cfg; }
  runtime_options opts() const { return live()->opts; }
  // Bumped after each publication of a new snapshot (shard::live() follows it).
  uint64_t live_generation() const { return live_generation_.load(std::memory_order_acquire); }
  const std::atomic<uint64_t>& live_generation_source() const { return live_generation_; }
  // Installs the token verifiers in the current snapshot (start-up).
  void set_verifiers(std::shared_ptr<const auth::token_verifier> connection,
                     std::shared_ptr<const auth::token_verifier> subscription);
  // Publishes a new snapshot (reload): the config with its verifiers, at once. Listeners,
  // engines and loops stay; what a reload may change is config::plan_reload's business.
  void reload(std::shared_ptr<const config::config> cfg,
              std::shared_ptr<const auth::token_verifier> connection,
              std::shared_ptr<const auth::token_verifier> subscription);

  regex_cache& regexes() { return regexes_; }

  // ---- identity ----
  const std::string& uid() const { return uid_; }
  const std::string& name() const { return name_; }
  static const std::string& version();
  clock& time() const { return clock_; }

  // ---- engines ----
  broker& engine() { return broker_; }
  presence_manager& presence() { return presence_; }

  // ---- shards ----
  unsigned shard_count() const { return static_cast<unsigned>(shards_.size()); }
  // True while some event loop's inbox is at least half full: the API's requests threads
  // then postpone reading the next request (pacing publishers to the fan-out instead of
  // letting the inbox overflow, docs/design/flow-control.md). Each true answer is counted
  // (gyre_http_api_reads_postponed_total). Any thread, lock-free.
  bool fan_out_backlogged();
  shard& shard_at(unsigned i) { return *shards_[i]; }

  // A shard got its first local subscriber of `channel` / lost its last one. The first
  // shard to add a channel makes the broker subscribe to it.
  void channel_added(std::string_view channel);
  void channel_removed(std::string_view channel);
  // Runs `done` (maybe synchronously, maybe on a broker thread) once the broker delivers
  // `channel` to this node; with an error if subscribing failed.
  void when_channel_ready(std::string_view channel, status_callback done);

  // Interest filter: how many shards hold `channel` in their registry, summed per hash
  // slot (shard::add_subscription / remove_subscription report the channels they add and
  // erase). A broker event of a channel whose slot is 0 has no local subscriber anywhere
  // and is dropped before it is built or posted: a publish to a channel without
  // subscribers costs no allocation and wakes no loop (docs/design/api-threading.md).
  // Any thread.
  void note_local_channel(std::string_view channel, bool added);
  bool may_have_local_subscribers(std::string_view channel) const;

  // ---- broker_event_handler ----
  void on_publication(std::shared_ptr<const delivered_publication> p) override;
  void on_join(std::string_view channel, const client_info& info) override;
  void on_leave(std::string_view channel, const client_info& info) override;
  void on_subscriptions_restored(std::vector<std::string> channels) override;

  // ---- publishing (client publishes and the server API) ----
  // Builds broker options from the channel's namespace: history, meta TTL, delta.
  publish_options publish_options_for(const config::channel_options& ns,
                                      const config::config& cfg) const;

  // ---- node-to-node control ----
  // Starts exchanging control messages through `bus` (loopback for a single node).
  void start_control(control_bus& bus);
  void stop_control();
  // Heartbeats and survey timeouts; called about once a second. A due heartbeat is sent
  // once every shard has reported its figures (a task on each shard's loop).
  void tick_control();
  void on_control(std::string_view payload) override;

  // ---- actions over connections (server API): applied by every node ----
  void disconnect(const connection_filter& f, gyre::disconnect d, std::function<void()> done);
  void unsubscribe(const connection_filter& f, std::string channel, std::function<void()> done);
  void subscribe(const connection_filter& f, server_subscribe_options opts,
                 std::function<void()> done);
  void refresh(const connection_filter& f, bool expired, int64_t expire_at,
               std::optional<std::string> info, std::function<void()> done);
  // Channels with subscribers on any node, with their subscriber counts. Fails with
  // errors::internal when a node does not answer in time.
  void channels(std::function<void(result<std::map<std::string, uint32_t>>)> done);
  // Every live node (this one with exact figures, others from their last heartbeat).
  void info(std::function<void(std::vector<node_info_entry>)> done);
  // Connections of a user on this node (single_connection, user_connection_limit).
  uint32_t user_connection_count(std::string_view user) const;
  void user_connected(std::string_view user);
  void user_disconnected(std::string_view user);

  // Disconnects every client (shutdown) and waits until the shards report done.
  void shutdown(std::function<void()> done);

  // ---- tracing ----
  // A span per client command that reaches the broker (gyre.opentelemetry.client_commands,
  // docs/tracing.md); nullptr: none. Set before the loops start; outlives the clients.
  void set_tracer(tracing::tracer* t) { tracer_ = t; }
  tracing::tracer* tracer() const { return tracer_; }

  // ---- metrics ----
  struct metric_families;
  metric_families& metrics() { return *metrics_; }

 private:
  // Sums of the per-loop counters. Channels and users present on several loops count
  // once per loop.
  struct totals {
    int64_t connections = 0, subscriptions = 0, channels = 0, users = 0;
    uint64_t sent = 0, received = 0;
    uint64_t read_holds = 0, inbox_dropped = 0, inbox_events = 0, conflated = 0;
    int64_t conflating = 0;
  };
  totals sum_shards() const;
  // Runs `task` on every shard; `done` runs once all have finished.
  void for_each_shard(std::function<void(shard&)> task, std::function<void()> done);
  // Applies a control message to this node's connections.
  void apply(const control_message& m);
  void send_control(const control_message& m);
  void local_channels(std::function<void(std::map<std::string, uint32_t>)> done);
  void local_info(std::function<void(node_info_entry)> done);
  void post_to_all(std::shared_ptr<const prepared_event> ev);
  // Reads the next batch of restored channels' stream tops, unless a read is running.
  void check_restored_positions();

  void publish(std::shared_ptr<const live_config> next);

  std::mutex publish_mu_;  // serialises writers of live_ (never taken by readers)
  std::atomic<std::shared_ptr<const live_config>> live_;
  std::atomic<uint64_t> live_generation_{1};

  clock& clock_;
  std::string uid_;
  std::string name_;
  int64_t started_unix_;

  std::vector<std::unique_ptr<shard>> shards_;
  std::atomic<uint64_t> reads_postponed_{0};
  // The interest filter's counters (see note_local_channel): 16,384 slots, 64 KiB.
  static constexpr size_t interest_slots = 16384;
  std::unique_ptr<std::atomic<uint32_t>[]> interest_;
  // Whether the broker needs node-level channel subscriptions (Redis, NATS); the memory
  // broker delivers every channel and the node then keeps no per-channel state.
  bool track_channels_ = true;

  // A channel some shard holds. `refs` counts the shards holding it and is the only thing
  // that decides when the entry goes (channel_removed by the last shard), also after a
  // failed subscribe: erasing it then would let a shard that still holds the channel
  // decrement an entry created later by another shard, and unsubscribe the node under that
  // shard's live subscribers. `attempt` tells the confirmation of the current subscribe
  // from a late one of an earlier entry or attempt (subscribe, unsubscribe, subscribe again:
  // the first confirmation must not make the new entry ready before its own SUBSCRIBE).
  struct channel_state {
    uint32_t refs = 0;
    uint64_t attempt = 0;
    bool ready = false;
    bool subscribing = false;  // false with !ready: the last attempt failed
    std::vector<status_callback> waiters;
  };
  // Starts a broker subscribe for `it` (channels_mu_ held); the caller calls the returned
  // action once the lock is released.
  std::function<void()> begin_subscribe_locked(std::string_view channel, channel_state& st);
  std::mutex channels_mu_;
  std::map<std::string, channel_state, std::less<>> channel_refs_;
  uint64_t subscribe_attempts_ = 0;  // under channels_mu_

  // Restored channels whose stream top is still to be read (each once), and whether a
  // read is in flight (at most one).
  std::mutex position_check_mu_;
  std::set<std::string, std::less<>> position_check_queue_;
  bool position_check_running_ = false;

  // Connections per user, kept only when client.user_connection_limit is set at start-up
  // (a reload may change the limit, not turn it on or off: config/reload_plan.hpp).
  bool count_users_ = false;
  mutable std::mutex users_mu_;
  std::map<std::string, uint32_t, std::less<>> user_connections_;

  std::unique_ptr<metric_families> metrics_;
  tracing::tracer* tracer_ = nullptr;
  // The engines, counted for the node metrics (counting_engine.hpp).
  counting_broker broker_;
  counting_presence presence_;
  regex_cache regexes_;

  // Control plane.
  std::atomic<control_bus*> bus_{nullptr};
  struct remote_node {
    node_info_entry info;
    int64_t seen_ms = 0;
  };
  struct survey {
    std::map<std::string, uint32_t> merged;
    std::vector<std::string> waiting;  // node uids that have not answered yet
    int64_t deadline_ms = 0;
    std::function<void(result<std::map<std::string, uint32_t>>)> done;
  };
  std::mutex control_mu_;
  std::map<std::string, remote_node> nodes_;  // other live nodes
  std::map<uint64_t, survey> surveys_;
  uint64_t next_survey_ = 1;
  int64_t last_heartbeat_ms_ = 0;
};

// Metric families the hub updates (names and labels as Centrifugo exposes them;
// docs/metrics.md). What a command or a connection counts is resolved once here, so that
// counting is one relaxed atomic add; label sets looked up at run time (reply error codes,
// transports) are bounded by the server's own codes and transports. channel_namespace is
// always "" (as in Centrifugo, which resolves no namespace label by default).
struct node::metric_families {
  metric_families(metrics::registry& r, bool recovered_publications_histogram);

  void count_command(protocol::command_kind k) { command_counters[static_cast<size_t>(k)]->inc(); }
  void observe_command(protocol::command_kind k, double seconds) {
    command_durations[static_cast<size_t>(k)]->observe(seconds);
  }
  void count_reply_error(protocol::command_kind k, uint32_t code);
  void count_disconnect(uint32_t code) { disconnects.with({std::to_string(code)}).inc(); }
  // A close frame the server chose (not the echo of a peer's close).
  void count_outgoing_close(std::string_view transport, uint32_t code) {
    outgoing_closes.with({std::string(transport), std::to_string(code)}).inc();
  }
  void count_server_unsubscribe(uint32_t code) {
    unsubscribes.with({std::to_string(code), ""}).inc();
  }
  // A recovery attempt: whether it recovered and how many publications it sent.
  void count_recover(bool recovered, size_t publications);
  void count_send() { sends->inc(); }
  void count_subscription_accepted() { subscriptions_accepted->inc(); }
  // A connection completed connect / such a connection ended (the inflight gauge).
  void connection_accepted(std::string_view transport, protocol::encoding enc);
  void connection_closed(std::string_view transport, protocol::encoding enc);

  static const char* method_name(protocol::command_kind k);

  metrics::family<metrics::counter>& commands;      // by method
  metrics::family<metrics::counter>& reply_errors;  // by method, code, channel_namespace
  metrics::family<metrics::counter>& disconnects;   // by code
  metrics::family<metrics::counter>& unsubscribes;  // by code, channel_namespace
  // transport, accept_protocol, client_name, client_version:
  metrics::family<metrics::counter>& accepted;
  metrics::family<metrics::gauge>& connections_inflight;
  // recovered, channel_namespace, has_recovered_publications:
  metrics::family<metrics::counter>& recover;
  metrics::family<metrics::histogram>& command_duration;  // by method, channel_namespace
  metrics::family<metrics::counter>& messages_sent;       // node to broker, by type
  metrics::family<metrics::counter>& messages_received;   // broker to node, by type
  metrics::family<metrics::counter>& actions;             // by action
  metrics::family<metrics::counter>& outgoing_closes;     // by transport, code
  metrics::family<metrics::histogram>* recovered_publications = nullptr;  // when enabled
  metrics::counter* command_counters[13] = {};
  // Reply error children of the client error codes (100..131) by method, found on first
  // use: later errors of the same kind cost no lookup and no lock.
  std::atomic<metrics::counter*> reply_error_cache[13][32] = {};
  metrics::histogram* command_durations[13] = {};
  metrics::counter* recover_counters[2][2] = {};  // [recovered][has publications]
  metrics::histogram* recovered_publications_all = nullptr;
  metrics::counter* sends = nullptr;
  metrics::counter* subscriptions_accepted = nullptr;
  metrics::counter* received_publication = nullptr;
  metrics::counter* received_join = nullptr;
  metrics::counter* received_leave = nullptr;
  metrics::counter* received_control = nullptr;
  metrics::counter* sent_control = nullptr;
  metrics::counter* action_survey = nullptr;
  engine_counters engine;
};

}  // namespace gyre
