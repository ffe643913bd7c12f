// client: the protocol state machine of one connection, independent of the transport that
// carries it. Design: docs/design/connection-state-machine.md (states, the steps of
// connect / subscribe / publish, timers, recovery and the merge rule).
//
// It decodes command batches, runs connect / subscribe / publish / ... with Centrifugo's
// permission and option rules, writes replies and pushes into its outbox, receives
// fan-out events from its shard, and drives its own timers (stale, close, ping/pong,
// expiry, presence refresh, position checks) through one node of the shard's timer wheel.
//
// Commands are explicit steps. Each step returns result<T> (a value, an error reply or a
// disconnect), and each command has ONE failure path (fail_command, fail_connect) that
// turns a failed step into the error reply or the disconnect. A step that waits for an
// engine (or, later, for a proxy) is asynchronous: the command holds the connection's
// input (busy_) until its continuation runs back on this loop.
//
// Invariants:
// - Commands of a connection run strictly in order. A command that waits for an engine
//   parks the rest of the batch; the transport stops reading meanwhile.
// - A subscribe reply is queued before any push of that channel: events that arrive while a
//   subscription is being set up are buffered and merged by offset after the reply
//   (recovery.hpp). A server-side unsubscribe or a loss of continuity that happens while a
//   subscription is being set up takes effect right after its reply.
// - An asynchronous step finds its subscription by the attempt number it was started with,
//   never by channel name: a later subscription of the same channel is another attempt.
// - The client is destroyed only when its transport is closed AND no engine callback is in
//   flight (inflight_ == 0): callbacks may safely capture `this`.
//
// Conflation (namespace option gyre_conflation, docs/design/conflation.md): while the
// outbox holds more than half of client.queue_max_size, publications of conflated
// subscriptions are held back in `extra_`, the latest per subscription, and queued when the
// transport has written everything (release_held).
//
// Memory: this object is part of every connection, so rarely used data lives in `extra_`,
// allocated only when needed; an idle connected client is a few hundred bytes.
//
// Threading: every method runs on the event loop that owns the connection. Engine
// callbacks that complete on other threads are posted back to that loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error_codes.hpp"
#include "core/publication.hpp"
#include "core/random.hpp"
#include "core/result.hpp"
#include "hub/outbox.hpp"
#include "hub/recovery.hpp"
#include "hub/subscription.hpp"
#include "hub/timer_wheel.hpp"
#include "hub/transport_metrics.hpp"
#include "protocol/client_messages.hpp"
#include "protocol/codec.hpp"

namespace gyre {

namespace config {
struct config;
struct channel_options;
}  // namespace config

class shard;
class node;
class client_transport;
class fanout_chunks;
class prepared_event;
enum class pub_variant : uint8_t;
struct channel_rules;
namespace tracing {
class tracer;
}
namespace proxy {
struct request;
struct reply;
struct outcome;
enum class call_kind : uint8_t;
}  // namespace proxy
namespace config {
struct proxy_config;
}

// Options of a server-side subscription made by the API or a token.
struct server_subscribe_options {
  std::string channel;
  int64_t expire_at = 0;
  std::string info;  // chan_info
  std::string data;
  std::optional<stream_position> recover_since;
  std::optional<bool> presence, join_leave, force_push_join_leave, force_recovery,
      force_positioning;
};

class client {
 public:
  client(shard& s, client_transport& t, protocol::encoding enc);
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  ~client();

  // ---- from the transport ----
  // One transport message: a batch of commands. `frame` is followed by
  // protocol::decode_padding readable bytes. The commands run one at a time, in order;
  // those that may not run yet (see accepting_input) wait as bytes, never more than the
  // rest of one message (docs/design/flow-control.md).
  void on_frame(std::string_view frame);
  // Unidirectional transports (docs/transports.md): the connection's only input, its
  // ConnectRequest (protocol/uni_connect.hpp). The connect result goes out as a Connect
  // push; a connect error becomes a disconnect
  // (client.connect_code_to_unidirectional_disconnect).
  void connect_unidirectional(protocol::connect_request req);
  // Bytes of commands received and not run yet (an emulation request adds to them).
  size_t parked_bytes() const;
  // The transport starts a read turn: at most gyre.read_budget_commands commands run
  // until the next turn, the commands still waiting from earlier ones first.
  void begin_turn();
  // False while the client takes no more input now: a command waits for an engine, or
  // commands wait because the turn's budget is spent or the queue is over
  // client.queue_max_size. The transport stops reading meanwhile. Always true once the
  // client failed or closes (it then drops its input).
  bool accepting_input() const;
  bool waiting_for_engine() const { return busy_ != 0; }
  // The outbox is over client.queue_max_size (counted as outbox::queued_bytes).
  bool over_queue_limit() const;
  // The connection fell behind and holds back publications of its conflated subscriptions
  // (namespace gyre_conflation, docs/design/conflation.md).
  bool holding_back() const { return holding_back_; }
  // Called by the transport when it has written everything queued (the outbox is empty):
  // a client that holds back publications queues the latest of each now, up to half of
  // client.queue_max_size, or stops holding back when it holds nothing. Returns true when
  // it queued something (the transport then writes again).
  bool release_held();
  // The connection is gone (socket closed, close handshake done or timed out). Returns
  // true when the transport may destroy the connection now; otherwise the client calls
  // client_transport::destroy() once its last engine callback has run.
  bool on_transport_closed();
  // The transport had to drop the connection for a transport-level reason (close code
  // already sent); the client cleans up without sending anything.
  void on_transport_error();

  // ---- from the shard ----
  // Stream top read after the broker re-established its subscription (null: unknown); a
  // positioned subscription behind it lost publications (shard::check_stream_top).
  void check_stream_top(subscription& sub, const stream_position* top);
  void on_event(const std::shared_ptr<const prepared_event>& ev, subscription& sub,
                fanout_chunks& chunks);
  // The shard dropped publications of `sub`'s channel (its inbox was full): a positioned
  // subscription recovers through the lost-continuity path (unsubscribe 2500, the SDK
  // resubscribes from its position); a plain one misses them, as at-most-once allows.
  void on_events_lost(subscription& sub);
  void run_deferred();
  void on_timer(int64_t now_ms);

  // ---- actions requested by the server API (on this loop) ----
  void disconnect(gyre::disconnect d);
  void server_unsubscribe(std::string_view channel, unsubscribe_code code);
  void server_subscribe(server_subscribe_options opts);
  // refresh API: expired=true disconnects as expired; otherwise sets expire_at/info.
  void server_refresh(bool expired, int64_t expire_at, std::optional<std::string> info);
  // Unicast message push.
  void send_message(std::string_view data);

  // ---- identity ----
  std::string client_id() const { return uuid_to_string(id_); }
  const uuid_bytes& id_bytes() const { return id_; }
  const std::string& user() const { return user_; }
  bool connected() const { return state_ == state::connected; }
  protocol::encoding encoding() const { return encoding_; }
  // The transport negotiated permessage-deflate: channel events go out as the shared
  // compressed frames (prepared_event::deflated, docs/compression.md).
  void set_deflate(bool on) { deflate_ = on; }
  bool deflate() const { return deflate_; }
  size_t subscription_count() const { return subs_.size(); }
  bool is_subscribed(std::string_view channel) const { return find_sub(channel) != nullptr; }

  // ---- for the shard and the transport ----
  outbox& out() { return out_; }
  timer_node& timer() { return timer_; }
  client_transport& transport() { return transport_; }
  client* next_of_user() const { return user_next_; }
  bool counted() const { return counted_; }
  bool dirty_ = false;           // in the shard's dirty list
  bool deferred_ = false;        // in the shard's deferred list
  client* user_prev_ = nullptr;  // the shard's per-user list
  client* user_next_ = nullptr;

 private:
  enum class state : uint8_t {
    initial,  // waiting for connect (stale deadline)
    connected,
    failed,   // connect failed with an error reply: ignore input, wait for close
    closing,  // disconnect requested, transport closing (close deadline)
    closed,   // transport gone
  };

  struct extra;  // rarely used per-connection data
  struct identity;
  struct subscribe_plan;
  struct subscribe_flow;
  struct connect_join;
  struct publish_plan;
  struct renewal;
  using subscribe_done = std::function<void(result<protocol::subscribe_result>, uint32_t attempt)>;

  // Commands.
  void dispatch(protocol::command& cmd);
  void run_command(protocol::command& cmd);
  // Runs the commands of `batch` from `pos` while they may run; returns where it stopped
  // (batch.size() when all ran, npos when the connection failed on the way).
  size_t run_commands(std::string_view batch, size_t pos);
  // Decodes the first command of `rest` into `cmd` and counts it; returns its size, or 0
  // after disconnecting the client for a malformed batch.
  size_t decode_next(std::string_view rest, protocol::command& cmd);
  bool may_run_command() const;
  void run_parked();
  void resume_commands();
  // The one failure path of a command: an error reply, or the disconnect it asks for.
  template <typename T>
  void fail_command(protocol::command_kind k, uint32_t id, const result<T>& failed);
  // A connect error as the disconnect a unidirectional connection gets instead.
  gyre::disconnect unidirectional_disconnect(protocol_error e) const;
  // The one failure path of connect: an error reply leaves the connection `failed` until
  // the peer closes (bounded by the close deadline); a disconnect closes it.
  template <typename T>
  void fail_connect(uint32_t id, const result<T>& failed);

  // connect: authenticate -> [connect proxy] -> establish -> subscriptions -> reply.
  void handle_connect(uint32_t id, protocol::connect_request& req);
  result<identity> authenticate(const protocol::connect_request& req);
  void establish(uint32_t id, const protocol::connect_request& req, identity who);
  // A channel of connect.subs becomes a server-side subscription only when the client
  // could subscribe to it without a token (Centrifugo's rule); otherwise it is skipped.
  bool may_subscribe_at_connect(const config::config& cfg, const channel_rules& rules,
                                const std::string& channel, const std::string& user);
  void finish_connect(connect_join& join);

  // subscribe: plan -> [subscribe proxy] -> register and buffer -> channel ready ->
  // read the stream -> decide recovery -> reply -> merge buffered events.
  void handle_subscribe(uint32_t id, protocol::subscribe_request& req);
  result<subscribe_plan> plan_subscription(const protocol::subscribe_request& req);
  void start_subscription(subscribe_plan plan, subscribe_done done);
  void on_channel_ready(std::shared_ptr<subscribe_flow> flow, status st);
  void on_stream_read(std::shared_ptr<subscribe_flow> flow, result<history_page> r);
  void abort_subscription(subscribe_flow& flow, subscription* sub,
                          result<protocol::subscribe_result> why);
  subscription* find_attempt(uint32_t attempt) const;
  recovery::request recovery_request(const subscribe_plan& p, const subscription& sub) const;
  // After the subscribe reply is queued: live delivery starts with the buffered events.
  void activate(uint32_t attempt);
  void buffer_event(const std::shared_ptr<const prepared_event>& ev, subscription& sub);

  // publish: plan -> [publish proxy] -> broker -> reply.
  void handle_publish(uint32_t id, protocol::publish_request& req);
  result<publish_plan> plan_publish(protocol::publish_request& req);

  void handle_unsubscribe(uint32_t id, protocol::unsubscribe_request& req);
  void handle_presence(uint32_t id, protocol::presence_request& req);
  void handle_presence_stats(uint32_t id, protocol::presence_stats_request& req);
  void handle_history(uint32_t id, protocol::history_request& req);
  void handle_rpc(uint32_t id, protocol::rpc_request& req);
  void handle_send(protocol::send_request& req);
  void handle_refresh(uint32_t id, protocol::refresh_request& req);
  result<renewal> verify_refresh(const protocol::refresh_request& req);
  void handle_sub_refresh(uint32_t id, protocol::sub_refresh_request& req);
  result<renewal> verify_sub_refresh(const protocol::sub_refresh_request& req);
  void handle_pong();

  // Backend proxies (docs/proxy.md): each call is an asynchronous step.
  proxy::request proxy_request(proxy::call_kind k, const config::proxy_config& p) const;
  // Calls `p`; `then` runs on this loop with the outcome unless the transport is gone.
  // `holds_input`: a step of the current command (begin_async / end_async); otherwise a
  // background call (connection or subscription refresh) that only keeps the client alive.
  void call_proxy(const config::proxy_config& p, std::string_view name, const proxy::request& r,
                  std::function<void(proxy::outcome&)> then, bool holds_input = true);
  // The backend's refusal (its disconnect or error) or the failure of the call (error 100),
  // as the failure of a step; ok when it answered with a result or nothing.
  status proxy_refusal(const proxy::outcome& o, std::string_view what);
  void connect_with_proxy(uint32_t id, protocol::connect_request& req);
  result<identity> identity_from_proxy(proxy::reply& answer);
  void subscribe_with_proxy(uint32_t id, subscribe_plan plan, std::string data);
  void publish_with_proxy(uint32_t id, publish_plan plan);
  void rpc_with_proxy(uint32_t id, const config::proxy_config& p, std::string_view name,
                      protocol::rpc_request& req);
  void refresh_with_proxy();
  void sub_refresh_with_proxy(subscription& sub);
  bool server_side_refresh() const;

  // Subscriptions.
  // Unregisters and destroys `sub`; announces a leave if its join was announced.
  void remove_subscription(subscription& sub);
  subscription* find_sub(std::string_view channel) const;
  void deliver_publication(const std::shared_ptr<const prepared_event>& ev, subscription& sub,
                           fanout_chunks* chunks);
  void push_publication(const std::shared_ptr<const prepared_event>& ev, subscription& sub,
                        fanout_chunks* chunks);
  // Conflation (hub/conflation.hpp): `ev` becomes the publication held for `sub`, replacing
  // (skipping) the one it held.
  void hold_back(const std::shared_ptr<const prepared_event>& ev, subscription& sub);
  void stop_holding_back();
  void lost_continuity(subscription& sub);
  // Whether `sub` is a live positioned subscription (one a position check judges), and
  // whether `top` shows it behind.
  static bool judged(const subscription& sub);
  static bool behind(const subscription& sub, const stream_position& top);
  void confirm_behind(std::string channel);
  client_info info_for(const subscription* sub) const;
  // Whether `data` (from a token's b64data) can go into a reply of this connection: any
  // bytes on Protobuf, only JSON on a JSON connection.
  bool reply_can_carry(std::string_view data) const;

  // Tracing (gyre.opentelemetry.client_commands, docs/tracing.md): a command that reaches
  // the broker gets a span, kept in extra_ until its reply is sent (commands of a
  // connection run one at a time, so one span is open at most).
  void start_command_span(tracing::tracer& t, const protocol::command& cmd);
  void end_command_span(const protocol::reply& r);

  // Output.
  void send_reply(const protocol::reply& r);
  void send_reply(const protocol::reply& r, frame_type f);
  // `k`: the command answered, for centrifugo_client_num_reply_errors{method}.
  void send_error(protocol::command_kind k, uint32_t id, protocol_error e);
  void send_bytes(std::string_view bytes, frame_type f);
  void send_unsubscribe_push(std::string_view channel, unsubscribe_code code);
  // Queues a chunk (nothing once the connection is closing). enqueue_owned() is for a
  // chunk this client acquired: returned to the pool when it was not queued.
  // `own_reply`: a reply to this client's command. Those are bounded by the transport,
  // which stops reading while the queue is over client.queue_max_size; anything else
  // queued over the limit (pushes) makes the client slow (docs/design/flow-control.md).
  // `f`: what the chunk is, for centrifugo_transport_messages_sent (transport_metrics.hpp).
  void enqueue(out_chunk* c, frame_type f, bool own_reply = false);
  void enqueue_owned(out_chunk* c, frame_type f, bool own_reply = false);
  uint8_t transport_slot();
  // A chunk of a channel event for this client outside the fan-out (compressed if the
  // transport negotiated it).
  out_chunk* event_chunk(const prepared_event& ev, pub_variant v);
  void schedule_flush();

  // Presence and history reads share their checks: channel, namespace, feature, permission.
  enum class read_kind : uint8_t { presence, history };
  result<const config::channel_options*> check_read_access(const std::string& channel,
                                                           read_kind kind,
                                                           const config::config& cfg);
  // The engine callback of an asynchronous command: back on this loop, replies with
  // make(value) or with the error, and ends the command.
  template <typename T, typename Make>
  std::function<void(result<T>)> reply_when_done(protocol::command_kind k, uint32_t id, Make make);

  // Async plumbing: run `f` on this loop (inline when already there).
  void begin_async();
  void end_async();
  void release_inflight();
  template <typename F>
  void on_loop(F&& f);

  // Timers: one wheel node, armed at the earliest deadline that applies in the state.
  void rearm_timer();
  void cleanup();
  // A closing connection stops counting as a client at once, not when its socket is gone.
  void stop_counting();

  shard& shard_;
  client_transport& transport_;
  outbox out_;
  timer_node timer_;
  std::unique_ptr<extra> extra_;
  std::vector<std::unique_ptr<subscription>> subs_;
  std::string user_;
  uuid_bytes id_;
  int64_t expire_at_ = 0;  // unix seconds, 0 = never (token_expiry.hpp)
  // Deadlines on the loop's monotonic clock (ms); 0 = not armed. Which apply depends on
  // the state (docs/design/connection-state-machine.md, "Timers").
  int64_t stale_due_ms_ = 0;        // initial: the connect command must arrive before it
  int64_t close_due_ms_ = 0;        // failed, closing: drop the socket if the peer lingers
  int64_t ping_due_ms_ = 0;         // connected: the next ping
  int64_t pong_due_ms_ = 0;         // connected: a ping is unanswered until then
  int64_t maintenance_due_ms_ = 0;  // connected: presence refresh / position check
  uint32_t inflight_ = 0;
  state state_ = state::initial;
  protocol::encoding encoding_;
  uint16_t busy_ = 0;       // commands waiting for an engine
  uint16_t turn_left_ = 0;  // commands this read turn may still run (gyre.read_budget_commands)
  bool slow_ = false;
  bool transport_closed_ = false;
  bool counted_ = true;            // counted in the shard's connections gauge
  bool user_indexed_ = false;      // in the shard's per-user index and the node's user counts
  bool holding_back_ = false;      // behind: extra_->held holds publications (conflation)
  bool deflate_ = false;           // set_deflate()
  bool inflight_counted_ = false;  // in centrifugo_client_connections_inflight
  bool bare_ = false;              // unidirectional: bare pushes, no commands, no pongs

  protocol::push_envelope envelope() const {
    return bare_ ? protocol::push_envelope::bare : protocol::push_envelope::reply;
  }
  static constexpr uint8_t no_transport_slot = 0xff;
  uint8_t transport_slot_ = no_transport_slot;  // transport_metrics.hpp, on first use
};

}  // namespace gyre
