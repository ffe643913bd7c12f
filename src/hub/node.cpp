// node: process-wide hub state; see node.hpp.
#include "hub/node.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <functional>

#include "auth/token_verifier.hpp"
#include "config/channel_resolution.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "hub/prepared_event.hpp"

#ifndef GYRE_VERSION
#define GYRE_VERSION "0.1.0"
#endif

namespace gyre {

namespace {

int64_t ms_of(config::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

uint32_t seconds_of(config::duration d) {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

uint32_t clamp_u32(int64_t v) {
  return static_cast<uint32_t>(std::clamp<int64_t>(v, 0, UINT32_MAX));
}

runtime_options make_options(const config::config& c) {
  runtime_options o;
  const auto& cc = c.client_;
  o.queue_max_size = static_cast<size_t>(cc.queue_max_size_);
  o.ping_interval_ms = ms_of(cc.ping_interval_);
  o.pong_timeout_ms = ms_of(cc.pong_timeout_);
  o.stale_close_delay_ms = ms_of(cc.stale_close_delay_);
  o.expired_close_delay_ms = ms_of(cc.expired_close_delay_);
  o.expired_sub_close_delay_ms = ms_of(cc.expired_sub_close_delay_);
  o.presence_update_interval_ms = ms_of(cc.presence_update_interval_);
  o.position_check_delay_ms = ms_of(cc.channel_position_check_delay_);
  o.channel_limit = static_cast<uint32_t>(cc.channel_limit_);
  o.history_max_publication_limit = static_cast<uint32_t>(cc.history_max_publication_limit_);
  o.recovery_max_publication_limit = static_cast<uint32_t>(cc.recovery_max_publication_limit_);
  o.user_connection_limit = static_cast<uint32_t>(cc.user_connection_limit_);
  o.position_check_batch = clamp_u32(c.gyre_.position_check_batch_size_);
  if (o.position_check_batch == 0) o.position_check_batch = 1;
  // Like Centrifugo, a zero write timeout means the default (1 s).
  o.drain_timeout_ms = ms_of(c.websocket_.write_timeout_);
  if (o.drain_timeout_ms <= 0) o.drain_timeout_ms = 1000;
  o.read_budget_commands =
      static_cast<uint16_t>(std::clamp<int64_t>(c.gyre_.read_budget_commands_, 1, UINT16_MAX));
  o.read_budget_bytes = clamp_u32(c.gyre_.read_budget_bytes_);
  o.inbox_size = clamp_u32(c.gyre_.event_loop_inbox_size_);
  o.compression_level =
      static_cast<int>(std::clamp<int64_t>(c.websocket_.compression_level_, -2, 9));
  o.compression_min_size = clamp_u32(c.websocket_.compression_min_size_);
  return o;
}

std::string default_node_name(const config::config& c) {
  if (!c.node_.name_.empty()) return c.node_.name_;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "gyre");
  return std::string(host) + "_" + std::to_string(c.http_server_.port_);
}

}  // namespace

namespace {
constexpr const char* method_names[13] = {
    "pong",    "connect", "subscribe", "unsubscribe", "publish", "presence",   "presence_stats",
    "history", "ping",    "send",      "rpc",         "refresh", "sub_refresh"};
}  // namespace

const char* node::metric_families::method_name(protocol::command_kind k) {
  size_t i = static_cast<size_t>(k);
  return i < 13 ? method_names[i] : "unknown";
}

node::metric_families::metric_families(metrics::registry& r, bool recovered_publications_histogram)
    : commands(r.add_counter("centrifugo_client_commands_total",
                             "Client commands received by method.", {"method"})),
      reply_errors(r.add_counter("centrifugo_client_num_reply_errors",
                                 "Number of errors in replies sent to clients.",
                                 {"method", "code", "channel_namespace"})),
      disconnects(r.add_counter("centrifugo_client_num_server_disconnects",
                                "Number of server initiated disconnects.", {"code"})),
      unsubscribes(r.add_counter("centrifugo_client_num_server_unsubscribes",
                                 "Number of server initiated unsubscribes.",
                                 {"code", "channel_namespace"})),
      accepted(r.add_counter("centrifugo_client_connections_accepted",
                             "Count of accepted transports.",
                             {"transport", "accept_protocol", "client_name", "client_version"})),
      connections_inflight(r.add_gauge(
          "centrifugo_client_connections_inflight", "Number of inflight client connections.",
          {"transport", "accept_protocol", "client_name", "client_version"})),
      recover(r.add_counter("centrifugo_client_recover",
                            "Count of recover operations with success/fail resolution.",
                            {"recovered", "channel_namespace", "has_recovered_publications"})),
      command_duration(
          r.add_histogram("centrifugo_client_command_duration_seconds_histogram",
                          "Client command duration histogram (until its reply is queued, "
                          "or until it waits for an engine).",
                          {"method", "channel_namespace"}, metrics::default_latency_buckets())),
      messages_sent(r.add_counter("centrifugo_node_messages_sent_count",
                                  "Number of messages sent by node to broker.",
                                  {"type", "channel_namespace"})),
      messages_received(r.add_counter("centrifugo_node_messages_received_count",
                                      "Number of messages received from broker.",
                                      {"type", "channel_namespace"})),
      actions(r.add_counter("centrifugo_node_action_count", "Number of various actions called.",
                            {"action", "channel_namespace"})),
      outgoing_closes(r.add_counter("centrifugo_transport_outgoing_close_count",
                                    "Close frames the server sent to clients, by transport and "
                                    "code (a peer's own close code is not counted).",
                                    {"transport", "code"})) {
  r.add_summary_view("centrifugo_client_command_duration_seconds",
                     "Client command duration summary (quantiles estimated from the histogram).",
                     command_duration, {0.5, 0.99, 0.999});
  for (size_t i = 0; i < 13; ++i) {
    command_counters[i] = &commands.with({method_names[i]});
    command_durations[i] = &command_duration.with({method_names[i], ""});
  }
  for (int rec = 0; rec < 2; ++rec)
    for (int has = 0; has < 2; ++has)
      recover_counters[rec][has] = &recover.with({rec ? "yes" : "no", "", has ? "yes" : "no"});
  if (recovered_publications_histogram) {
    recovered_publications = &r.add_histogram(
        "centrifugo_client_recovered_publications",
        "Number of publications recovered during subscription recovery.", {"channel_namespace"},
        {0, 1, 2, 3, 5, 10, 20, 50, 100, 250, 500, 1000, 2000, 5000, 10000});
    recovered_publications_all = &recovered_publications->with({""});
  }
  sends = &r.add_counter("centrifugo_client_messages_sent_by_clients_total",
                         "Asynchronous send commands received from clients.")
               .get();
  subscriptions_accepted = &r.add_counter("centrifugo_client_subscriptions_accepted",
                                          "Count of accepted client subscriptions.",
                                          {"client_name", "channel_namespace"})
                                .with({"", ""});
  auto sent = [&](const char* type) { return &messages_sent.with({type, ""}); };
  auto received = [&](const char* type) { return &messages_received.with({type, ""}); };
  auto action = [&](const char* name) { return &actions.with({name, ""}); };
  received_publication = received("publication");
  received_join = received("join");
  received_leave = received("leave");
  received_control = received("control");
  sent_control = sent("control");
  action_survey = action("survey");
  engine.sent_publication = sent("publication");
  engine.sent_join = sent("join");
  engine.sent_leave = sent("leave");
  engine.publish = action("publish");
  engine.history = action("history");
  engine.history_remove = action("history_remove");
  engine.history_stream_top = action("history_stream_top");
  engine.broker_subscribe = action("broker_subscribe");
  engine.broker_unsubscribe = action("broker_unsubscribe");
  engine.add_presence = action("add_presence");
  engine.remove_presence = action("remove_presence");
  engine.presence = action("presence");
  engine.presence_stats = action("presence_stats");
}

void node::metric_families::count_reply_error(protocol::command_kind k, uint32_t code) {
  const size_t kind = static_cast<size_t>(k);
  std::atomic<metrics::counter*>* slot = nullptr;
  if (kind < 13 && code >= 100 && code < 132) {
    slot = &reply_error_cache[kind][code - 100];
    if (metrics::counter* c = slot->load(std::memory_order_acquire)) {
      c->inc();
      return;
    }
  }
  char buf[12];
  auto r = std::to_chars(buf, buf + sizeof buf, code);
  metrics::counter& c = reply_errors.with({method_name(k), std::string(buf, r.ptr), ""});
  if (slot) slot->store(&c, std::memory_order_release);
  c.inc();
}

void node::metric_families::count_recover(bool recovered, size_t publications) {
  recover_counters[recovered ? 1 : 0][publications > 0 ? 1 : 0]->inc();
  if (recovered_publications_all)
    recovered_publications_all->observe(static_cast<double>(publications));
}

void node::metric_families::connection_accepted(std::string_view transport,
                                                protocol::encoding enc) {
  // Client name and version stay empty: they come from the client, and a label value a
  // peer chooses would make the number of series unbounded.
  metrics::label_values labels{std::string(transport),
                               enc == protocol::encoding::json ? "json" : "protobuf", "", ""};
  accepted.with(labels).inc();
  connections_inflight.with(labels).add(1);
}

void node::metric_families::connection_closed(std::string_view transport, protocol::encoding enc) {
  connections_inflight
      .with({std::string(transport), enc == protocol::encoding::json ? "json" : "protobuf", "", ""})
      .add(-1);
}

const std::string& node::version() {
  static const std::string v = GYRE_VERSION;
  return v;
}

node::node(std::shared_ptr<const config::config> cfg, broker& b, presence_manager& p, clock& clk,
           metrics::registry& reg, unsigned shard_count)
    : live_(std::make_shared<const live_config>(live_config{cfg, make_options(*cfg), {}, {}})),
      clock_(clk),
      uid_(uuid_v4()),
      name_(default_node_name(*cfg)),
      started_unix_(clk.now_unix()),
      track_channels_(b.needs_channel_subscriptions()),
      metrics_(std::make_unique<metric_families>(
          reg, cfg->prometheus_.recovered_publications_histogram_)),
      broker_(b, metrics_->engine),
      presence_(p, metrics_->engine) {
  count_users_ = cfg->client_.user_connection_limit_ > 0;
  interest_ = std::make_unique<std::atomic<uint32_t>[]>(interest_slots);
  for (size_t i = 0; i < interest_slots; ++i) interest_[i].store(0, std::memory_order_relaxed);
  if (shard_count == 0) shard_count = 1;
  for (unsigned i = 0; i < shard_count; ++i)
    shards_.push_back(std::make_unique<shard>(*this, i, clk.now_mono_ms()));

  // Gauges and counters that live in the shards are summed at scrape time.
  reg.add_collector([this](std::vector<metrics::collected_family>& out) {
    // Channels and users are counted per loop; one present on two loops counts twice
    // here (the info API computes exact figures).
    totals t = sum_shards();
    auto gauge = [&](const char* name, const char* help, double v) {
      metrics::collected_family f{name, help, metrics::kind::gauge, {}};
      f.samples.push_back({"", {}, v});
      out.push_back(std::move(f));
    };
    gauge("centrifugo_node_num_clients", "Connections on this node.",
          static_cast<double>(t.connections));
    gauge("centrifugo_node_num_users", "Distinct users connected to this node.",
          static_cast<double>(t.users));
    gauge("centrifugo_node_num_subscriptions", "Subscriptions on this node.",
          static_cast<double>(t.subscriptions));
    metrics::collected_family inflight{"centrifugo_client_subscriptions_inflight",
                                       "Number of inflight client subscriptions.",
                                       metrics::kind::gauge,
                                       {}};
    inflight.samples.push_back({"",
                                {{"client_name", ""}, {"channel_namespace", ""}},
                                static_cast<double>(t.subscriptions)});
    out.push_back(std::move(inflight));
    gauge("centrifugo_node_num_channels", "Channels with subscribers on this node.",
          static_cast<double>(t.channels));
    size_t nodes = 1;
    {
      std::lock_guard lock(control_mu_);
      nodes += nodes_.size();
    }
    gauge("centrifugo_node_num_nodes", "Number of nodes in the cluster.",
          static_cast<double>(nodes));
    // Flow control (docs/design/flow-control.md); Centrifugo has no such metrics. Slow
    // disconnects are centrifugo_client_num_server_disconnects{code="3008"}.
    auto counter = [&](const char* name, const char* help, double v) {
      metrics::collected_family f{name, help, metrics::kind::counter, {}};
      f.samples.push_back({"", {}, v});
      out.push_back(std::move(f));
    };
    // Per-loop totals of the delivery path (the per-transport, per-frame-type figures are
    // centrifugo_transport_messages_*, below).
    counter("gyre_client_messages_queued_total",
            "Messages queued to client connections (replies and pushes).",
            static_cast<double>(t.sent));
    counter("gyre_client_commands_received_total", "Commands received from clients.",
            static_cast<double>(t.received));
    counter("gyre_client_backpressure_total",
            "Times a connection was not read because its queue was over client.queue_max_size.",
            static_cast<double>(t.read_holds));
    counter("gyre_event_loop_inbox_dropped_total",
            "Events dropped because an event loop's inbox was full (gyre.event_loop_inbox_size).",
            static_cast<double>(t.inbox_dropped));
    // Conflation (docs/design/conflation.md).
    counter("gyre_client_conflated_total",
            "Publications a subscriber that fell behind skipped: a newer one of the same channel "
            "replaced them while held back (namespace option gyre_conflation).",
            static_cast<double>(t.conflated));
    gauge("gyre_client_conflating",
          "Connections behind, holding back publications of gyre_conflation channels.",
          static_cast<double>(t.conflating));
    counter("gyre_http_api_reads_postponed_total",
            "Times a requests thread postponed reading the next API request by 1 ms because an "
            "event loop's inbox was at least half full (gyre.event_loop_inbox_size).",
            static_cast<double>(reads_postponed_.load(std::memory_order_relaxed)));
    gauge("gyre_event_loop_inbox_events", "Events waiting in the event loops' inboxes.",
          static_cast<double>(t.inbox_events));
    std::vector<const transport_counts*> loops;
    for (const auto& s : shards_) loops.push_back(&s->frames());
    collect_transport_counts(loops, out);
    metrics::collected_family build{
        "centrifugo_node_build", "Node build information.", metrics::kind::gauge, {}};
    build.samples.push_back({"", {{"version", version()}}, 1});
    out.push_back(std::move(build));
  });
}

node::~node() = default;

node::totals node::sum_shards() const {
  totals t;
  for (const auto& s : shards_) {
    const auto& c = s->counters();
    t.connections += c.connections.load(std::memory_order_relaxed);
    t.subscriptions += c.subscriptions.load(std::memory_order_relaxed);
    t.channels += c.channels.load(std::memory_order_relaxed);
    t.users += c.users.load(std::memory_order_relaxed);
    t.sent += c.messages_sent.load(std::memory_order_relaxed);
    t.received += c.messages_received.load(std::memory_order_relaxed);
    t.read_holds += c.read_holds.load(std::memory_order_relaxed);
    t.inbox_dropped += c.inbox_dropped.load(std::memory_order_relaxed);
    t.conflated += c.conflated.load(std::memory_order_relaxed);
    t.conflating += c.conflating.load(std::memory_order_relaxed);
    t.inbox_events += s->inbox_events();
  }
  return t;
}

// ---------------------------------------------------------------------------- config

void node::publish(std::shared_ptr<const live_config> next) {
  // The snapshot first, then the generation: a loop that sees the new generation loads
  // this snapshot or a later one.
  const size_t inbox_size = next->opts.inbox_size;
  live_.store(std::move(next), std::memory_order_release);
  live_generation_.fetch_add(1, std::memory_order_acq_rel);
  for (auto& s : shards_) s->set_inbox_limit(inbox_size);
}

void node::set_verifiers(std::shared_ptr<const auth::token_verifier> connection,
                         std::shared_ptr<const auth::token_verifier> subscription) {
  std::lock_guard lock(publish_mu_);
  auto next = std::make_shared<live_config>(*live());
  next->conn_verifier = std::move(connection);
  next->sub_verifier = subscription ? std::move(subscription) : next->conn_verifier;
  publish(std::move(next));
}

void node::reload(std::shared_ptr<const config::config> cfg,
                  std::shared_ptr<const auth::token_verifier> connection,
                  std::shared_ptr<const auth::token_verifier> subscription) {
  std::lock_guard lock(publish_mu_);
  auto next = std::make_shared<live_config>();
  next->opts = make_options(*cfg);
  next->cfg = std::move(cfg);
  next->conn_verifier = std::move(connection);
  next->sub_verifier = subscription ? std::move(subscription) : next->conn_verifier;
  publish(std::move(next));
}

// ---------------------------------------------------------------------------- broker events

void node::post_to_all(std::shared_ptr<const prepared_event> ev) {
  for (auto& s : shards_) s->post_event(ev);
}

bool node::fan_out_backlogged() {
  for (const auto& s : shards_) {
    if (s->backlogged()) {
      reads_postponed_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}

// Sequentially consistent on both sides. A shard adds a channel before its subscriber
// reads the channel's stream (under the broker's channel lock), and the memory broker
// calls on_publication under that lock after assigning the offset: so a publication this
// check drops because it did not see the addition is already in the stream that the
// subscriber reads. For a channel without history it is simply a publication made before
// the subscription, as when a shard drains it before the subscriber registered.
void node::note_local_channel(std::string_view channel, bool added) {
  auto& slot = interest_[std::hash<std::string_view>{}(channel) & (interest_slots - 1)];
  if (added)
    slot.fetch_add(1);
  else
    slot.fetch_sub(1);
}

bool node::may_have_local_subscribers(std::string_view channel) const {
  return interest_[std::hash<std::string_view>{}(channel) & (interest_slots - 1)].load() != 0;
}

void node::on_publication(std::shared_ptr<const delivered_publication> p) {
  metrics_->received_publication->inc();
  if (!may_have_local_subscribers(p->channel)) return;
  post_to_all(std::make_shared<const prepared_event>(std::move(p)));
}

void node::on_join(std::string_view channel, const client_info& info) {
  metrics_->received_join->inc();
  if (!may_have_local_subscribers(channel)) return;
  post_to_all(std::make_shared<const prepared_event>(event_kind::join, std::string(channel), info));
}

void node::on_leave(std::string_view channel, const client_info& info) {
  metrics_->received_leave->inc();
  if (!may_have_local_subscribers(channel)) return;
  post_to_all(
      std::make_shared<const prepared_event>(event_kind::leave, std::string(channel), info));
}

void node::on_subscriptions_restored(std::vector<std::string> channels) {
  size_t queued = 0;
  {
    std::lock_guard channels_lock(channels_mu_);
    std::lock_guard lock(position_check_mu_);
    for (auto& ch : channels) {
      // Only channels still served; one that is being subscribed for the first time reads
      // its history once its subscription is confirmed anyway. (Without per-channel
      // tracking every channel is served; shards skip those without subscribers.)
      if (track_channels_) {
        auto it = channel_refs_.find(ch);
        if (it == channel_refs_.end() || !it->second.ready) continue;
      }
      if (position_check_queue_.insert(std::move(ch)).second) ++queued;
    }
  }
  if (queued == 0) return;
  log::debug("broker subscriptions restored: checking the stream position of {} channels", queued);
  check_restored_positions();
}

void node::check_restored_positions() {
  auto batch = std::make_shared<std::vector<std::string>>();
  const size_t batch_size = live()->opts.position_check_batch;
  {
    std::lock_guard lock(position_check_mu_);
    if (position_check_running_ || position_check_queue_.empty()) return;
    position_check_running_ = true;
    while (!position_check_queue_.empty() && batch->size() < batch_size)
      batch->push_back(
          std::move(position_check_queue_.extract(position_check_queue_.begin()).value()));
  }
  broker_.stream_tops(*batch, [this, batch](result<std::vector<stream_position>> r) {
    // Without the tops, continuity cannot be shown: every positioned subscriber of these
    // channels resubscribes and recovers (nothing is lost, only work is redone).
    if (!r)
      log::warn("could not read the stream position of {} restored channels: {}", batch->size(),
                r.error().message);
    auto tops = r ? std::make_shared<const std::vector<stream_position>>(std::move(r.value()))
                  : std::shared_ptr<const std::vector<stream_position>>();
    // Posted behind the publications already handed to the shards (the broker delivered
    // every publication up to these tops before calling back): a subscriber still behind a
    // top when its shard runs this task missed a publication.
    for (auto& s : shards_) {
      s->post_task([batch, tops](shard& sh) {
        for (size_t i = 0; i < batch->size(); ++i)
          sh.check_stream_top((*batch)[i], tops ? &(*tops)[i] : nullptr);
      });
    }
    {
      std::lock_guard lock(position_check_mu_);
      position_check_running_ = false;
    }
    check_restored_positions();
  });
}

std::function<void()> node::begin_subscribe_locked(std::string_view channel, channel_state& st) {
  st.subscribing = true;
  st.attempt = ++subscribe_attempts_;
  return [this, ch = std::string(channel), attempt = st.attempt] {
    broker_.subscribe(ch, [this, ch, attempt](status s) {
      std::vector<status_callback> waiters;
      {
        std::lock_guard lock(channels_mu_);
        auto it = channel_refs_.find(ch);
        // Removed meanwhile, or the answer to an earlier attempt.
        if (it == channel_refs_.end() || it->second.attempt != attempt) return;
        waiters.swap(it->second.waiters);
        it->second.subscribing = false;
        it->second.ready = static_cast<bool>(s);
      }
      for (auto& w : waiters) w(s);
    });
  };
}

void node::channel_added(std::string_view channel) {
  if (!track_channels_) return;
  std::function<void()> subscribe;
  {
    std::lock_guard lock(channels_mu_);
    auto it = channel_refs_.find(channel);
    if (it == channel_refs_.end())
      it = channel_refs_.emplace(std::string(channel), channel_state{}).first;
    ++it->second.refs;
    // A new entry, or one whose last subscribe failed: (re)subscribe.
    if (!it->second.ready && !it->second.subscribing)
      subscribe = begin_subscribe_locked(channel, it->second);
  }
  if (subscribe) subscribe();
}

void node::when_channel_ready(std::string_view channel, status_callback done) {
  if (!track_channels_) return done(ok_v);
  std::function<void()> subscribe;
  {
    std::unique_lock lock(channels_mu_);
    auto it = channel_refs_.find(channel);
    if (it == channel_refs_.end()) {
      lock.unlock();
      return done(errors::internal);
    }
    if (it->second.ready) {
      lock.unlock();
      return done(ok_v);
    }
    // A subscriber of a shard that still holds the channel after a failed attempt tries
    // again, like the first subscriber of a new entry does.
    if (!it->second.subscribing) subscribe = begin_subscribe_locked(channel, it->second);
    it->second.waiters.push_back(std::move(done));
  }
  if (subscribe) subscribe();
}

void node::channel_removed(std::string_view channel) {
  if (!track_channels_) return;
  bool last = false;
  std::vector<status_callback> waiters;
  {
    std::lock_guard lock(channels_mu_);
    auto it = channel_refs_.find(channel);
    if (it == channel_refs_.end()) return;
    if (--it->second.refs == 0) {
      waiters.swap(it->second.waiters);
      channel_refs_.erase(it);
      last = true;
    }
  }
  for (auto& w : waiters) w(errors::internal);
  if (last) broker_.unsubscribe(channel);
}

publish_options node::publish_options_for(const config::channel_options& ns,
                                          const config::config& cfg) const {
  publish_options o;
  if (ns.history_enabled()) {
    o.history_size = static_cast<uint32_t>(ns.history_size_);
    o.history_ttl_seconds = seconds_of(ns.history_ttl_);
  }
  o.history_meta_ttl_seconds = seconds_of(config::effective_history_meta_ttl(cfg.channel_, ns));
  o.use_delta = ns.delta_publish_;
  return o;
}

// ---------------------------------------------------------------------------- actions

void node::for_each_shard(std::function<void(shard&)> task, std::function<void()> done) {
  auto remaining = std::make_shared<std::atomic<size_t>>(shards_.size());
  auto shared_task = std::make_shared<std::function<void(shard&)>>(std::move(task));
  auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
  for (auto& s : shards_) {
    s->post_task([remaining, shared_task, shared_done](shard& sh) {
      (*shared_task)(sh);
      if (remaining->fetch_sub(1) == 1 && *shared_done) (*shared_done)();
    });
  }
}

namespace {
// Clients of the shard that match the filter. Collected first: acting on them may change
// the per-user list.
std::vector<client*> matching(shard& s, const connection_filter& f) {
  std::vector<client*> out;
  for (client* c = s.first_of(f.user); c; c = c->next_of_user()) {
    std::string id = c->client_id();
    if (!f.client.empty() && id != f.client) continue;
    if (!f.session.empty() && id != f.session) continue;
    bool spared = false;
    for (const auto& w : f.whitelist) spared = spared || w == id;
    if (!spared) out.push_back(c);
  }
  return out;
}
}  // namespace

// ---------------------------------------------------------------------------- control

namespace {
constexpr int64_t heartbeat_interval_ms = 3000;
constexpr int64_t node_expiry_ms = 10000;
constexpr int64_t survey_timeout_ms = 10000;
}  // namespace

void node::start_control(control_bus& bus) {
  bus.start(*this, uid_);
  bus_ = &bus;
  tick_control();
}

void node::stop_control() {
  control_bus* bus = bus_.exchange(nullptr);
  if (bus) bus->stop();
}

void node::send_control(const control_message& m) {
  control_bus* bus = bus_.load();
  if (bus) {
    metrics_->sent_control->inc();
    bus->broadcast(encode_control(m));
  } else {
    apply(m);
  }
}

void node::tick_control() {
  const int64_t now = clock_.now_mono_ms();
  std::vector<std::function<void(result<std::map<std::string, uint32_t>>)>> timed_out;
  {
    std::lock_guard lock(control_mu_);
    for (auto it = nodes_.begin(); it != nodes_.end();)
      it = now - it->second.seen_ms > node_expiry_ms ? nodes_.erase(it) : std::next(it);
    for (auto it = surveys_.begin(); it != surveys_.end();) {
      if (now >= it->second.deadline_ms) {
        timed_out.push_back(std::move(it->second.done));
        it = surveys_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& d : timed_out) d(errors::internal);
  control_bus* bus = bus_.load();
  if (!bus || now - last_heartbeat_ms_ < heartbeat_interval_ms) return;
  last_heartbeat_ms_ = now;
  // Other nodes show the figures this node shows for itself: gathered from the shards, a
  // user or channel present on several event loops counts once (the per-loop sums of
  // sum_shards() would count it once per loop).
  local_info([this](node_info_entry self) {
    control_bus* bus = bus_.load();
    if (!bus) return;  // stopped meanwhile
    control_message m;
    m.type = control_message::kind::info;
    m.info = std::move(self);
    metrics_->sent_control->inc();
    bus->broadcast(encode_control(m));
  });
}

void node::on_control(std::string_view payload) {
  metrics_->received_control->inc();
  auto m = decode_control(payload);
  if (!m) {
    log::warn("ignoring a malformed control message ({} bytes)", payload.size());
    return;
  }
  apply(*m);
}

void node::apply(const control_message& m) {
  using kind = control_message::kind;
  switch (m.type) {
    case kind::info: {
      if (m.info.uid == uid_) return;
      std::lock_guard lock(control_mu_);
      nodes_[m.info.uid] = remote_node{m.info, clock_.now_mono_ms()};
      return;
    }
    case kind::disconnect:
      for_each_shard(
          [f = m.filter, code = m.code, reason = m.reason](shard& s) {
            for (client* c : matching(s, f)) c->disconnect(gyre::disconnect{code, reason});
            s.flush_dirty();
          },
          nullptr);
      return;
    case kind::unsubscribe:
      for_each_shard(
          [f = m.filter, channel = m.channel](shard& s) {
            for (client* c : matching(s, f)) c->server_unsubscribe(channel, unsubscribes::server);
            s.flush_dirty();
          },
          nullptr);
      return;
    case kind::subscribe:
      for_each_shard(
          [f = m.filter, opts = m.subscribe](shard& s) {
            for (client* c : matching(s, f)) c->server_subscribe(opts);
            s.flush_dirty();
          },
          nullptr);
      return;
    case kind::refresh:
      for_each_shard(
          [f = m.filter, expired = m.expired, expire_at = m.expire_at,
           info = m.conn_info](shard& s) {
            for (client* c : matching(s, f)) c->server_refresh(expired, expire_at, info);
            s.flush_dirty();
          },
          nullptr);
      return;
    case kind::survey:
      if (m.op != "channels") return;
      local_channels(
          [this, id = m.survey_id, from = m.from](std::map<std::string, uint32_t> counts) {
            control_message reply;
            reply.type = control_message::kind::survey_reply;
            reply.survey_id = id;
            reply.from = uid_;
            reply.channels = std::move(counts);
            control_bus* bus = bus_.load();
            if (bus) {
              metrics_->sent_control->inc();
              bus->send_to(from, encode_control(reply));
            } else
              apply(reply);
          });
      return;
    case kind::survey_reply: {
      std::function<void(result<std::map<std::string, uint32_t>>)> done;
      std::map<std::string, uint32_t> merged;
      {
        std::lock_guard lock(control_mu_);
        auto it = surveys_.find(m.survey_id);
        if (it == surveys_.end()) return;
        auto& sv = it->second;
        auto w = std::find(sv.waiting.begin(), sv.waiting.end(), m.from);
        if (w == sv.waiting.end()) return;
        sv.waiting.erase(w);
        for (const auto& [ch, n] : m.channels) sv.merged[ch] += n;
        if (!sv.waiting.empty()) return;
        done = std::move(sv.done);
        merged = std::move(sv.merged);
        surveys_.erase(it);
      }
      done(std::move(merged));
      return;
    }
  }
}

// ---------------------------------------------------------------------------- actions

void node::disconnect(const connection_filter& f, gyre::disconnect d, std::function<void()> done) {
  control_message m;
  m.type = control_message::kind::disconnect;
  m.filter = f;
  m.code = d.code;
  m.reason = std::string(d.reason);
  send_control(m);
  if (done) done();
}

void node::unsubscribe(const connection_filter& f, std::string channel,
                       std::function<void()> done) {
  control_message m;
  m.type = control_message::kind::unsubscribe;
  m.filter = f;
  m.channel = std::move(channel);
  send_control(m);
  if (done) done();
}

void node::subscribe(const connection_filter& f, server_subscribe_options opts,
                     std::function<void()> done) {
  control_message m;
  m.type = control_message::kind::subscribe;
  m.filter = f;
  m.subscribe = std::move(opts);
  send_control(m);
  if (done) done();
}

void node::refresh(const connection_filter& f, bool expired, int64_t expire_at,
                   std::optional<std::string> info, std::function<void()> done) {
  control_message m;
  m.type = control_message::kind::refresh;
  m.filter = f;
  m.expired = expired;
  m.expire_at = expire_at;
  m.conn_info = std::move(info);
  send_control(m);
  if (done) done();
}

void node::local_channels(std::function<void(std::map<std::string, uint32_t>)> done) {
  struct gather {
    std::mutex mu;
    std::map<std::string, uint32_t> counts;
  };
  auto g = std::make_shared<gather>();
  for_each_shard(
      [g](shard& s) {
        std::vector<std::pair<std::string, uint32_t>> local;
        s.for_each_channel([&](const std::string& ch, size_t n) {
          local.emplace_back(ch, static_cast<uint32_t>(n));
        });
        std::lock_guard lock(g->mu);
        for (auto& [ch, n] : local) g->counts[ch] += n;
      },
      [g, done = std::move(done)] { done(std::move(g->counts)); });
}

void node::channels(std::function<void(result<std::map<std::string, uint32_t>>)> done) {
  control_bus* bus = bus_.load();
  if (!bus) {
    local_channels(
        [done = std::move(done)](std::map<std::string, uint32_t> c) { done(std::move(c)); });
    return;
  }
  control_message m;
  m.type = control_message::kind::survey;
  m.op = "channels";
  m.from = uid_;
  {
    std::lock_guard lock(control_mu_);
    m.survey_id = next_survey_++;
    survey& sv = surveys_[m.survey_id];
    sv.waiting.push_back(uid_);
    for (const auto& [uid, n] : nodes_) sv.waiting.push_back(uid);
    sv.deadline_ms = clock_.now_mono_ms() + survey_timeout_ms;
    sv.done = std::move(done);
  }
  metrics_->action_survey->inc();
  metrics_->sent_control->inc();
  bus->broadcast(encode_control(m));
}

void node::local_info(std::function<void(node_info_entry)> done) {
  // Distinct channels and users over the shards (one present on several event loops counts
  // once), counted by 64-bit hash: this runs with every heartbeat, and copying every name
  // into a set would raise the process's memory high-water mark by ~100 bytes per channel.
  // Two names with one hash would count once.
  struct gather {
    std::mutex mu;
    std::vector<uint64_t> channels;
    std::vector<uint64_t> users;
  };
  auto g = std::make_shared<gather>();
  for_each_shard(
      [g](shard& s) {
        const std::hash<std::string_view> hash;
        std::vector<uint64_t> chans, users;
        s.for_each_channel([&](const std::string& ch, size_t) { chans.push_back(hash(ch)); });
        s.for_each_user([&](std::string_view u) {
          if (!u.empty()) users.push_back(hash(u));
        });
        std::lock_guard lock(g->mu);
        g->channels.insert(g->channels.end(), chans.begin(), chans.end());
        g->users.insert(g->users.end(), users.begin(), users.end());
      },
      [this, g, done = std::move(done)] {
        auto distinct = [](std::vector<uint64_t>& v) {
          std::sort(v.begin(), v.end());
          return static_cast<uint32_t>(std::unique(v.begin(), v.end()) - v.begin());
        };
        node_info_entry e;
        e.uid = uid_;
        e.name = name_;
        e.version = version();
        totals t = sum_shards();
        e.num_clients = clamp_u32(t.connections);
        e.num_subs = clamp_u32(t.subscriptions);
        e.num_channels = distinct(g->channels);
        e.num_users = distinct(g->users);
        e.uptime_seconds = clock_.now_unix() - started_unix_;
        done(std::move(e));
      });
}

void node::info(std::function<void(std::vector<node_info_entry>)> done) {
  local_info([this, done = std::move(done)](node_info_entry self) {
    std::vector<node_info_entry> all{std::move(self)};
    {
      std::lock_guard lock(control_mu_);
      const int64_t now = clock_.now_mono_ms();
      for (const auto& [uid, n] : nodes_)
        if (now - n.seen_ms <= node_expiry_ms) all.push_back(n.info);
    }
    done(std::move(all));
  });
}

uint32_t node::user_connection_count(std::string_view user) const {
  std::lock_guard lock(users_mu_);
  auto it = user_connections_.find(user);
  return it == user_connections_.end() ? 0 : it->second;
}

void node::user_connected(std::string_view user) {
  if (user.empty() || !count_users_) return;
  std::lock_guard lock(users_mu_);
  auto it = user_connections_.find(user);
  if (it == user_connections_.end())
    user_connections_.emplace(std::string(user), 1);
  else
    ++it->second;
}

void node::user_disconnected(std::string_view user) {
  if (user.empty() || !count_users_) return;
  std::lock_guard lock(users_mu_);
  auto it = user_connections_.find(user);
  if (it == user_connections_.end()) return;
  if (--it->second == 0) user_connections_.erase(it);
}

void node::shutdown(std::function<void()> done) {
  for_each_shard(
      [](shard& s) {
        std::vector<client*> all;
        s.for_each_client([&](client& c) { all.push_back(&c); });
        for (client* c : all) c->disconnect(disconnects::shutdown);
        s.flush_dirty();
      },
      std::move(done));
}

}  // namespace gyre
