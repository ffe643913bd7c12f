// client: the per-connection protocol state machine; see client.hpp and
// docs/design/connection-state-machine.md.
#include "hub/client.hpp"

#include "core/ascii.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "auth/token_verifier.hpp"
#include "config/channel_resolution.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "hub/channel_rules.hpp"
#include "hub/client_transport.hpp"
#include "hub/conflation.hpp"
#include "hub/node.hpp"
#include "hub/prepared_event.hpp"
#include "hub/recovery.hpp"
#include "hub/shard.hpp"
#include "hub/token_expiry.hpp"
#include "protocol/data_format.hpp"
#include "protocol/tags_filter.hpp"
#include "proxy/mapping.hpp"
#include "proxy/proxy_call.hpp"
#include "proxy/selection.hpp"
#include "tracing/tracer.hpp"

namespace gyre {

namespace {

using namespace std::chrono;

// How long a peer gets to complete the close handshake (after our close frame, or after a
// failed connect) before the socket is dropped.
constexpr int64_t close_grace_ms = 5000;

uint32_t to_s(config::duration d) {
  return static_cast<uint32_t>(duration_cast<seconds>(d).count());
}

// The failure of one step carried into the result of the next.
template <typename U, typename T>
result<U> failure_of(const result<T>& r) {
  if (r.is_disconnect()) return r.as_disconnect();
  return r.error() ? r.error() : errors::internal;
}

// Centrifugo's three-way permission rule for publish / presence / history.
bool allowed(bool for_client, bool for_subscriber, bool for_anonymous, bool subscribed,
             const std::string& user, bool insecure) {
  bool user_ok = !user.empty() || for_anonymous;
  if (for_client && user_ok) return true;
  if (for_subscriber && subscribed && user_ok) return true;
  return insecure;
}

bool has_fossil(const config::channel_options& ns) {
  return std::find(ns.allowed_delta_types_.begin(), ns.allowed_delta_types_.end(), "fossil") !=
         ns.allowed_delta_types_.end();
}

uint32_t meta_ttl_seconds(const config::channel_options& ns, const config::config& cfg) {
  return to_s(config::effective_history_meta_ttl(cfg.channel_, ns));
}

// Scratch space for encoding replies on this thread.
std::string& scratch() {
  thread_local std::string s;
  s.clear();
  return s;
}

// The ping of each encoding, encoded once and shared by every connection.
const shared_buffer& ping_bytes(protocol::encoding enc) {
  static const shared_buffer json = [] {
    std::string s;
    protocol::json_codec().encode_ping(s);
    return shared_buffer::copy_of(s);
  }();
  static const shared_buffer pb = [] {
    std::string s;
    protocol::protobuf_codec().encode_ping(s);
    return shared_buffer::copy_of(s);
  }();
  return enc == protocol::encoding::json ? json : pb;
}

std::vector<protocol::command>& command_scratch() {
  thread_local std::vector<protocol::command> v;
  return v;
}

// Refusals a peer can cause at will.
log::limiter token_refusals;

// Subscription attempts are numbered per loop: a client only compares the numbers of its
// own attempts, and the counter costs the connection nothing.
uint32_t next_attempt() {
  thread_local uint32_t n = 0;
  if (++n == 0) ++n;  // 0 means "no attempt"
  return n;
}

frame_type frame_of(event_kind k) {
  switch (k) {
    case event_kind::join:
      return frame_type::push_join;
    case event_kind::leave:
      return frame_type::push_leave;
    case event_kind::publication:
      break;
  }
  return frame_type::push_publication;
}

}  // namespace

// Rarely used connection data, allocated on demand.
struct client::extra {
  std::string conn_info;
  std::string meta;
  std::vector<std::string> token_channels;  // server-side channels from the token
  // The connect command's emulated headers, kept for proxies (emulated_headers).
  std::vector<std::pair<std::string, std::string>> emulated_headers;
  // The rest of a message whose commands may not run yet (behind one waiting for an
  // engine, or over the turn's budget or the queue limit), as bytes followed by
  // protocol::decode_padding: at most one message (websocket.message_size_limit).
  std::string parked;
  size_t parked_pos = 0;  // the next command to run
  // Server API subscribes that came after a server unsubscribe of a channel whose
  // subscribe was still in progress: made once that unsubscribe took effect.
  std::vector<server_subscribe_options> subscribes_after_unsubscribe;
  // While the connection is behind (client::holding_back_): the latest publication held
  // back for each conflated subscription (hub/conflation.hpp).
  std::unique_ptr<conflation> held;
  // The span of the command in progress (tracing on) and that command's id.
  std::optional<tracing::span> command_span;
  uint32_t command_span_id = 0;

  // Nothing kept: the connection may give this object back.
  bool unused() const {
    return conn_info.empty() && meta.empty() && token_channels.empty() &&
           emulated_headers.empty() && parked.empty() && subscribes_after_unsubscribe.empty() &&
           !held && !command_span;
  }
};

// Who the connection is, as connect's authentication step (and later the connect proxy)
// decides it.
struct client::identity {
  std::string user;
  int64_t expire_at = 0;  // token_expiry.hpp
  std::string info;
  std::string meta;
  std::map<std::string, auth::sub_options> token_subs;
  std::vector<std::string> token_channels;
  std::string data;  // for the connect reply (connect proxy)
  // The channels of connect.subs may become server-side subscriptions (identity from a
  // token, or anonymous / insecure; not from client.user_id_http_header).
  bool client_channels = false;
};

// Everything decided about a subscription before it is set up.
struct client::subscribe_plan {
  std::string channel;
  std::shared_ptr<const config::config> cfg;
  const config::channel_options* ns = nullptr;
  bool server_side = false;
  bool positioned = false;
  bool recoverable = false;
  bool push_join_leave = false;
  bool emit_presence = false;
  bool emit_join_leave = false;
  bool delta = false;
  bool recover = false;        // recover from `since`
  bool asked_recover = false;  // the client sent `recover: true` (echoed as was_recovering)
  stream_position since;
  bool cache_mode = false;
  bool reject_unrecoverable = false;
  int64_t expire_at = 0;
  bool expires = false;  // subscription token with expiry: client-side sub_refresh
  std::string chan_info;
  std::string data;
  std::shared_ptr<const protocol::compiled_filter> filter;
  std::string proxy_name;  // the subscribe proxy decides (namespace subscribe_proxy_enabled)
};

// A subscription being set up: its plan, its attempt number and who wants the result.
struct client::subscribe_flow {
  subscribe_plan plan;
  uint32_t attempt = 0;
  subscribe_done done;
};

// Connect replies once every server-side subscription is set up.
struct client::connect_join {
  uint32_t id = 0;
  size_t pending = 0;
  protocol::connect_result reply;
  std::vector<uint32_t> attempts;
  std::optional<gyre::result<protocol::subscribe_result>> failure;
};

// A refreshed token: the new expiry and what it changes.
struct client::renewal {
  int64_t expire_at = 0;
  std::string info;
  std::string meta;
};

struct client::publish_plan {
  std::string channel;
  publication pub;
  publish_options opts;
  std::string proxy_name;  // the publish proxy decides (namespace publish_proxy_enabled)
};

client::client(shard& s, client_transport& t, protocol::encoding enc)
    : shard_(s),
      transport_(t),
      id_(uuid_v4_bytes()),
      encoding_(enc),
      bare_(t.envelope() == protocol::push_envelope::bare) {
  turn_left_ = shard_.opts().read_budget_commands;
  timer_.owner = this;
  shard_.attach(*this);
  stale_due_ms_ = shard_.now_ms() + shard_.opts().stale_close_delay_ms;
  rearm_timer();
}

client::~client() {
  shard_.wheel().cancel(timer_);
  out_.clear(shard_.pool());
  shard_.detach(*this);
}

// ---------------------------------------------------------------------------- input

void client::on_frame(std::string_view frame) {
  if (state_ >= state::failed) return;
  if (frame.empty()) {
    log::debug("client {}: empty command batch", client_id());
    return disconnect(disconnects::bad_request);
  }
  if (extra_ && extra_->parked_pos < extra_->parked.size()) {
    // Commands of an earlier message still wait (the transport should not have read
    // more): these run after them.
    if (encoding_ == protocol::encoding::json && extra_->parked.back() != '\n')
      extra_->parked.push_back('\n');
    extra_->parked.append(frame);
    extra_->parked.reserve(extra_->parked.size() + protocol::decode_padding);
    return;
  }
  size_t stop = run_commands(frame, 0);
  if (stop >= frame.size()) return;  // all ran, or the connection failed
  // Keep the commands that may not run yet, in order, as bytes.
  if (!extra_) extra_ = std::make_unique<extra>();
  extra_->parked.assign(frame.substr(stop));
  extra_->parked.reserve(extra_->parked.size() + protocol::decode_padding);
  extra_->parked_pos = 0;
}

void client::connect_unidirectional(protocol::connect_request req) {
  if (state_ != state::initial) return;
  shard_.counters().messages_received.fetch_add(1, std::memory_order_relaxed);
  protocol::command c;
  c.id = 1;
  c.kind = protocol::command_kind::connect;
  c.request = std::move(req);
  dispatch(c);
  schedule_flush();
}

size_t client::parked_bytes() const {
  return extra_ ? extra_->parked.size() - extra_->parked_pos : 0;
}

bool client::may_run_command() const {
  return busy_ == 0 && turn_left_ > 0 && !over_queue_limit();
}

bool client::over_queue_limit() const {
  return out_.queued_bytes() > shard_.opts().queue_max_size;
}

bool client::accepting_input() const {
  // A client that failed or is closing drops what it gets (waiting commands included):
  // the transport may read on, to see the peer's close.
  if (state_ >= state::failed) return true;
  return may_run_command() && !(extra_ && extra_->parked_pos < extra_->parked.size());
}

size_t client::run_commands(std::string_view batch, size_t pos) {
  while (pos < batch.size()) {
    if (state_ >= state::failed) return std::string_view::npos;
    if (!may_run_command()) return pos;
    protocol::command cmd;
    size_t n = decode_next(batch.substr(pos), cmd);
    if (n == 0) return std::string_view::npos;
    pos += n;
    dispatch(cmd);
  }
  return pos;
}

size_t client::decode_next(std::string_view rest, protocol::command& cmd) {
  // One command at a time: a message never costs more decoded commands than one.
  const protocol::codec& codec = protocol::codec_for(encoding_);
  auto& cmds = command_scratch();
  cmds.clear();
  size_t n = codec.next_command_size(rest);
  if (n == 0 || codec.decode_commands(rest.substr(0, n), cmds) != protocol::decode_status::ok ||
      cmds.size() != 1) {
    log::debug("client {}: undecodable command batch", client_id());
    disconnect(disconnects::bad_request);
    return 0;
  }
  cmd = std::move(cmds.front());
  if (turn_left_ > 0) --turn_left_;
  shard_.counters().messages_received.fetch_add(1, std::memory_order_relaxed);
  shard_.frames().received(transport_slot(), frame_of_command(cmd.kind), n);
  return n;
}

void client::run_parked() {
  // Reads extra_->parked afresh around every command, and moves past a command before
  // running it: a command that completes at once resumes the ones behind it from inside
  // dispatch(), and that nested run continues where this one is.
  while (extra_ && extra_->parked_pos < extra_->parked.size()) {
    if (state_ >= state::failed || !may_run_command()) return;
    protocol::command cmd;
    size_t n = decode_next(std::string_view(extra_->parked).substr(extra_->parked_pos), cmd);
    if (n == 0) return;
    extra_->parked_pos += n;
    dispatch(cmd);
  }
  if (extra_ && !extra_->parked.empty()) {
    extra_->parked.clear();
    extra_->parked.shrink_to_fit();  // an idle connection keeps no message buffer
    extra_->parked_pos = 0;
  }
}

void client::begin_turn() {
  turn_left_ = shard_.opts().read_budget_commands;
  run_parked();
  schedule_flush();
}

void client::resume_commands() {
  run_parked();
  schedule_flush();
  if (busy_ == 0 && state_ < state::closing) transport_.input_ready();
}

void client::dispatch(protocol::command& cmd) {
  node& n = shard_.owner();
  n.metrics().count_command(cmd.kind);
  auto started = std::chrono::steady_clock::now();
  if (tracing::tracer* t = n.tracer(); t && state_ == state::connected && cmd.id != 0)
    start_command_span(*t, cmd);
  run_command(cmd);
  n.metrics().observe_command(
      cmd.kind, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void client::run_command(protocol::command& cmd) {
  using protocol::command_kind;
  if (cmd.kind == command_kind::none) {
    if (cmd.id != 0) return disconnect(disconnects::bad_request);  // nothing we know
    return handle_pong();
  }
  if (cmd.kind == command_kind::ping) return disconnect(disconnects::bad_request);
  if (cmd.kind == command_kind::send) {
    if (state_ != state::connected) return disconnect(disconnects::bad_request);
    return handle_send(cmd.as<protocol::send_request>());
  }
  if (cmd.id == 0) return disconnect(disconnects::bad_request);
  if (cmd.kind == command_kind::connect) {
    if (state_ != state::initial) return disconnect(disconnects::bad_request);
    return handle_connect(cmd.id, cmd.as<protocol::connect_request>());
  }
  if (state_ != state::connected) return disconnect(disconnects::bad_request);
  switch (cmd.kind) {
    case command_kind::subscribe:
      return handle_subscribe(cmd.id, cmd.as<protocol::subscribe_request>());
    case command_kind::unsubscribe:
      return handle_unsubscribe(cmd.id, cmd.as<protocol::unsubscribe_request>());
    case command_kind::publish:
      return handle_publish(cmd.id, cmd.as<protocol::publish_request>());
    case command_kind::presence:
      return handle_presence(cmd.id, cmd.as<protocol::presence_request>());
    case command_kind::presence_stats:
      return handle_presence_stats(cmd.id, cmd.as<protocol::presence_stats_request>());
    case command_kind::history:
      return handle_history(cmd.id, cmd.as<protocol::history_request>());
    case command_kind::rpc:
      return handle_rpc(cmd.id, cmd.as<protocol::rpc_request>());
    case command_kind::refresh:
      return handle_refresh(cmd.id, cmd.as<protocol::refresh_request>());
    case command_kind::sub_refresh:
      return handle_sub_refresh(cmd.id, cmd.as<protocol::sub_refresh_request>());
    default:
      return disconnect(disconnects::bad_request);
  }
}

// ---------------------------------------------------------------------------- failure paths

template <typename T>
void client::fail_command(protocol::command_kind k, uint32_t id, const result<T>& failed) {
  if (failed.is_disconnect()) return disconnect(failed.as_disconnect());
  send_error(k, id, failed.error() ? failed.error() : errors::internal);
}

gyre::disconnect client::unidirectional_disconnect(protocol_error e) const {
  const auto& m = shard_.cfg()->client_.connect_code_to_unidirectional_disconnect_;
  if (m.enabled_)
    for (const auto& t : m.transforms_)
      if (t.code_ == e.code) return {t.to_.code_, t.to_.reason_};
  switch (e.code) {
    case errors::token_expired.code:
    case errors::expired.code:
      return disconnects::expired;
    case errors::too_many_requests.code:
      return disconnects::too_many_requests;
    case errors::permission_denied.code:
      return disconnects::permission_denied;
    default:
      return disconnects::server_error;
  }
}

template <typename T>
void client::fail_connect(uint32_t id, const result<T>& failed) {
  if (failed.is_disconnect()) return disconnect(failed.as_disconnect());
  if (bare_) {
    protocol_error e = failed.error() ? failed.error() : errors::internal;
    shard_.owner().metrics().count_reply_error(protocol::command_kind::connect, e.code);
    return disconnect(unidirectional_disconnect(e));
  }
  send_error(protocol::command_kind::connect, id,
             failed.error() ? failed.error() : errors::internal);
  // Undo what establish() did (subscriptions being set up, the user index).
  cleanup();
  state_ = state::failed;
  stale_due_ms_ = 0;
  close_due_ms_ = shard_.now_ms() + close_grace_ms;
  rearm_timer();
}

// ---------------------------------------------------------------------------- async plumbing

void client::begin_async() {
  ++busy_;
  ++inflight_;
}

void client::end_async() {
  --busy_;
  --inflight_;
  if (transport_closed_) {
    if (inflight_ == 0) transport_.destroy();  // deletes this
    return;
  }
  resume_commands();
}

template <typename F>
void client::on_loop(F&& f) {
  if (shard_.in_loop_thread()) {
    f();
  } else {
    shard_.post_task([f = std::forward<F>(f)](shard&) mutable { f(); });
  }
}

void client::release_inflight() {
  --inflight_;
  if (transport_closed_ && inflight_ == 0) transport_.destroy();  // deletes this
}

// ---------------------------------------------------------------------------- connect

void client::handle_connect(uint32_t id, protocol::connect_request& req) {
  // Emulated headers (sent by browser SDKs in connect) are kept for the connection's proxy
  // calls when some proxy forwards them.
  if (!req.headers.empty() && proxy::uses_emulated_headers(*shard_.cfg())) {
    if (!extra_) extra_ = std::make_unique<extra>();
    extra_->emulated_headers = req.headers;
  }
  if (req.token.empty() && shard_.cfg()->client_.proxy_.connect_.enabled_)
    return connect_with_proxy(id, req);
  auto who = authenticate(req);
  if (!who) return fail_connect(id, who);
  // The connect proxy goes here: an asynchronous step that may replace the identity
  // (begin_async, call, continue with establish() on this loop, or fail_connect()).
  establish(id, req, std::move(who.value()));
}

result<client::identity> client::authenticate(const protocol::connect_request& req) {
  node& n = shard_.owner();
  const auto& cfg = shard_.cfg();
  const auto& cc = cfg->client_;
  const int64_t now = n.time().now_unix();
  identity who;
  bool credentials = false;
  if (!req.token.empty()) {
    const auto& verifier = shard_.live().conn_verifier;
    if (!verifier) {
      log::limited(token_refusals, spdlog::level::info,
                   "client {}: connection token received but no token keys are configured",
                   client_id());
      return disconnects::invalid_token;
    }
    auto claims = verifier->verify_connection_token(req.token, now);
    if (!claims) {
      if (claims.error().code == auth::token_error_code::expired) return errors::token_expired;
      log::limited(token_refusals, spdlog::level::info, "client {}: invalid connection token: {}",
                   client_id(), claims.error().reason);
      // Keys not available yet (JWKS being fetched): temporary, the client retries.
      if (claims.error().code == auth::token_error_code::internal) return errors::internal;
      return disconnects::invalid_token;
    }
    auto& c = claims.value();
    if (c.user.empty() && cc.disallow_anonymous_connection_tokens_)
      return disconnects::permission_denied;
    who.user = std::move(c.user);
    who.expire_at = effective_expiry(c.expire_at, c.exp);
    who.info = std::move(c.info);
    who.meta = std::move(c.meta);
    who.token_subs = std::move(c.subs);
    if (who.token_subs.empty()) who.token_channels = std::move(c.channels);
    credentials = true;
    who.client_channels = true;
  } else if (cc.allow_anonymous_connect_without_token_ || cc.insecure_) {
    credentials = true;
    who.client_channels = true;
  } else if (!cc.user_id_http_header_.empty()) {
    std::string_view h = transport_.request_header(cc.user_id_http_header_);
    if (!h.empty()) {
      who.user = std::string(h);
      credentials = true;
    }
  }
  if (!credentials) {
    log::debug("client {}: no credentials in connect", client_id());
    return disconnects::bad_request;
  }
  if (cc.insecure_) who.expire_at = 0;  // insecure mode: connections never expire
  if (expiry_reached(who.expire_at, now)) return errors::expired;
  return who;
}

void client::establish(uint32_t id, const protocol::connect_request& req, identity who) {
  node& n = shard_.owner();
  const auto& cfg = shard_.cfg();
  const auto& cc = cfg->client_;
  const int64_t now = n.time().now_unix();

  if (!who.user.empty() && shard_.opts().user_connection_limit > 0 &&
      n.user_connection_count(who.user) >= shard_.opts().user_connection_limit)
    return fail_connect(id, result<identity>(disconnects::connection_limit));

  // Server-side subscriptions: the personal channel, then the token's subs or channels,
  // then the channels the client asks for in connect.subs, each channel once.
  std::vector<subscribe_plan> plans;
  auto plan_for = [&](const std::string& channel,
                      const auth::sub_options* so) -> result<subscribe_plan> {
    channel_rules rules = resolve_channel_rules(*cfg, channel);
    if (!rules.ns) return errors::unknown_channel;
    const auto& ns = *rules.ns;
    subscribe_plan p;
    p.channel = channel;
    p.cfg = cfg;
    p.ns = rules.ns;
    p.server_side = true;
    bool presence = ns.presence_, join_leave = ns.join_leave_, push = ns.force_push_join_leave_;
    bool recovery = ns.force_recovery_, positioning = ns.force_positioning_;
    if (so) {
      const auto& o = so->overrides;
      if (o.presence) presence = *o.presence;
      if (o.join_leave) join_leave = *o.join_leave;
      if (o.force_push_join_leave) push = *o.force_push_join_leave;
      if (o.force_recovery) recovery = *o.force_recovery;
      if (o.force_positioning) positioning = *o.force_positioning;
      p.chan_info = so->info;
      p.data = so->data;
      if (!reply_can_carry(p.data)) {
        log::limited(token_refusals, spdlog::level::info,
                     "client {}: connection token subs.{} has b64data that is not JSON, which "
                     "a JSON connection cannot carry",
                     client_id(), channel);
        return disconnects::invalid_token;
      }
    }
    p.emit_presence = presence;
    p.emit_join_leave = join_leave;
    p.push_join_leave = push;
    p.recoverable = recovery;
    p.positioned = positioning || recovery;
    p.cache_mode = p.recoverable && ns.force_recovery_mode_ == "cache";
    // connect.subs carries the client's position (and delta) for each server-side
    // subscription: recover, offset, epoch and delta are used, nothing else.
    for (const auto& [ch, hint] : req.subs) {
      if (ch != channel) continue;
      p.asked_recover = hint.recover;
      p.recover = hint.recover && p.recoverable;
      p.since = p.recover ? stream_position{hint.offset, hint.epoch} : stream_position{};
      p.delta = hint.delta == "fossil" && has_fossil(ns);
    }
    if (p.cache_mode && ns.auto_cache_recover_) p.recover = true;
    return p;
  };
  auto add_plan = [&](const std::string& channel, const auth::sub_options* so) -> status {
    for (const auto& p : plans)
      if (p.channel == channel) return ok_v;
    auto p = plan_for(channel, so);
    if (!p) return failure_of<ok_t>(p);
    plans.push_back(std::move(p.value()));
    return ok_v;
  };
  const auto& pc = cc.subscribe_to_user_personal_channel_;
  bool single_connection = false;
  if (pc.enabled_ && !who.user.empty()) {
    if (auto st = add_plan(config::personal_channel(*cfg, who.user), nullptr); !st)
      return fail_connect(id, st);
    single_connection = pc.single_connection_;
  }
  for (const auto& [ch, so] : who.token_subs)
    if (auto st = add_plan(ch, &so); !st) return fail_connect(id, st);
  for (const auto& ch : who.token_channels)
    if (auto st = add_plan(ch, nullptr); !st) return fail_connect(id, st);
  const size_t token_plans = plans.size();
  if (who.client_channels) {
    for (const auto& [ch, hint] : req.subs) {
      if (ch.empty()) continue;
      channel_rules rules = resolve_channel_rules(*cfg, ch);
      if (!rules.ns) {
        log::debug("client {}: connect.subs channel {} has an unknown namespace", client_id(), ch);
        return fail_connect(id, status(disconnects::bad_request));
      }
      if (!may_subscribe_at_connect(*cfg, rules, ch, who.user)) continue;  // silently skipped
      if (auto st = add_plan(ch, nullptr); !st) return fail_connect(id, st);
    }
  }
  if (plans.size() > shard_.opts().channel_limit)
    return fail_connect(id, status(disconnects::channel_limit));

  if (single_connection) {
    connection_filter f;
    f.user = who.user;
    f.whitelist.push_back(client_id());
    n.disconnect(f, disconnects::connection_limit, [] {});
  }

  // The connection is established.
  user_ = std::move(who.user);
  expire_at_ = who.expire_at;
  if (!who.info.empty() || !who.meta.empty() || !who.token_channels.empty() ||
      !who.token_subs.empty()) {
    if (!extra_) extra_ = std::make_unique<extra>();
    extra_->conn_info = std::move(who.info);
    extra_->meta = std::move(who.meta);
    for (size_t i = 0; i < token_plans; ++i) extra_->token_channels.push_back(plans[i].channel);
  }
  state_ = state::connected;
  stale_due_ms_ = 0;
  shard_.index_user(*this);
  n.user_connected(user_);
  user_indexed_ = true;
  n.metrics().connection_accepted(transport_.name(), encoding_);
  inflight_counted_ = true;

  auto join = std::make_shared<connect_join>();
  join->id = id;
  join->pending = plans.size() + 1;
  auto& res = join->reply;
  res.client = client_id();
  res.version = node::version();
  res.data = std::move(who.data);
  if (expire_at_ > 0 && !server_side_refresh()) {
    res.expires = true;
    res.ttl = ttl_until(expire_at_, now);
  }
  if (!transport_.native_pings()) {
    res.ping = static_cast<uint32_t>(shard_.opts().ping_interval_ms / 1000);
    res.pong = !bare_;  // a unidirectional client cannot answer
  }
  if (std::string_view session = transport_.session(); !session.empty()) {
    res.session = std::string(session);
    res.node = n.uid();  // /emulation requests name it
  } else if (bare_) {
    res.session = uuid_v4();  // a unidirectional Connect push carries one too (for logs)
  }
  if (cc.connect_include_server_time_) res.time = n.time().now_unix_ms();
  res.subs.resize(plans.size());
  join->attempts.resize(plans.size(), 0);

  for (size_t i = 0; i < plans.size(); ++i) {
    res.subs[i].first = plans[i].channel;
    start_subscription(std::move(plans[i]),
                       [this, join, i](result<protocol::subscribe_result> r, uint32_t attempt) {
                         if (!r) {
                           if (!join->failure) join->failure = std::move(r);
                         } else {
                           join->reply.subs[i].second = std::move(r.value());
                           join->attempts[i] = attempt;
                         }
                         if (--join->pending == 0) finish_connect(*join);
                       });
  }
  if (--join->pending == 0) finish_connect(*join);
}

bool client::may_subscribe_at_connect(const config::config& cfg, const channel_rules& rules,
                                      const std::string& channel, const std::string& user) {
  // Only what the client could subscribe to itself without a token: not private, no
  // subscribe proxy, an acceptable name, and the namespace's permission (or insecure).
  const auto& ns = *rules.ns;
  if (rules.is_private || ns.subscribe_proxy_enabled_) return false;
  if (check_channel_name(cfg, rules, channel, shard_.owner().regexes())) return false;
  if (rules.user_limited && !user.empty() && rules.lists_user(cfg, channel, user)) return true;
  if (ns.allow_subscribe_for_client_ && (!user.empty() || ns.allow_subscribe_for_anonymous_) &&
      !rules.user_limited)
    return true;
  return cfg.client_.insecure_;
}

void client::finish_connect(connect_join& join) {
  if (state_ != state::connected) return;
  if (join.failure) return fail_connect(join.id, *join.failure);
  if (bare_) {
    std::string& out = scratch();
    protocol::codec_for(encoding_).encode_connect_push(join.reply, protocol::push_envelope::bare,
                                                       out);
    send_bytes(out, frame_type::push_connect);
  } else {
    protocol::reply r;
    r.id = join.id;
    r.result = std::move(join.reply);
    send_reply(r);
  }
  for (uint32_t attempt : join.attempts)
    if (attempt) activate(attempt);
  // First ping at a random point of the first interval, as Centrifugo does.
  const runtime_options& o = shard_.opts();
  const int64_t now_ms = shard_.now_ms();
  ping_due_ms_ =
      now_ms + o.ping_interval_ms / 2 +
      static_cast<int64_t>(random_below(static_cast<uint64_t>(o.ping_interval_ms / 2 + 1)));
  maintenance_due_ms_ = now_ms + std::min(o.presence_update_interval_ms, o.position_check_delay_ms);
  rearm_timer();
}

// ---------------------------------------------------------------------------- subscribe

void client::handle_subscribe(uint32_t id, protocol::subscribe_request& req) {
  auto plan = plan_subscription(req);
  if (!plan) return fail_command(protocol::command_kind::subscribe, id, plan);
  if (!plan->proxy_name.empty())
    return subscribe_with_proxy(id, std::move(plan.value()), std::move(req.data));
  // The subscribe proxy goes here: an asynchronous step between the plan and the
  // subscription (begin_async, call, continue with start_subscription() on this loop).
  start_subscription(std::move(plan.value()),
                     [this, id](result<protocol::subscribe_result> r, uint32_t attempt) {
                       if (state_ != state::connected) return;
                       if (!r) return fail_command(protocol::command_kind::subscribe, id, r);
                       protocol::reply reply;
                       reply.id = id;
                       reply.result = std::move(r.value());
                       send_reply(reply);
                       activate(attempt);
                     });
}

result<client::subscribe_plan> client::plan_subscription(const protocol::subscribe_request& req) {
  node& n = shard_.owner();
  if (req.channel.empty()) return disconnects::bad_request;
  if (!req.delta.empty() && req.delta != "fossil") return disconnects::bad_request;
  const auto& cfg = shard_.cfg();
  if (req.channel.size() > static_cast<size_t>(cfg->channel_.max_length_))
    return errors::bad_request;
  if (find_sub(req.channel)) return errors::already_subscribed;
  if (subs_.size() >= shard_.opts().channel_limit) return errors::limit_exceeded;

  channel_rules rules = resolve_channel_rules(*cfg, req.channel);
  if (!rules.ns) return errors::unknown_channel;
  const auto& ns = *rules.ns;
  const auto& cc = cfg->client_;
  // Only stream subscriptions exist in this server.
  const bool stream_ns = ns.subscription_type_.empty() || ns.subscription_type_ == "stream";
  if (req.type != 0 || !stream_ns) return errors::permission_denied;
  if (auto e = check_channel_name(*cfg, rules, req.channel, n.regexes())) return e;

  subscribe_plan p;
  p.channel = req.channel;
  p.cfg = cfg;
  p.ns = rules.ns;

  bool presence = ns.presence_, join_leave = ns.join_leave_, push = ns.force_push_join_leave_;
  bool force_recovery = ns.force_recovery_, force_positioning = ns.force_positioning_;
  bool by_token = false;

  if (rules.is_private || !req.token.empty()) {
    if (req.token.empty()) return errors::permission_denied;
    const auto& verifier = shard_.live().sub_verifier;
    if (!verifier) return disconnects::invalid_token;
    const int64_t now = n.time().now_unix();
    auto claims = verifier->verify_subscription_token(req.token, now);
    if (!claims) {
      if (claims.error().code == auth::token_error_code::expired) return errors::token_expired;
      log::limited(token_refusals, spdlog::level::info, "client {}: invalid subscription token: {}",
                   client_id(), claims.error().reason);
      if (claims.error().code == auth::token_error_code::internal) return errors::internal;
      return disconnects::invalid_token;
    }
    auto& c = claims.value();
    if (c.channel != req.channel || c.user != user_ ||
        (!c.client.empty() && c.client != client_id())) {
      log::limited(token_refusals, spdlog::level::info,
                   "client {}: subscription token does not match channel/user/client", client_id());
      return disconnects::invalid_token;
    }
    int64_t expire_at = effective_expiry(c.expire_at, c.exp);
    if (cc.insecure_) expire_at = 0;
    if (expiry_reached(expire_at, now)) return errors::expired;
    p.expire_at = expire_at;
    p.expires = expire_at > 0;
    p.chan_info = std::move(c.info);
    p.data = std::move(c.data);
    if (!reply_can_carry(p.data)) {
      // b64data that is not JSON cannot go into a JSON reply: the token is refused and
      // the connection goes on serving.
      log::limited(token_refusals, spdlog::level::info,
                   "client {}: subscription token for {} has b64data that is not JSON, which a "
                   "JSON connection cannot carry",
                   client_id(), req.channel);
      return errors::permission_denied;
    }
    const auto& o = c.overrides;
    if (o.presence) presence = *o.presence;
    if (o.join_leave) join_leave = *o.join_leave;
    if (o.force_push_join_leave) push = *o.force_push_join_leave;
    if (o.force_recovery) force_recovery = *o.force_recovery;
    if (o.force_positioning) force_positioning = *o.force_positioning;
    by_token = true;
  } else if (rules.user_limited) {
    if (!rules.lists_user(*cfg, req.channel, user_) && !cc.insecure_)
      return errors::permission_denied;
  } else if (ns.subscribe_stream_proxy_enabled_) {
    log::warn("subscribe stream proxy is configured for {} but is not supported", req.channel);
    return errors::not_available;
  } else if (ns.subscribe_proxy_enabled_) {
    // The subscribe proxy decides (subscribe_with_proxy); the client's own positioned,
    // recoverable and join_leave requests do not apply on this path.
    p.proxy_name = ns.subscribe_proxy_name_;
    p.recoverable = force_recovery;
    p.positioned = force_positioning || force_recovery;
    p.emit_presence = presence;
    p.emit_join_leave = join_leave;
    p.push_join_leave = push;
    p.delta = req.delta == "fossil" && has_fossil(ns);
    p.reject_unrecoverable = (req.flag & protocol::subscribe_flag_reject_unrecoverable) != 0;
    p.asked_recover = req.recover;
    p.since = stream_position{req.offset, req.epoch};
    if (req.tf) {
      if (!ns.allow_tags_filter_) return errors::bad_request;
      auto compiled = protocol::compiled_filter::compile(*req.tf);
      if (!compiled) return errors::bad_request;
      p.filter = std::make_shared<const protocol::compiled_filter>(std::move(compiled.value()));
    }
    return p;
  } else if (!((ns.allow_subscribe_for_client_ &&
                (!user_.empty() || ns.allow_subscribe_for_anonymous_)) ||
               cc.insecure_)) {
    return errors::permission_denied;
  }

  const bool history_allowed =
      allowed(ns.allow_history_for_client_, ns.allow_history_for_subscriber_,
              ns.allow_history_for_anonymous_, true, user_, cc.insecure_);
  const bool presence_allowed =
      allowed(ns.allow_presence_for_client_, ns.allow_presence_for_subscriber_,
              ns.allow_presence_for_anonymous_, true, user_, cc.insecure_);
  const bool recoverable =
      force_recovery || (req.recoverable && (ns.allow_recovery_ || history_allowed || by_token));
  const bool positioned =
      force_positioning || recoverable ||
      (req.positioned && (ns.allow_positioning_ || history_allowed || by_token));
  // Without history the stream is only its position: a positioned or recoverable
  // subscription still gets the epoch and offset 0, as in Centrifugo.
  p.recoverable = recoverable;
  p.positioned = positioned;
  p.emit_presence = presence;
  p.emit_join_leave = join_leave;
  p.push_join_leave = push || (req.join_leave && join_leave && (presence_allowed || by_token));
  p.delta = req.delta == "fossil" && has_fossil(ns);
  p.cache_mode = p.recoverable && ns.force_recovery_mode_ == "cache";
  p.reject_unrecoverable = (req.flag & protocol::subscribe_flag_reject_unrecoverable) != 0;
  p.asked_recover = req.recover;
  if (req.recover && p.recoverable) {
    p.recover = true;
    p.since = stream_position{req.offset, req.epoch};
  }
  if (p.cache_mode && ns.auto_cache_recover_) p.recover = true;
  if (req.tf) {
    if (!ns.allow_tags_filter_) return errors::bad_request;
    auto compiled = protocol::compiled_filter::compile(*req.tf);
    if (!compiled) return errors::bad_request;
    p.filter = std::make_shared<const protocol::compiled_filter>(std::move(compiled.value()));
  }
  return p;
}

recovery::request client::recovery_request(const subscribe_plan& p, const subscription& sub) const {
  recovery::request rq;
  rq.positioned = p.positioned;
  rq.recoverable = p.recoverable;
  rq.recover = p.recover;
  rq.since = p.since;
  rq.cache_mode = p.cache_mode;
  rq.reject_unrecoverable = p.reject_unrecoverable;
  rq.delta = sub.delta;
  rq.encoding = encoding_;
  rq.filter = sub.filter();
  return rq;
}

subscription* client::find_attempt(uint32_t attempt) const {
  for (const auto& s : subs_)
    if (s->state == subscription::phase::subscribing && s->extra && s->extra->attempt == attempt)
      return s.get();
  return nullptr;
}

void client::start_subscription(subscribe_plan plan, subscribe_done done) {
  node& n = shard_.owner();
  auto owned = std::make_unique<subscription>();
  subscription& sub = *owned;
  sub.owner = this;
  sub.state = subscription::phase::subscribing;
  sub.server_side = plan.server_side;
  sub.positioned = plan.positioned;
  sub.recoverable = plan.recoverable;
  sub.push_join_leave = plan.push_join_leave;
  sub.emit_presence = plan.emit_presence;
  sub.emit_join_leave = plan.emit_join_leave;
  sub.delta = plan.delta;
  sub.conflate = plan.ns->gyre_conflation_ && plan.ns->history_enabled();
  sub.expire_at = plan.expire_at;
  sub.proxy_refresh = !plan.proxy_name.empty() && plan.expire_at > 0 && !plan.expires;
  subscription_extra& x = sub.ensure_extra();
  x.chan_info = plan.chan_info;
  x.filter = plan.filter;
  x.attempt = next_attempt();
  sub.last_pub_ms = shard_.now_ms();
  subs_.push_back(std::move(owned));
  // From here on, events of the channel are buffered in the subscription.
  if (shard_.add_subscription(plan.channel, sub)) n.channel_added(plan.channel);

  auto flow = std::make_shared<subscribe_flow>();
  flow->attempt = x.attempt;
  flow->done = std::move(done);
  flow->plan = std::move(plan);
  // Read the stream only once the broker delivers the channel to this node: a publication
  // made in between is then in the read, or buffered, or both.
  begin_async();
  n.when_channel_ready(flow->plan.channel, [this, flow](status st) mutable {
    on_loop([this, flow = std::move(flow), st]() mutable {
      on_channel_ready(std::move(flow), st);
      end_async();
    });
  });
}

void client::abort_subscription(subscribe_flow& flow, subscription* sub,
                                result<protocol::subscribe_result> why) {
  if (sub) remove_subscription(*sub);
  flow.done(std::move(why), flow.attempt);
}

void client::on_channel_ready(std::shared_ptr<subscribe_flow> flow, status st) {
  if (state_ != state::connected) return;
  subscription* sub = find_attempt(flow->attempt);
  if (!sub) return abort_subscription(*flow, nullptr, errors::internal);
  if (!st) return abort_subscription(*flow, sub, errors::internal);
  node& n = shard_.owner();
  const subscribe_plan& p = flow->plan;
  client_info info = info_for(sub);
  if (sub->emit_presence)
    n.presence().add(p.channel, info, [ch = p.channel](status s) {
      if (!s) log::warn("presence add failed for {}: {}", ch, s.error().message);
    });
  if (sub->emit_join_leave) {
    sub->joined = true;
    n.engine().publish_join(p.channel, info, [](status) {});
  }

  auto q =
      recovery::query_for(recovery_request(p, *sub), shard_.opts().recovery_max_publication_limit,
                          static_cast<int64_t>(meta_ttl_seconds(*p.ns, *p.cfg)));
  if (!q) return on_stream_read(std::move(flow), history_page{});
  begin_async();
  n.engine().history(p.channel, *q, [this, flow = std::move(flow)](result<history_page> r) mutable {
    on_loop([this, flow = std::move(flow), r = std::move(r)]() mutable {
      on_stream_read(std::move(flow), std::move(r));
      end_async();
    });
  });
}

void client::on_stream_read(std::shared_ptr<subscribe_flow> flow, result<history_page> r) {
  if (state_ != state::connected) return;
  subscription* sub = find_attempt(flow->attempt);
  if (!sub) return abort_subscription(*flow, nullptr, errors::internal);
  if (!r) return abort_subscription(*flow, sub, failure_of<protocol::subscribe_result>(r));
  node& n = shard_.owner();
  const subscribe_plan& p = flow->plan;

  auto decided = recovery::decide(recovery_request(p, *sub), std::move(r.value()));
  if (p.recover && (decided || decided.error() == errors::unrecoverable_position))
    n.metrics().count_recover(decided && decided->recovered,
                              decided ? decided->publications.size() : 0);
  if (!decided)
    return abort_subscription(*flow, sub, failure_of<protocol::subscribe_result>(decided));
  recovery::outcome& o = decided.value();

  protocol::subscribe_result res;
  res.expires = p.expires;
  if (p.expires) res.ttl = ttl_until(p.expire_at, n.time().now_unix());
  res.data = p.data;
  res.delta = p.delta;
  res.recoverable = p.recoverable;
  res.positioned = p.positioned;
  // Centrifugo echoes the client's `recover` in every namespace, recoverable or not.
  res.was_recovering = p.asked_recover || o.was_recovering;
  if (p.positioned || p.recoverable) {
    res.epoch = std::move(o.epoch);
    res.offset = o.reply_offset;
    res.recovered = o.recovered;
    res.publications = std::move(o.publications);
    res.epoch_on_first = o.epoch_on_first;
    sub->offset = o.position.offset;
    sub->epoch = std::move(o.position.epoch);
    sub->delta_ready = o.delta_ready;
  }
  flow->done(std::move(res), flow->attempt);
}

void client::buffer_event(const std::shared_ptr<const prepared_event>& ev, subscription& sub) {
  subscription_extra& x = sub.ensure_extra();
  if (x.overflowed) return;
  if (x.pending.size() >= shard_.opts().subscribe_buffer_limit) {
    // Continuity cannot be kept: nothing more is buffered, and the subscription is given
    // up right after its reply (activate).
    x.overflowed = true;
    x.pending.clear();
    x.pending.shrink_to_fit();
    return;
  }
  x.pending.push_back(ev);
}

void client::activate(uint32_t attempt) {
  subscription* found = find_attempt(attempt);
  if (!found) return;
  subscription& sub = *found;
  sub.state = subscription::phase::subscribed;
  shard_.counters().subscriptions.fetch_add(1, std::memory_order_relaxed);
  shard_.owner().metrics().count_subscription_accepted();
  subscription_extra& x = *sub.extra;
  auto pending = std::move(x.pending);
  x.pending = {};
  const bool overflowed = x.overflowed;
  const auto unsubscribe_after = x.unsubscribe_after;
  x.attempt = 0;
  x.overflowed = false;
  x.unsubscribe_after.reset();
  if (!x.needed_when_subscribed()) sub.extra.reset();

  if (overflowed) {
    lost_continuity(sub);
  } else if (!pending.empty()) {
    // The merge rule (recovery.hpp): buffered publications go out by offset after the
    // position the reply left the client at.
    std::vector<recovery::buffered_event> view;
    view.reserve(pending.size());
    for (const auto& ev : pending) {
      recovery::buffered_event b;
      b.is_publication = ev->kind() == event_kind::publication;
      if (b.is_publication) {
        b.offset = ev->pub()->pub.offset;
        b.epoch = &ev->pub()->epoch;
      }
      view.push_back(b);
    }
    recovery::merge_plan plan =
        recovery::merge(stream_position{sub.offset, sub.epoch}, sub.positioned, view);
    for (uint32_t i : plan.deliver) {
      const auto& ev = pending[i];
      if (ev->kind() == event_kind::publication) {
        push_publication(ev, sub, nullptr);
      } else if (sub.push_join_leave) {
        enqueue_owned(event_chunk(*ev, pub_variant::full), frame_of(ev->kind()));
      }
    }
    if (sub.positioned) {
      if (plan.position.offset != sub.offset) sub.last_pub_ms = shard_.now_ms();
      sub.offset = plan.position.offset;
      sub.epoch = std::move(plan.position.epoch);
    }
    if (plan.lost_continuity) lost_continuity(sub);
  }
  schedule_flush();
  rearm_timer();
  if (!unsubscribe_after) return;
  const std::string channel = *sub.channel;
  server_unsubscribe(channel, *unsubscribe_after);
  if (!extra_) return;
  auto& waiting = extra_->subscribes_after_unsubscribe;
  for (size_t i = 0; i < waiting.size(); ++i) {
    if (waiting[i].channel != channel) continue;
    server_subscribe_options opts = std::move(waiting[i]);
    waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(i));
    server_subscribe(std::move(opts));
    break;
  }
}

void client::remove_subscription(subscription& sub) {
  node& n = shard_.owner();
  std::string channel = *sub.channel;
  if (sub.state == subscription::phase::subscribed)
    shard_.counters().subscriptions.fetch_sub(1, std::memory_order_relaxed);
  sub.state = subscription::phase::closing;
  if (sub.emit_presence) n.presence().remove(channel, client_id(), user_, [](status) {});
  if (sub.joined) n.engine().publish_leave(channel, info_for(&sub), [](status) {});
  if (holding_back_) extra_->held->erase(&sub);
  if (shard_.remove_subscription(sub)) n.channel_removed(channel);
  auto it =
      std::find_if(subs_.begin(), subs_.end(), [&](const auto& p) { return p.get() == &sub; });
  if (it != subs_.end()) subs_.erase(it);
}

subscription* client::find_sub(std::string_view channel) const {
  for (const auto& s : subs_)
    if (*s->channel == channel) return s.get();
  return nullptr;
}

void client::handle_unsubscribe(uint32_t id, protocol::unsubscribe_request& req) {
  if (req.channel.empty()) return disconnect(disconnects::bad_request);
  if (subscription* sub = find_sub(req.channel)) remove_subscription(*sub);
  protocol::reply r;
  r.id = id;
  r.result = protocol::unsubscribe_result{};
  send_reply(r);
}

// ---------------------------------------------------------------------------- fan-out

void client::on_event(const std::shared_ptr<const prepared_event>& ev, subscription& sub,
                      fanout_chunks& chunks) {
  switch (sub.state) {
    case subscription::phase::closing:
      return;
    case subscription::phase::subscribing:
      return buffer_event(ev, sub);
    case subscription::phase::subscribed:
      break;
  }
  if (ev->kind() == event_kind::publication) return deliver_publication(ev, sub, &chunks);
  if (sub.push_join_leave)
    enqueue(chunks.get(encoding_, pub_variant::full, envelope(), deflate_), frame_of(ev->kind()));
}

void client::deliver_publication(const std::shared_ptr<const prepared_event>& ev, subscription& sub,
                                 fanout_chunks* chunks) {
  if (sub.broken) return;
  const delivered_publication& p = *ev->pub();
  if (sub.positioned && p.pub.offset > 0) {
    if (p.epoch != sub.epoch) {
      if (!sub.epoch.empty()) return lost_continuity(sub);
      sub.epoch = p.epoch;
    }
    if (p.pub.offset <= sub.offset) return;  // already delivered (history or duplicate)
    if (p.pub.offset > sub.offset + 1) return lost_continuity(sub);
    sub.offset = p.pub.offset;
    sub.last_pub_ms = shard_.now_ms();
  }
  push_publication(ev, sub, chunks);
}

// Inlined into both callers: a call here costs the fan-out ~20 instructions per delivery.
[[gnu::always_inline]] inline void client::push_publication(
    const std::shared_ptr<const prepared_event>& ev, subscription& sub, fanout_chunks* chunks) {
  const delivered_publication& p = *ev->pub();
  if (const auto* f = sub.filter(); f && !f->matches(p.pub.tags)) {
    sub.delta_ready = false;  // the client's delta base is no longer the previous publication
    return;
  }
  if (sub.conflate &&
      (holding_back_ || out_.queued_bytes() > behind_threshold(shard_.opts().queue_max_size)))
    return hold_back(ev, sub);
  pub_variant v = pub_variant::full;
  if (sub.delta) {
    if (sub.delta_ready && p.use_delta)
      v = pub_variant::patch;
    else
      v = pub_variant::full_string;
    sub.delta_ready = true;
  }
  if (chunks) {
    // An unused chunk goes back with `chunks`.
    enqueue(chunks->get(encoding_, v, envelope(), deflate_), frame_type::push_publication);
  } else {
    enqueue_owned(event_chunk(*ev, v), frame_type::push_publication);
  }
}

out_chunk* client::event_chunk(const prepared_event& ev, pub_variant v) {
  if (deflate_ && !bare_) {
    const runtime_options& o = shard_.opts();
    if (const shared_buffer& frame =
            ev.deflated(encoding_, v, o.compression_level, o.compression_min_size))
      return shard_.pool().acquire(frame, true);
  }
  return shard_.pool().acquire(ev.encoded(encoding_, v, envelope()));
}

void client::hold_back(const std::shared_ptr<const prepared_event>& ev, subscription& sub) {
  if (state_ >= state::closing) return;
  if (!holding_back_) {
    if (!extra_) extra_ = std::make_unique<extra>();
    extra_->held = std::make_unique<conflation>();
    holding_back_ = true;
    shard_.counters().conflating.fetch_add(1, std::memory_order_relaxed);
    static log::limiter site;
    log::limited(site, spdlog::level::info,
                 "client {} (user '{}'): behind ({} bytes queued): holding back publications of "
                 "its gyre_conflation channels, the latest of each is sent once it catches up",
                 client_id(), user_, out_.queued_bytes());
  }
  // The queue is not empty here (it is over the threshold, or the transport has not
  // written all of it yet): the transport calls release_held() once it is.
  if (extra_->held->put(&sub, ev))
    shard_.counters().conflated.fetch_add(1, std::memory_order_relaxed);
}

bool client::release_held() {
  if (!holding_back_) return false;
  if (state_ >= state::closing) {
    stop_holding_back();
    return false;
  }
  auto& held = *extra_->held;
  if (held.empty()) {
    // Caught up: nothing newer arrived while the last held publications were written.
    stop_holding_back();
    if (extra_->unused()) extra_.reset();
    return false;
  }
  const size_t threshold = behind_threshold(shard_.opts().queue_max_size);
  held.take([&](subscription* sub, std::shared_ptr<const prepared_event>&& ev) {
    // The full payload: what the client holds as a delta base is not the publication
    // before this one (it skipped some).
    pub_variant v = pub_variant::full;
    if (sub->delta) {
      v = pub_variant::full_string;
      sub->delta_ready = true;
    }
    enqueue_owned(event_chunk(*ev, v), frame_type::push_publication);
    return out_.queued_bytes() <= threshold;
  });
  return !out_.empty();
}

void client::stop_holding_back() {
  if (!holding_back_) return;
  holding_back_ = false;
  extra_->held.reset();
  shard_.counters().conflating.fetch_sub(1, std::memory_order_relaxed);
}

void client::check_stream_top(subscription& sub, const stream_position* top) {
  // Live subscriptions only: one still subscribing either reads its history after this
  // top was read, or read it before and normally went live when that read was handled,
  // which was before this check (docs/design/resubscribe-position-check.md).
  if (top ? behind(sub, *top) : judged(sub)) lost_continuity(sub);
}

bool client::judged(const subscription& sub) {
  return sub.state == subscription::phase::subscribed && sub.positioned && !sub.broken;
}

bool client::behind(const subscription& sub, const stream_position& top) {
  return judged(sub) && (top.epoch != sub.epoch || top.offset > sub.offset);
}

// The top came from the data connection while publications come through the broker's
// subscription: a publication below that top may still be on its way, so a top ahead of
// the subscriber is confirmed by stream_tops(), which completes only once everything up
// to the tops it reports has reached this node, and compared again once the shard's inbox
// (where those publications wait) has been drained (docs/design/resubscribe-position-check.md).
// The inflight count taken by the caller is released here.
void client::confirm_behind(std::string channel) {
  node& n = shard_.owner();
  n.engine().stream_tops({channel}, [this, channel](result<std::vector<stream_position>> r) {
    on_loop([this, channel, r = std::move(r)]() mutable {
      if (transport_closed_) return release_inflight();
      std::optional<stream_position> top;
      if (r && r->size() == 1) top = std::move(r->front());
      shard_.post_task([this, channel, top = std::move(top)](shard&) {
        subscription* sub = transport_closed_ ? nullptr : find_sub(channel);
        // Unreadable tops cannot show continuity: recover, as after a restored subscription.
        if (sub && (top ? behind(*sub, *top) : judged(*sub))) lost_continuity(*sub);
        release_inflight();
      });
    });
  });
}

void client::lost_continuity(subscription& sub) {
  sub.broken = true;
  shard_.defer(*this);
}

void client::on_events_lost(subscription& sub) {
  if (sub.positioned && sub.state != subscription::phase::closing && !sub.broken)
    lost_continuity(sub);
}

void client::run_deferred() {
  if (state_ >= state::closing) return;
  if (slow_) {
    // The shard flushed before running us: what is still queued is what the socket
    // does not take. A burst that a reading client drains is not slowness.
    if (over_queue_limit()) {
      static log::limiter site;
      log::limited(site, spdlog::level::info,
                   "client {} (user '{}'): disconnected as slow (3008): {} bytes queued, over "
                   "client.queue_max_size {}",
                   client_id(), user_, out_.queued_bytes(), shard_.opts().queue_max_size);
      return disconnect(disconnects::slow);
    }
    slow_ = false;
  }
  for (size_t i = 0; i < subs_.size();) {
    subscription& s = *subs_[i];
    if (!s.broken || s.state != subscription::phase::subscribed) {
      ++i;
      continue;
    }
    if (s.server_side) return disconnect(disconnects::insufficient_state);
    std::string channel = *s.channel;
    remove_subscription(s);
    send_unsubscribe_push(channel, unsubscribes::insufficient_state);
  }
  schedule_flush();
}

// ---------------------------------------------------------------------------- publish & co

void client::handle_publish(uint32_t id, protocol::publish_request& req) {
  auto plan = plan_publish(req);
  if (!plan) return fail_command(protocol::command_kind::publish, id, plan);
  // The publish proxy goes here: an asynchronous step between the plan and the broker
  // that may change the data or refuse the publication.
  publish_plan& p = plan.value();
  if (!p.proxy_name.empty()) return publish_with_proxy(id, std::move(p));
  begin_async();
  shard_.owner().engine().publish(
      p.channel, std::move(p.pub), p.opts,
      reply_when_done<publish_outcome>(protocol::command_kind::publish, id,
                                       [](publish_outcome) { return protocol::publish_result{}; }));
}

result<client::publish_plan> client::plan_publish(protocol::publish_request& req) {
  node& n = shard_.owner();
  if (req.channel.empty()) return disconnects::bad_request;
  const auto& cfg = shard_.cfg();
  channel_rules rules = resolve_channel_rules(*cfg, req.channel);
  if (!rules.ns) return errors::unknown_channel;
  if (auto e = check_channel_chars(rules, req.channel, n.regexes())) return e;
  const auto& ns = *rules.ns;
  if (req.type != 0) return errors::not_available;
  if (!protocol::publication_data_valid(
          config::effective_publication_data_format(cfg->channel_, ns), req.data))
    return errors::bad_request;
  subscription* sub = find_sub(req.channel);
  const bool subscribed = sub && sub->state == subscription::phase::subscribed;
  if (!ns.publish_proxy_enabled_ &&
      !allowed(ns.allow_publish_for_client_, ns.allow_publish_for_subscriber_,
               ns.allow_publish_for_anonymous_, subscribed, user_, cfg->client_.insecure_))
    return errors::permission_denied;
  publish_plan p;
  p.channel = std::move(req.channel);
  p.pub.data = std::move(req.data);
  p.pub.info = info_for(sub);
  p.opts = n.publish_options_for(ns, *cfg);
  if (ns.publish_proxy_enabled_) p.proxy_name = ns.publish_proxy_name_;
  return p;
}

template <typename T, typename Make>
std::function<void(result<T>)> client::reply_when_done(protocol::command_kind k, uint32_t id,
                                                       Make make) {
  return [this, k, id, make = std::move(make)](result<T> r) mutable {
    on_loop([this, k, id, make = std::move(make), r = std::move(r)]() mutable {
      if (state_ == state::connected) {
        if (r) {
          protocol::reply reply;
          reply.id = id;
          reply.result = make(std::move(r.value()));
          send_reply(reply);
        } else {
          fail_command(k, id, r);
        }
      }
      end_async();
    });
  };
}

result<const config::channel_options*> client::check_read_access(const std::string& channel,
                                                                 read_kind kind,
                                                                 const config::config& cfg) {
  if (channel.empty()) return disconnects::bad_request;
  channel_rules rules = resolve_channel_rules(cfg, channel);
  if (!rules.ns) return errors::unknown_channel;
  if (auto e = check_channel_chars(rules, channel, shard_.owner().regexes())) return e;
  const auto& ns = *rules.ns;
  const bool presence = kind == read_kind::presence;
  if (presence ? !ns.presence_ : !ns.history_enabled()) return errors::not_available;
  const bool subscribed = find_sub(channel) != nullptr;
  bool ok =
      presence ? allowed(ns.allow_presence_for_client_, ns.allow_presence_for_subscriber_,
                         ns.allow_presence_for_anonymous_, subscribed, user_, cfg.client_.insecure_)
               : allowed(ns.allow_history_for_client_, ns.allow_history_for_subscriber_,
                         ns.allow_history_for_anonymous_, subscribed, user_, cfg.client_.insecure_);
  if (!ok) return errors::permission_denied;
  return &ns;
}

void client::handle_presence(uint32_t id, protocol::presence_request& req) {
  node& n = shard_.owner();
  const auto& cfg = shard_.cfg();
  auto access = check_read_access(req.channel, read_kind::presence, *cfg);
  if (!access) return fail_command(protocol::command_kind::presence, id, access);
  begin_async();
  n.presence().presence(req.channel, reply_when_done<presence_map>(protocol::command_kind::presence,
                                                                   id, [](presence_map m) {
                                                                     protocol::presence_result pr;
                                                                     pr.presence = std::move(m);
                                                                     return pr;
                                                                   }));
}

void client::handle_presence_stats(uint32_t id, protocol::presence_stats_request& req) {
  node& n = shard_.owner();
  const auto& cfg = shard_.cfg();
  auto access = check_read_access(req.channel, read_kind::presence, *cfg);
  if (!access) return fail_command(protocol::command_kind::presence_stats, id, access);
  begin_async();
  n.presence().stats(req.channel,
                     reply_when_done<presence_stats>(
                         protocol::command_kind::presence_stats, id, [](presence_stats s) {
                           return protocol::presence_stats_result{s.num_clients, s.num_users};
                         }));
}

void client::handle_history(uint32_t id, protocol::history_request& req) {
  node& n = shard_.owner();
  const auto& cfg = shard_.cfg();
  auto access = check_read_access(req.channel, read_kind::history, *cfg);
  if (!access) return fail_command(protocol::command_kind::history, id, access);
  const config::channel_options& ns = *access.value();
  if (req.reverse && req.since && req.since->offset == 0)
    return fail_command(protocol::command_kind::history, id, status(errors::bad_request));
  history_query q;
  q.since = req.since;
  q.reverse = req.reverse;
  int32_t max = static_cast<int32_t>(shard_.opts().history_max_publication_limit);
  q.limit = req.limit;
  if (q.limit < 0 || q.limit > max) q.limit = max;
  q.meta_ttl_seconds = meta_ttl_seconds(ns, *cfg);
  begin_async();
  n.engine().history(
      req.channel, q,
      reply_when_done<history_page>(protocol::command_kind::history, id, [](history_page page) {
        protocol::history_result hr;
        hr.publications = std::move(page.publications);
        for (auto& p : hr.publications) p.delta = false;
        hr.epoch = std::move(page.top.epoch);
        hr.offset = page.top.offset;
        hr.epoch_on_first = page.epoch_on_first;
        return hr;
      }));
}

void client::handle_rpc(uint32_t id, protocol::rpc_request& req) {
  const auto& cfg = shard_.cfg();
  const auto& ping = cfg->rpc_.ping_;
  if (ping.enabled_ && req.method == ping.method_) {
    protocol::reply reply;
    reply.id = id;
    reply.result = protocol::rpc_result{};
    return send_reply(reply);
  }
  // RPC proxies by namespace (`ns:method`); without any RPC proxy Centrifugo answers 104
  // when only the ping method is configured and 108 when no RPC handler is configured.
  const auto& rpc = cfg->rpc_;
  bool any_proxy = rpc.without_namespace_.proxy_enabled_;
  for (const auto& ns : rpc.namespaces_) any_proxy = any_proxy || ns.proxy_enabled_;
  if (!any_proxy)
    return fail_command(protocol::command_kind::rpc, id,
                        status(ping.enabled_ ? errors::method_not_found : errors::not_available));
  const config::rpc_options* opts = &rpc.without_namespace_;
  if (size_t b = rpc.namespace_boundary_.empty() ? std::string::npos
                                                 : req.method.find(rpc.namespace_boundary_);
      b != std::string::npos) {
    std::string_view ns_name = std::string_view(req.method).substr(0, b);
    opts = nullptr;
    for (const auto& ns : rpc.namespaces_)
      if (ns.name_ == ns_name) opts = &ns;
    if (!opts)
      return fail_command(protocol::command_kind::rpc, id, status(errors::method_not_found));
  }
  if (!opts->proxy_enabled_)
    return fail_command(protocol::command_kind::rpc, id, status(errors::not_available));
  const config::proxy_config* p = proxy::find_proxy(*cfg, proxy::call_kind::rpc, opts->proxy_name_);
  if (!p) return fail_command(protocol::command_kind::rpc, id, status(errors::internal));
  rpc_with_proxy(id, *p, opts->proxy_name_, req);
}

void client::handle_send(protocol::send_request&) {
  // Asynchronous message to the server: accepted and counted; no handler consumes it yet.
  shard_.owner().metrics().count_send();
}

void client::handle_refresh(uint32_t id, protocol::refresh_request& req) {
  auto renewed = verify_refresh(req);
  if (!renewed) return fail_command(protocol::command_kind::refresh, id, renewed);
  // The refresh proxy goes here: an asynchronous step in place of the token check.
  renewal& r = renewed.value();
  if (!r.info.empty() || !r.meta.empty() || extra_) {
    if (!extra_) extra_ = std::make_unique<extra>();
    extra_->conn_info = std::move(r.info);
    extra_->meta = std::move(r.meta);
  }
  expire_at_ = r.expire_at;
  protocol::reply reply;
  reply.id = id;
  protocol::refresh_result rr;
  rr.expires = expire_at_ > 0;
  if (rr.expires) rr.ttl = ttl_until(expire_at_, shard_.owner().time().now_unix());
  reply.result = rr;
  send_reply(reply);
  rearm_timer();
}

result<client::renewal> client::verify_refresh(const protocol::refresh_request& req) {
  node& n = shard_.owner();
  // A refresh command is client-side refresh (the refresh proxy refreshes on the server
  // instead, refresh_with_proxy): a valid token is accepted whether
  // or not the connection expires, as in Centrifugo.
  if (req.token.empty()) return disconnects::bad_request;
  const auto& verifier = shard_.live().conn_verifier;
  if (!verifier) return disconnects::invalid_token;
  const int64_t now = n.time().now_unix();
  auto claims = verifier->verify_connection_token(req.token, now);
  if (!claims) {
    if (claims.error().code == auth::token_error_code::expired) return disconnects::expired;
    if (claims.error().code == auth::token_error_code::internal) return errors::internal;
    return disconnects::invalid_token;
  }
  auto& c = claims.value();
  if (c.user != user_) return disconnects::invalid_token;
  const auto& cfg = shard_.cfg();
  renewal r;
  r.expire_at = effective_expiry(c.expire_at, c.exp);
  if (cfg->client_.insecure_) r.expire_at = 0;
  if (expiry_reached(r.expire_at, now)) return errors::expired;
  // A change of the token's server-side channels needs a reconnect to apply. The personal
  // channel is not part of the token: compare token channels only.
  std::vector<std::string> channels;
  if (!c.subs.empty()) {
    for (auto& [ch, so] : c.subs) channels.push_back(ch);
  } else {
    channels = c.channels;
  }
  std::vector<std::string> before;
  const auto& pc = cfg->client_.subscribe_to_user_personal_channel_;
  if (extra_) {
    for (const auto& ch : extra_->token_channels) {
      const bool personal = pc.enabled_ && ch.ends_with(cfg->channel_.user_boundary_ + user_);
      if (!personal) before.push_back(ch);
    }
  }
  std::sort(channels.begin(), channels.end());
  channels.erase(std::unique(channels.begin(), channels.end()), channels.end());
  std::sort(before.begin(), before.end());
  if (channels != before) return disconnects::insufficient_state;
  r.info = std::move(c.info);
  r.meta = std::move(c.meta);
  return r;
}

void client::handle_sub_refresh(uint32_t id, protocol::sub_refresh_request& req) {
  auto renewed = verify_sub_refresh(req);
  if (!renewed) return fail_command(protocol::command_kind::sub_refresh, id, renewed);
  // The sub_refresh proxy goes here: an asynchronous step in place of the token check.
  subscription* sub = find_sub(req.channel);
  renewal& r = renewed.value();
  sub->expire_at = r.expire_at;
  if (!r.info.empty()) sub->ensure_extra().chan_info = std::move(r.info);
  protocol::reply reply;
  reply.id = id;
  protocol::sub_refresh_result sr;
  sr.expires = r.expire_at > 0;
  if (sr.expires) sr.ttl = ttl_until(r.expire_at, shard_.owner().time().now_unix());
  reply.result = sr;
  send_reply(reply);
  rearm_timer();
}

result<client::renewal> client::verify_sub_refresh(const protocol::sub_refresh_request& req) {
  node& n = shard_.owner();
  if (req.channel.empty()) return disconnects::bad_request;
  subscription* sub = find_sub(req.channel);
  if (!sub) return errors::permission_denied;
  // A server-side subscription is refreshed by the server (3501); any other one takes a
  // valid token, whether or not it expires, as in Centrifugo.
  if (sub->server_side) return disconnects::bad_request;
  if (req.token.empty()) return errors::bad_request;
  const auto& verifier = shard_.live().sub_verifier;
  if (!verifier) return disconnects::invalid_token;
  const int64_t now = n.time().now_unix();
  auto claims = verifier->verify_subscription_token(req.token, now);
  if (!claims) {
    if (claims.error().code == auth::token_error_code::expired) return errors::token_expired;
    if (claims.error().code == auth::token_error_code::internal) return errors::internal;
    return disconnects::invalid_token;
  }
  auto& c = claims.value();
  if (c.channel != req.channel || c.user != user_ || (!c.client.empty() && c.client != client_id()))
    return disconnects::invalid_token;
  renewal r;
  r.expire_at = effective_expiry(c.expire_at, c.exp);
  if (expiry_reached(r.expire_at, now)) return errors::expired;
  r.info = std::move(c.info);
  return r;
}

void client::handle_pong() {
  if (state_ != state::connected || pong_due_ms_ == 0) return disconnect(disconnects::bad_request);
  pong_due_ms_ = 0;
  rearm_timer();
}

// ---------------------------------------------------------------------------- server API actions

void client::disconnect(gyre::disconnect d) {
  if (state_ >= state::closing) return;
  state_ = state::closing;
  shard_.owner().metrics().count_disconnect(d.code);
  stop_counting();
  cleanup();
  if (d.code == disconnects::slow.code) transport_.discard_queued();
  // Give the transport its close handshake; the timer drops the socket if it hangs.
  close_due_ms_ = shard_.now_ms() + close_grace_ms;
  rearm_timer();
  transport_.close(d);
}

void client::server_unsubscribe(std::string_view channel, unsubscribe_code code) {
  if (state_ != state::connected) return;
  subscription* sub = find_sub(channel);
  if (!sub) return;
  if (sub->state == subscription::phase::subscribing) {
    // The SDK must see the subscribe reply first: unsubscribe right after it.
    sub->ensure_extra().unsubscribe_after = code;
    return;
  }
  std::string ch(channel);
  remove_subscription(*sub);
  send_unsubscribe_push(ch, code);
  schedule_flush();
}

void client::server_subscribe(server_subscribe_options opts) {
  if (state_ != state::connected) return;
  if (subscription* existing = find_sub(opts.channel)) {
    // Subscribed already, unless a server unsubscribe waits for this subscribe's reply:
    // then this subscribe follows that unsubscribe.
    if (existing->extra && existing->extra->unsubscribe_after) {
      if (!extra_) extra_ = std::make_unique<extra>();
      extra_->subscribes_after_unsubscribe.push_back(std::move(opts));
    }
    return;
  }
  if (subs_.size() >= shard_.opts().channel_limit) return;
  const auto& cfg = shard_.cfg();
  channel_rules rules = resolve_channel_rules(*cfg, opts.channel);
  if (!rules.ns) return;
  const auto& ns = *rules.ns;
  subscribe_plan p;
  p.channel = opts.channel;
  p.cfg = cfg;
  p.ns = rules.ns;
  p.server_side = true;
  const bool recovery = opts.force_recovery.value_or(ns.force_recovery_);
  const bool positioning = opts.force_positioning.value_or(ns.force_positioning_);
  p.emit_presence = opts.presence.value_or(ns.presence_);
  p.emit_join_leave = opts.join_leave.value_or(ns.join_leave_);
  p.push_join_leave = opts.force_push_join_leave.value_or(ns.force_push_join_leave_);
  p.recoverable = recovery;
  p.positioned = positioning || recovery;
  p.cache_mode = p.recoverable && ns.force_recovery_mode_ == "cache";
  p.expire_at = opts.expire_at;
  p.chan_info = std::move(opts.info);
  p.data = std::move(opts.data);
  if (opts.recover_since && p.recoverable) {
    p.recover = true;
    p.since = *opts.recover_since;
  }
  std::string channel = p.channel;
  start_subscription(std::move(p), [this, channel](result<protocol::subscribe_result> r,
                                                   uint32_t attempt) {
    if (state_ != state::connected || !r) return;
    protocol::subscribe_push sp;
    sp.recoverable = r->recoverable;
    sp.epoch = r->epoch;
    sp.offset = r->offset;
    sp.positioned = r->positioned;
    sp.data = r->data;
    std::string& out = scratch();
    protocol::codec_for(encoding_).encode_subscribe_push(channel, sp, transport_.envelope(), out);
    send_bytes(out, frame_type::push_subscribe);
    activate(attempt);
  });
}

void client::server_refresh(bool expired, int64_t expire_at, std::optional<std::string> info) {
  if (state_ != state::connected) return;
  if (expired) return disconnect(disconnects::expired);
  expire_at_ = expire_at;
  if (info) {
    if (!extra_) extra_ = std::make_unique<extra>();
    extra_->conn_info = std::move(*info);
  }
  rearm_timer();
}

void client::send_message(std::string_view data) {
  if (state_ != state::connected) return;
  std::string& out = scratch();
  protocol::codec_for(encoding_).encode_message_push(data, transport_.envelope(), out);
  send_bytes(out, frame_type::push_message);
  schedule_flush();
}

bool client::reply_can_carry(std::string_view data) const {
  return encoding_ != protocol::encoding::json || data.empty() || protocol::valid_json(data);
}

client_info client::info_for(const subscription* sub) const {
  client_info i;
  i.user = user_;
  i.client = client_id();
  if (extra_) i.conn_info = extra_->conn_info;
  if (sub) i.chan_info = sub->chan_info();
  return i;
}

// ---------------------------------------------------------------------------- output

void client::start_command_span(tracing::tracer& t, const protocol::command& cmd) {
  using protocol::command_kind;
  const std::string* channel = nullptr;
  const protocol::subscribe_request* sub = nullptr;
  switch (cmd.kind) {
    case command_kind::subscribe:
      sub = &cmd.as<protocol::subscribe_request>();
      channel = &sub->channel;
      break;
    case command_kind::publish:
      channel = &cmd.as<protocol::publish_request>().channel;
      break;
    case command_kind::history:
      channel = &cmd.as<protocol::history_request>().channel;
      break;
    case command_kind::presence:
      channel = &cmd.as<protocol::presence_request>().channel;
      break;
    case command_kind::presence_stats:
      channel = &cmd.as<protocol::presence_stats_request>().channel;
      break;
    default:
      return;  // does not reach the broker
  }
  if (!extra_) extra_ = std::make_unique<extra>();
  if (extra_->command_span) {  // the previous command ended without a reply
    extra_->command_span->fail("no reply");
    t.end(std::move(*extra_->command_span));
  }
  const char* method = node::metric_families::method_name(cmd.kind);
  tracing::span sp = t.start(std::string("client.") + method, tracing::span_kind::server);
  sp.set("centrifugo.method", method);
  sp.set("centrifugo.channel", *channel);
  sp.set("centrifugo.client", client_id());
  sp.set("centrifugo.user", user_);
  if (sub) sp.set_bool("centrifugo.recover", sub->recover);
  extra_->command_span = std::move(sp);
  extra_->command_span_id = cmd.id;
}

void client::end_command_span(const protocol::reply& r) {
  tracing::span& sp = *extra_->command_span;
  if (r.error) {
    sp.set_int("centrifugo.error.code", r.error->code);
    sp.fail(r.error->message);
  } else if (const auto* s = std::get_if<protocol::subscribe_result>(&r.result);
             s && s->was_recovering) {
    sp.set_bool("centrifugo.recovered", s->recovered);
  }
  if (tracing::tracer* t = shard_.owner().tracer()) t->end(std::move(sp));
  extra_->command_span.reset();
}

void client::send_reply(const protocol::reply& r) {
  send_reply(r, frame_of_reply(r));
}

void client::send_reply(const protocol::reply& r, frame_type f) {
  if (extra_ && extra_->command_span && r.id == extra_->command_span_id) end_command_span(r);
  std::string& out = scratch();
  protocol::codec_for(encoding_).encode_reply(r, out);
  enqueue_owned(shard_.pool().acquire(shared_buffer::copy_of(out)), f, true);
}

void client::send_error(protocol::command_kind k, uint32_t id, protocol_error e) {
  shard_.owner().metrics().count_reply_error(k, e.code);
  protocol::reply r;
  r.id = id;
  r.error = protocol::error_reply{e.code, std::string(e.message), e.temporary};
  send_reply(r, frame_of_reply(k));
}

void client::send_bytes(std::string_view bytes, frame_type f) {
  out_chunk* c = shard_.pool().acquire(shared_buffer::copy_of(bytes));
  enqueue_owned(c, f);
}

void client::send_unsubscribe_push(std::string_view channel, unsubscribe_code code) {
  shard_.owner().metrics().count_server_unsubscribe(code.code);
  std::string& out = scratch();
  protocol::codec_for(encoding_).encode_unsubscribe_push(channel, code.code, code.reason,
                                                         transport_.envelope(), out);
  send_bytes(out, frame_type::push_unsubscribe);
}

void client::enqueue(out_chunk* c, frame_type f, bool own_reply) {
  // A fan-out's chunk that nobody queued goes back to the pool with the fan-out
  // (fanout_chunks), never here: releasing it twice would hand it out twice.
  if (state_ >= state::closing || c->bytes.empty()) return;
  out_.push(c);
  shard_.count_sent();
  shard_.frames().sent(transport_slot(), f, c->bytes.size());
  if (!own_reply && !slow_ && over_queue_limit()) {
    slow_ = true;
    shard_.defer(*this);
  }
  schedule_flush();
}

void client::enqueue_owned(out_chunk* c, frame_type f, bool own_reply) {
  enqueue(c, f, own_reply);
  shard_.pool().discard_if_unused(c);  // not queued: nobody else holds it
}

uint8_t client::transport_slot() {
  // Resolved on first use: the transport may still be under construction with the client.
  if (transport_slot_ == no_transport_slot)
    transport_slot_ = gyre::transport_slot(transport_.name());
  return transport_slot_;
}

void client::schedule_flush() {
  if (!dirty_ && !out_.empty()) shard_.mark_dirty(*this);
}

// ---------------------------------------------------------------------------- lifecycle

void client::stop_counting() {
  // Every transport reports its end (on_transport_closed/_error) before destroying the
  // client, which is the last moment transport_ can still be asked its name.
  if (inflight_counted_) {
    inflight_counted_ = false;
    shard_.owner().metrics().connection_closed(transport_.name(), encoding_);
  }
  if (!counted_) return;
  counted_ = false;
  shard_.counters().connections.fetch_sub(1, std::memory_order_relaxed);
}

void client::cleanup() {
  while (!subs_.empty()) remove_subscription(*subs_.back());
  stop_holding_back();
  if (user_indexed_) {
    user_indexed_ = false;
    shard_.unindex_user(*this);
    shard_.owner().user_disconnected(user_);
  }
}

void client::on_transport_error() {
  stop_counting();
  if (state_ >= state::closing) return;
  state_ = state::closing;
  cleanup();
}

bool client::on_transport_closed() {
  stop_counting();
  if (state_ < state::closing) cleanup();
  state_ = state::closed;
  transport_closed_ = true;
  shard_.wheel().cancel(timer_);
  out_.clear(shard_.pool());
  return inflight_ == 0;
}

// ---------------------------------------------------------------------------- timers

void client::rearm_timer() {
  if (state_ == state::closed) return;
  int64_t due = 0;
  auto consider = [&](int64_t t) {
    if (t > 0 && (due == 0 || t < due)) due = t;
  };
  switch (state_) {
    case state::initial:
      consider(stale_due_ms_);
      break;
    case state::failed:
    case state::closing:
      consider(close_due_ms_);
      break;
    case state::connected: {
      const runtime_options& o = shard_.opts();
      consider(ping_due_ms_);
      consider(pong_due_ms_);
      // Expiry times are Unix seconds; the wheel runs on the monotonic clock.
      const int64_t unix_to_mono = shard_.now_ms() - shard_.owner().time().now_unix_ms();
      // A connection or subscription refreshed by a proxy is refreshed at its expiry; any
      // other is closed after the grace delay unless the client refreshed it.
      if (expire_at_ > 0)
        consider(expire_at_ * 1000 + unix_to_mono +
                 (server_side_refresh() ? 0 : o.expired_close_delay_ms));
      bool maintained = false;
      for (const auto& s : subs_) {
        if (s->expire_at > 0)
          consider(s->expire_at * 1000 + unix_to_mono +
                   (s->proxy_refresh ? 0 : o.expired_sub_close_delay_ms));
        maintained = maintained || s->emit_presence || s->positioned;
      }
      if (maintained) consider(maintenance_due_ms_);
      break;
    }
    case state::closed:
      break;
  }
  if (due == 0)
    shard_.wheel().cancel(timer_);
  else
    shard_.wheel().arm(timer_, due);
}

void client::on_timer(int64_t now_ms) {
  node& n = shard_.owner();
  const runtime_options& o = shard_.opts();
  switch (state_) {
    case state::initial:
      if (stale_due_ms_ > 0 && now_ms >= stale_due_ms_) return disconnect(disconnects::stale);
      break;
    case state::failed:
    case state::closing:
      // The peer did not finish closing in time: drop the socket.
      if (close_due_ms_ > 0 && now_ms >= close_due_ms_) {
        close_due_ms_ = 0;
        transport_.close(disconnects::connection_closed);
        return;
      }
      break;
    case state::closed:
      return;
    case state::connected: {
      if (pong_due_ms_ > 0 && now_ms >= pong_due_ms_) return disconnect(disconnects::no_pong);
      const int64_t now_unix_ms = n.time().now_unix_ms();  // expiry times are Unix seconds
      if (expire_at_ > 0 && server_side_refresh() && now_unix_ms >= expire_at_ * 1000)
        refresh_with_proxy();
      if (expire_at_ > 0 && now_unix_ms >= expire_at_ * 1000 + o.expired_close_delay_ms)
        return disconnect(disconnects::expired);
      if (ping_due_ms_ > 0 && now_ms >= ping_due_ms_) {
        out_chunk* ping = shard_.pool().acquire(ping_bytes(encoding_));
        enqueue_owned(ping, frame_type::server_ping);
        if (!bare_) pong_due_ms_ = now_ms + o.pong_timeout_ms;
        ping_due_ms_ = now_ms + o.ping_interval_ms;
        out_.trim();
        schedule_flush();
      }
      for (size_t i = 0; i < subs_.size();) {
        subscription& s = *subs_[i];
        if (s.expire_at > 0 && s.proxy_refresh && s.state == subscription::phase::subscribed &&
            now_unix_ms >= s.expire_at * 1000)
          sub_refresh_with_proxy(s);
        if (s.expire_at > 0 && now_unix_ms >= s.expire_at * 1000 + o.expired_sub_close_delay_ms) {
          if (s.server_side) return disconnect(disconnects::subscription_expired);
          if (s.state == subscription::phase::subscribing) {
            s.expire_at = 0;  // unsubscribed once its reply is out
            server_unsubscribe(*s.channel, unsubscribes::expired);
            ++i;
            continue;
          }
          server_unsubscribe(*s.channel, unsubscribes::expired);
          continue;
        }
        ++i;
      }
      if (maintenance_due_ms_ > 0 && now_ms >= maintenance_due_ms_) {
        maintenance_due_ms_ =
            now_ms + std::min(o.presence_update_interval_ms, o.position_check_delay_ms);
        for (const auto& s : subs_) {
          if (s->state != subscription::phase::subscribed) continue;
          if (s->emit_presence) n.presence().add(*s->channel, info_for(s.get()), [](status) {});
          if (s->positioned && now_ms - s->last_pub_ms >= o.position_check_delay_ms) {
            // Compare our position with the stream top: a mismatch means we lost something.
            s->last_pub_ms = now_ms;
            std::string channel = *s->channel;
            history_query q;
            q.limit = 0;
            ++inflight_;
            // The read refreshes the stream metadata's TTL (a subscribed channel keeps its
            // epoch), like Centrifugo's check.
            n.engine().history(channel, q, [this, channel](result<history_page> r) {
              on_loop([this, channel, r = std::move(r)]() mutable {
                if (transport_closed_ || !r) return release_inflight();
                subscription* sub = find_sub(channel);
                if (!sub || !behind(*sub, r->top)) return release_inflight();
                confirm_behind(std::move(channel));
              });
            });
          }
        }
      }
      break;
    }
  }
  rearm_timer();
}

// ---------------------------------------------------------------------------- proxies

namespace {

// Backend failures a peer can provoke at will (a slow or failing backend under load).
log::limiter proxy_failures;

}  // namespace

bool client::server_side_refresh() const {
  return shard_.cfg()->client_.proxy_.refresh_.enabled_;
}

proxy::request client::proxy_request(proxy::call_kind k, const config::proxy_config& p) const {
  proxy::request r;
  r.kind = k;
  r.client = client_id();
  r.transport = std::string(transport_.name());
  r.protocol = encoding_ == protocol::encoding::json ? "json" : "protobuf";
  r.binary = p.binary_encoding_;
  r.user = user_;
  if (p.include_connection_meta_ && extra_) r.meta = extra_->meta;
  return r;
}

void client::call_proxy(const config::proxy_config& p, std::string_view name,
                        const proxy::request& r, std::function<void(proxy::outcome&)> then,
                        bool holds_input) {
  // Headers, later ones overriding earlier ones: the connect command's emulated headers
  // listed in emulated_headers, then the connection's HTTP request headers listed in
  // http_headers (the transport adds http.static_headers below them).
  proxy::header_list headers;
  auto same = [](std::string_view a, std::string_view b) { return iequals_ascii(a, b); };
  if (extra_ && !p.emulated_headers_.empty()) {
    for (const auto& [k, v] : extra_->emulated_headers)
      for (const auto& want : p.emulated_headers_)
        if (same(k, want)) headers.emplace_back(k, v);
  }
  for (const auto& name_h : p.http_headers_) {
    auto values = transport_.proxy_header(name_h);
    if (values.empty()) continue;
    std::erase_if(headers, [&](const auto& h) { return same(h.first, name_h); });
    for (auto v : values) headers.emplace_back(name_h, std::string(v));
  }
  proxy::transport* t = shard_.proxies();
  if (holds_input)
    begin_async();
  else
    ++inflight_;
  auto finish = [this, then = std::move(then), holds_input](proxy::outcome& o) mutable {
    if (!transport_closed_) then(o);
    if (holds_input)
      end_async();
    else
      release_inflight();
  };
  if (!t) {
    // No transport on this loop (unit tests): the call fails like an unreachable backend.
    shard_.post_task([finish = std::move(finish)](shard&) mutable {
      proxy::outcome o;
      o.failed = proxy::failure::unavailable;
      o.detail = "no proxy transport";
      finish(o);
    });
    return;
  }
  t->call(p, name, r, std::move(headers),
          [finish = std::move(finish)](proxy::outcome o) mutable { finish(o); });
}

status client::proxy_refusal(const proxy::outcome& o, std::string_view what) {
  if (o.failed != proxy::failure::none) {
    log::limited(proxy_failures, spdlog::level::warn, "client {}: {} proxy call failed: {}{}{}",
                 client_id(), what, proxy::failure_name(o.failed), o.detail.empty() ? "" : ": ",
                 o.detail);
  }
  return proxy::refusal_of(o);
}

void client::connect_with_proxy(uint32_t id, protocol::connect_request& req) {
  auto cfg = shard_.cfg();
  const auto& p = cfg->client_.proxy_.connect_;
  proxy::request r = proxy_request(proxy::call_kind::connect, p);
  r.data = req.data;
  r.name = req.name;
  r.version = req.version;
  auto saved = std::make_shared<protocol::connect_request>(std::move(req));
  call_proxy(p, "default", r, [this, id, saved, cfg](proxy::outcome& o) {
    if (state_ != state::initial) return;  // stale, or closed meanwhile
    if (auto st = proxy_refusal(o, "connect"); !st) return fail_connect(id, st);
    if (!o.answer.has_result) {
      // No credentials from the backend: anonymous access, the user header, or 3501.
      auto who = authenticate(*saved);
      if (!who) return fail_connect(id, who);
      return establish(id, *saved, std::move(who.value()));
    }
    auto who = identity_from_proxy(o.answer);
    if (!who) return fail_connect(id, who);
    establish(id, *saved, std::move(who.value()));
  });
}

result<client::identity> client::identity_from_proxy(proxy::reply& a) {
  const auto& cfg = shard_.cfg();
  identity who;
  who.user = std::move(a.user);
  who.expire_at = a.expire_at > 0 ? a.expire_at : 0;
  if (a.info) who.info = std::move(*a.info);
  who.meta = std::move(a.meta);
  who.token_subs = std::move(a.subs);
  who.token_channels = std::move(a.channels);
  if (a.data) who.data = std::move(*a.data);
  if (!reply_can_carry(who.data)) {
    log::limited(proxy_failures, spdlog::level::warn,
                 "client {}: connect proxy returned b64data that is not JSON, which a JSON "
                 "connection cannot carry",
                 client_id());
    return errors::internal;
  }
  if (cfg->client_.insecure_) who.expire_at = 0;
  if (expiry_reached(who.expire_at, shard_.owner().time().now_unix())) return errors::expired;
  return who;
}

void client::subscribe_with_proxy(uint32_t id, subscribe_plan plan, std::string data) {
  const config::proxy_config* p =
      proxy::find_proxy(*plan.cfg, proxy::call_kind::subscribe, plan.proxy_name);
  if (!p) return fail_command(protocol::command_kind::subscribe, id, status(errors::internal));
  proxy::request r = proxy_request(proxy::call_kind::subscribe, *p);
  r.channel = plan.channel;
  r.data = std::move(data);
  auto saved = std::make_shared<subscribe_plan>(std::move(plan));
  call_proxy(*p, saved->proxy_name, r, [this, id, saved](proxy::outcome& o) {
    if (state_ != state::connected) return;
    constexpr auto kind = protocol::command_kind::subscribe;
    if (auto st = proxy_refusal(o, "subscribe"); !st) return fail_command(kind, id, st);
    subscribe_plan& pl = *saved;
    const auto& ns = *pl.ns;
    if (find_sub(pl.channel)) return fail_command(kind, id, status(errors::already_subscribed));
    const proxy::reply& a = o.answer;
    // The namespace's options, then the backend's override.
    const auto& ov = a.override_;
    if (ov.presence) pl.emit_presence = *ov.presence;
    if (ov.join_leave) pl.emit_join_leave = *ov.join_leave;
    if (ov.force_push_join_leave) pl.push_join_leave = *ov.force_push_join_leave;
    if (ov.force_recovery) pl.recoverable = *ov.force_recovery;
    if (ov.force_positioning) pl.positioned = *ov.force_positioning;
    pl.positioned = pl.positioned || pl.recoverable;
    pl.cache_mode = pl.recoverable && ns.force_recovery_mode_ == "cache";
    pl.recover = pl.asked_recover && pl.recoverable;
    if (!pl.recover) pl.since = {};
    if (pl.cache_mode && ns.auto_cache_recover_) pl.recover = true;
    if (a.info) pl.chan_info = *a.info;
    if (a.data) pl.data = *a.data;
    if (!reply_can_carry(pl.data)) {
      log::limited(proxy_failures, spdlog::level::warn,
                   "client {}: subscribe proxy returned b64data for {} that is not JSON, which "
                   "a JSON connection cannot carry",
                   client_id(), pl.channel);
      return fail_command(kind, id, status(errors::internal));
    }
    int64_t expire_at = a.expire_at > 0 ? a.expire_at : 0;
    if (pl.cfg->client_.insecure_) expire_at = 0;
    if (expiry_reached(expire_at, shard_.owner().time().now_unix()))
      return fail_command(kind, id, status(errors::expired));
    pl.expire_at = expire_at;
    // Refreshed by the sub_refresh proxy when the namespace has one; otherwise the client
    // refreshes it (its reply says when).
    pl.expires = expire_at > 0 && !ns.sub_refresh_proxy_enabled_;
    start_subscription(std::move(pl),
                       [this, id](result<protocol::subscribe_result> r, uint32_t attempt) {
                         if (state_ != state::connected) return;
                         if (!r) return fail_command(kind, id, r);
                         protocol::reply reply;
                         reply.id = id;
                         reply.result = std::move(r.value());
                         send_reply(reply);
                         activate(attempt);
                       });
  });
}

void client::publish_with_proxy(uint32_t id, publish_plan plan) {
  auto cfg = shard_.cfg();
  const config::proxy_config* p =
      proxy::find_proxy(*cfg, proxy::call_kind::publish, plan.proxy_name);
  if (!p) return fail_command(protocol::command_kind::publish, id, status(errors::internal));
  proxy::request r = proxy_request(proxy::call_kind::publish, *p);
  r.channel = plan.channel;
  r.data = plan.pub.data;
  auto saved = std::make_shared<publish_plan>(std::move(plan));
  call_proxy(*p, saved->proxy_name, r, [this, id, saved, cfg](proxy::outcome& o) {
    if (state_ != state::connected) return;
    constexpr auto kind = protocol::command_kind::publish;
    if (auto st = proxy_refusal(o, "publish"); !st) return fail_command(kind, id, st);
    publish_plan& pl = *saved;
    proxy::reply& a = o.answer;
    if (a.data) pl.pub.data = std::move(*a.data);
    if (a.skip_history) {
      pl.opts.history_size = 0;
      pl.opts.history_ttl_seconds = 0;
    }
    if (!a.tags.empty()) pl.pub.tags = std::move(a.tags);
    if (!a.idempotency_key.empty()) pl.opts.idempotency_key = std::move(a.idempotency_key);
    if (a.delta) pl.opts.use_delta = true;
    begin_async();
    shard_.owner().engine().publish(pl.channel, std::move(pl.pub), pl.opts,
                                    reply_when_done<publish_outcome>(kind, id, [](publish_outcome) {
                                      return protocol::publish_result{};
                                    }));
  });
}

void client::rpc_with_proxy(uint32_t id, const config::proxy_config& p, std::string_view name,
                            protocol::rpc_request& req) {
  proxy::request r = proxy_request(proxy::call_kind::rpc, p);
  r.method = req.method;
  r.data = std::move(req.data);
  call_proxy(p, name, r, [this, id](proxy::outcome& o) {
    if (state_ != state::connected) return;
    constexpr auto kind = protocol::command_kind::rpc;
    if (auto st = proxy_refusal(o, "rpc"); !st) return fail_command(kind, id, st);
    protocol::rpc_result res;
    if (o.answer.data) res.data = std::move(*o.answer.data);
    if (!reply_can_carry(res.data)) {
      log::limited(proxy_failures, spdlog::level::warn,
                   "client {}: rpc proxy returned b64data that is not JSON, which a JSON "
                   "connection cannot carry",
                   client_id());
      return fail_command(kind, id, status(errors::internal));
    }
    protocol::reply reply;
    reply.id = id;
    reply.result = std::move(res);
    send_reply(reply);
  });
}

// Centrifugo extends a connection or subscription whose refresh call failed by a minute
// and tries again then.
constexpr int64_t refresh_retry_s = 60;

void client::refresh_with_proxy() {
  auto cfg = shard_.cfg();
  const auto& p = cfg->client_.proxy_.refresh_;
  const int64_t was = expire_at_;
  expire_at_ = 0;  // no second call while this one runs
  proxy::request r = proxy_request(proxy::call_kind::refresh, p);
  call_proxy(
      p, "default", r,
      [this, was](proxy::outcome& o) {
        if (state_ != state::connected) return;
        const int64_t now = shard_.owner().time().now_unix();
        if (o.failed != proxy::failure::none) {
          log::limited(proxy_failures, spdlog::level::warn,
                       "client {}: refresh proxy call failed: {}{}{}", client_id(),
                       proxy::failure_name(o.failed), o.detail.empty() ? "" : ": ", o.detail);
          expire_at_ = std::max(was, now) + refresh_retry_s;
          return rearm_timer();
        }
        proxy::reply& a = o.answer;
        // No result (an error or a disconnect included) means expired, as in Centrifugo.
        if (!a.has_result || a.expired) return disconnect(disconnects::expired);
        if (a.info) {
          if (!extra_) extra_ = std::make_unique<extra>();
          extra_->conn_info = std::move(*a.info);
        }
        if (!a.meta.empty()) {
          if (!extra_) extra_ = std::make_unique<extra>();
          extra_->meta = std::move(a.meta);
        }
        if (a.expire_at <= now) return disconnect(disconnects::expired);
        expire_at_ = a.expire_at;
        rearm_timer();
      },
      false);
}

void client::sub_refresh_with_proxy(subscription& sub) {
  auto cfg = shard_.cfg();
  const std::string channel = *sub.channel;
  channel_rules rules = resolve_channel_rules(*cfg, channel);
  const config::proxy_config* p = rules.ns ? proxy::find_proxy(*cfg, proxy::call_kind::sub_refresh,
                                                               rules.ns->sub_refresh_proxy_name_)
                                           : nullptr;
  if (!p) {
    sub.proxy_refresh = false;  // closed as expired after the grace delay
    return;
  }
  const int64_t was = sub.expire_at;
  sub.expire_at = 0;  // no second call while this one runs
  proxy::request r = proxy_request(proxy::call_kind::sub_refresh, *p);
  r.channel = channel;
  call_proxy(
      *p, rules.ns->sub_refresh_proxy_name_, r,
      [this, was, channel](proxy::outcome& o) {
        if (state_ != state::connected) return;
        subscription* s = find_sub(channel);
        if (!s || s->state != subscription::phase::subscribed || !s->proxy_refresh) return;
        const int64_t now = shard_.owner().time().now_unix();
        if (o.failed != proxy::failure::none) {
          log::limited(proxy_failures, spdlog::level::warn,
                       "client {}: sub_refresh proxy call for {} failed: {}{}{}", client_id(),
                       channel, proxy::failure_name(o.failed), o.detail.empty() ? "" : ": ",
                       o.detail);
          s->expire_at = std::max(was, now) + refresh_retry_s;
          return rearm_timer();
        }
        proxy::reply& a = o.answer;
        if (!a.has_result || a.expired || a.expire_at <= now)
          return server_unsubscribe(channel, unsubscribes::expired);
        if (a.info) s->ensure_extra().chan_info = std::move(*a.info);
        s->expire_at = a.expire_at;
        rearm_timer();
      },
      false);
}

}  // namespace gyre
