// client: the per-connection protocol state machine; see client.hpp.
#include "hub/client.hpp"

#include <algorithm>
#include <chrono>

#include "auth/token_verifier.hpp"
#include "config/channel_resolution.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "hub/channel_rules.hpp"
#include "hub/client_transport.hpp"
#include "hub/node.hpp"
#include "hub/prepared_event.hpp"
#include "hub/shard.hpp"
#include "protocol/fossil.hpp"
#include "protocol/tags_filter.hpp"

namespace gyre {

namespace {

using namespace std::chrono;

uint32_t to_s(config::duration d) { return static_cast<uint32_t>(duration_cast<seconds>(d).count()); }

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

}  // namespace

// Rarely used connection data, allocated on demand.
struct client::extra {
  std::string conn_info;
  std::string meta;
  std::vector<std::string> token_channels;  // server-side channels from the token
  // The rest of a message whose commands may not run yet (behind one waiting for an
  // engine, or over the turn's budget or the queue limit), as bytes followed by
  // protocol::decode_padding: at most one message (websocket.message_size_limit).
  std::string parked;
  size_t parked_pos = 0;  // the next command to run
};

// Everything decided about a subscription before it is set up.
struct client::sub_setup {
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
  bool recover = false;  // the client asked to recover from `since`
  stream_position since;
  bool cache_mode = false;
  bool reject_unrecoverable = false;
  int64_t expire_at = 0;
  bool expires = false;  // subscription token with expiry: client-side sub_refresh
  std::string chan_info;
  std::string data;
  std::shared_ptr<const protocol::compiled_filter> filter;
};

client::client(shard& s, client_transport& t, protocol::encoding enc)
    : shard_(s), transport_(t), id_(uuid_v4_bytes()), encoding_(enc) {
  turn_left_ = shard_.owner().opts().read_budget_commands;
  timer_.owner = this;
  shard_.attach(*this);
  ping_due_ms_ = shard_.now_ms() + shard_.owner().opts().stale_close_delay_ms;
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
    if (encoding_ == protocol::encoding::json && extra_->parked.back() != '\n') extra_->parked.push_back('\n');
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

bool client::may_run_command() const {
  return busy_ == 0 && turn_left_ > 0 && !over_queue_limit();
}

bool client::over_queue_limit() const { return out_.queued_bytes() > shard_.owner().opts().queue_max_size; }

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
  turn_left_ = shard_.owner().opts().read_budget_commands;
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
  run_command(cmd);
  n.metrics().observe_command(cmd.kind,
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
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
    case command_kind::subscribe: return handle_subscribe(cmd.id, cmd.as<protocol::subscribe_request>());
    case command_kind::unsubscribe: return handle_unsubscribe(cmd.id, cmd.as<protocol::unsubscribe_request>());
    case command_kind::publish: return handle_publish(cmd.id, cmd.as<protocol::publish_request>());
    case command_kind::presence: return handle_presence(cmd.id, cmd.as<protocol::presence_request>());
    case command_kind::presence_stats:
      return handle_presence_stats(cmd.id, cmd.as<protocol::presence_stats_request>());
    case command_kind::history: return handle_history(cmd.id, cmd.as<protocol::history_request>());
    case command_kind::rpc: return handle_rpc(cmd.id, cmd.as<protocol::rpc_request>());
    case command_kind::refresh: return handle_refresh(cmd.id, cmd.as<protocol::refresh_request>());
    case command_kind::sub_refresh:
      return handle_sub_refresh(cmd.id, cmd.as<protocol::sub_refresh_request>());
    default: return disconnect(disconnects::bad_request);
  }
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
  node& n = shard_.owner();
  auto cfg = n.cfg();
  const auto& cc = cfg->client_;
  const int64_t now = n.time().now_unix();

  std::string user;
  int64_t expire_at = 0;
  std::string info;
  std::string meta;
  std::map<std::string, auth::sub_options> token_subs;
  std::vector<std::string> token_channels;
  bool credentials = false;

  if (!req.token.empty()) {
    auto verifier = n.connection_verifier();
    if (!verifier) {
      log::info("client {}: connection token received but no token keys are configured", client_id());
      return disconnect(disconnects::invalid_token);
    }
    auto claims = verifier->verify_connection_token(req.token, now);
    if (!claims) {
      if (claims.error().code == auth::token_error_code::expired) {
        send_error(id, errors::token_expired);
        state_ = state::failed;
        ping_due_ms_ = shard_.now_ms() + 5000;
        rearm_timer();
        return;
      }
      log::info("client {}: invalid connection token: {}", client_id(), claims.error().reason);
      return disconnect(disconnects::invalid_token);
    }
    auto& c = claims.value();
    if (c.user.empty() && cc.disallow_anonymous_connection_tokens_)
      return disconnect(disconnects::permission_denied);
    user = std::move(c.user);
    if (c.expire_at) expire_at = *c.expire_at > 0 ? *c.expire_at : 0;
    else if (c.exp) expire_at = *c.exp;
    info = std::move(c.info);
    meta = std::move(c.meta);
    token_subs = std::move(c.subs);
    if (token_subs.empty()) token_channels = std::move(c.channels);
    credentials = true;
  } else if (cc.allow_anonymous_connect_without_token_ || cc.insecure_) {
    credentials = true;
  } else if (!cc.user_id_http_header_.empty()) {
    std::string_view h = transport_.request_header(cc.user_id_http_header_);
    if (!h.empty()) {
      user = std::string(h);
      credentials = true;
    }
  }
  if (!credentials) {
    log::debug("client {}: no credentials in connect", client_id());
    return disconnect(disconnects::bad_request);
  }
  if (cc.insecure_) expire_at = 0;
  if (expire_at > 0 && expire_at <= now) {
    send_error(id, errors::expired);
    state_ = state::failed;
    ping_due_ms_ = shard_.now_ms() + 5000;
    rearm_timer();
    return;
  }
  if (!user.empty() && n.opts().user_connection_limit > 0 &&
      n.user_connection_count(user) >= n.opts().user_connection_limit)
    return disconnect(disconnects::connection_limit);

  // Server-side subscriptions: personal channel, then token subs / channels.
  std::vector<std::unique_ptr<sub_setup>> setups;
  auto make_setup = [&](const std::string& channel, const auth::sub_options* so,
                        protocol_error& err) -> std::unique_ptr<sub_setup> {
    channel_rules rules = resolve_channel_rules(*cfg, channel);
    if (!rules.ns) {
      err = errors::unknown_channel;
      return nullptr;
    }
    const auto& ns = *rules.ns;
    auto s = std::make_unique<sub_setup>();
    s->channel = channel;
    s->cfg = cfg;
    s->ns = rules.ns;
    s->server_side = true;
    bool presence = ns.presence_, join_leave = ns.join_leave_, push = ns.force_push_join_leave_;
    bool recovery = ns.force_recovery_, positioning = ns.force_positioning_;
    if (so) {
      const auto& o = so->overrides;
      if (o.presence) presence = *o.presence;
      if (o.join_leave) join_leave = *o.join_leave;
      if (o.force_push_join_leave) push = *o.force_push_join_leave;
      if (o.force_recovery) recovery = *o.force_recovery;
      if (o.force_positioning) positioning = *o.force_positioning;
      s->chan_info = so->info;
      s->data = so->data;
    }
    bool history = ns.history_enabled();
    s->emit_presence = presence;
    s->emit_join_leave = join_leave;
    s->push_join_leave = push;
    s->recoverable = recovery && history;
    s->positioned = (positioning || recovery) && history;
    s->cache_mode = s->recoverable && ns.force_recovery_mode_ == "cache";
    for (auto& [ch, hint] : req.subs) {
      if (ch == channel && hint.recover && s->recoverable) {
        s->recover = true;
        s->since = stream_position{hint.offset, hint.epoch};
      }
    }
    if (s->cache_mode && ns.auto_cache_recover_) s->recover = true;
    return s;
  };

  protocol_error setup_error;
  const auto& pc = cc.subscribe_to_user_personal_channel_;
  if (pc.enabled_ && !user.empty()) {
    std::string channel = config::personal_channel(*cfg, user);
    auto s = make_setup(channel, nullptr, setup_error);
    if (!s) {
      send_error(id, setup_error);
      state_ = state::failed;
      ping_due_ms_ = shard_.now_ms() + 5000;
      rearm_timer();
      return;
    }
    setups.push_back(std::move(s));
    if (pc.single_connection_) {
      connection_filter f;
      f.user = user;
      f.whitelist.push_back(client_id());
      n.disconnect(f, disconnects::connection_limit, [] {});
    }
  }
  for (auto& [ch, so] : token_subs) {
    auto s = make_setup(ch, &so, setup_error);
    if (!s) break;
    setups.push_back(std::move(s));
  }
  for (auto& ch : token_channels) {
    if (setup_error) break;
    auto s = make_setup(ch, nullptr, setup_error);
    if (!s) break;
    setups.push_back(std::move(s));
  }
  if (setup_error) {
    send_error(id, setup_error);
    state_ = state::failed;
    ping_due_ms_ = shard_.now_ms() + 5000;
    rearm_timer();
    return;
  }
  if (setups.size() > n.opts().channel_limit) return disconnect(disconnects::channel_limit);

  // The connection is established.
  user_ = std::move(user);
  expire_at_ = expire_at;
  client_side_refresh_ = expire_at_ > 0;
  if (!info.empty() || !meta.empty() || !token_channels.empty() || !token_subs.empty()) {
    if (!extra_) extra_ = std::make_unique<extra>();
    extra_->conn_info = std::move(info);
    extra_->meta = std::move(meta);
    for (auto& s : setups) extra_->token_channels.push_back(s->channel);
  }
  state_ = state::connected;
  shard_.index_user(*this);
  n.user_connected(user_);
  n.metrics().connection_accepted(transport_.name(), encoding_);

  // Reply once every server-side subscription is set up (memory engine: at once).
  struct connect_join {
    uint32_t id;
    size_t pending;
    protocol::connect_result result;
    std::vector<subscription*> subs;
    protocol_error error;
  };
  auto join = std::make_shared<connect_join>();
  join->id = id;
  join->pending = setups.size() + 1;
  auto& res = join->result;
  res.client = client_id();
  res.version = node::version();
  if (expire_at_ > 0) {
    res.expires = true;
    res.ttl = static_cast<uint32_t>(std::max<int64_t>(expire_at_ - now, 0));
  }
  if (!transport_.native_pings()) {
    res.ping = static_cast<uint32_t>(n.opts().ping_interval_ms / 1000);
    res.pong = true;
  }
  if (cc.connect_include_server_time_) res.time = n.time().now_unix_ms();
  res.subs.resize(setups.size());

  auto finish = [this, join]() {
    if (--join->pending > 0) return;
    if (state_ != state::connected) return;
    if (join->error) {
      send_error(join->id, join->error);
      state_ = state::failed;
      ping_due_ms_ = shard_.now_ms() + 5000;
      rearm_timer();
      return;
    }
    protocol::reply r;
    r.id = join->id;
    r.result = std::move(join->result);
    send_reply(r);
    for (subscription* s : join->subs)
      if (s) activate(*s);
    // First ping at a random point of the first interval, as Centrifugo does.
    const runtime_options& o = shard_.owner().opts();
    int64_t now_ms = shard_.now_ms();
    ping_due_ms_ = now_ms + o.ping_interval_ms / 2 +
                   static_cast<int64_t>(random_below(static_cast<uint64_t>(o.ping_interval_ms / 2 + 1)));
    maintenance_due_ms_ = now_ms + std::min(o.presence_update_interval_ms, o.position_check_delay_ms);
    rearm_timer();
  };

  join->subs.resize(setups.size(), nullptr);
  for (size_t i = 0; i < setups.size(); ++i) {
    std::string channel = setups[i]->channel;
    join->result.subs[i].first = channel;
    start_subscription(std::move(setups[i]),
                       [this, join, i, channel, finish](result<protocol::subscribe_result> r) {
                         if (!r) {
                           if (!join->error) join->error = r.error() ? r.error() : errors::internal;
                         } else {
                           join->result.subs[i].second = std::move(r.value());
                           join->subs[i] = find_sub(channel);
                         }
                         finish();
                       });
  }
  finish();
}

// ---------------------------------------------------------------------------- subscribe

void client::handle_subscribe(uint32_t id, protocol::subscribe_request& req) {
  node& n = shard_.owner();
  if (req.channel.empty()) return disconnect(disconnects::bad_request);
  if (!req.delta.empty() && req.delta != "fossil") return disconnect(disconnects::bad_request);
  auto cfg = n.cfg();
  if (req.channel.size() > static_cast<size_t>(cfg->channel_.max_length_))
    return send_error(id, errors::bad_request);
  if (find_sub(req.channel)) return send_error(id, errors::already_subscribed);
  if (subs_.size() >= n.opts().channel_limit) return send_error(id, errors::limit_exceeded);

  channel_rules rules = resolve_channel_rules(*cfg, req.channel);
  if (!rules.ns) return send_error(id, errors::unknown_channel);
  const auto& ns = *rules.ns;
  const auto& cc = cfg->client_;
  // Only stream subscriptions exist in this server.
  const bool stream_ns = ns.subscription_type_.empty() || ns.subscription_type_ == "stream";
  if (req.type != 0 || !stream_ns) return send_error(id, errors::permission_denied);
  if (auto e = check_channel_name(*cfg, rules, req.channel, n.regexes())) return send_error(id, e);

  auto s = std::make_unique<sub_setup>();
  s->channel = req.channel;
  s->cfg = cfg;
  s->ns = rules.ns;

  bool presence = ns.presence_, join_leave = ns.join_leave_, push = ns.force_push_join_leave_;
  bool force_recovery = ns.force_recovery_, force_positioning = ns.force_positioning_;
  bool by_token = false;

  if (rules.is_private || !req.token.empty()) {
    if (req.token.empty()) return send_error(id, errors::permission_denied);
    auto verifier = n.subscription_verifier();
    if (!verifier) return disconnect(disconnects::invalid_token);
    auto claims = verifier->verify_subscription_token(req.token, n.time().now_unix());
    if (!claims) {
      if (claims.error().code == auth::token_error_code::expired)
        return send_error(id, errors::token_expired);
      log::info("client {}: invalid subscription token: {}", client_id(), claims.error().reason);
      return disconnect(disconnects::invalid_token);
    }
    auto& c = claims.value();
    if (c.channel != req.channel || c.user != user_ || (!c.client.empty() && c.client != client_id())) {
      log::info("client {}: subscription token does not match channel/user/client", client_id());
      return disconnect(disconnects::invalid_token);
    }
    int64_t exp = c.expire_at ? *c.expire_at : (c.exp ? *c.exp : 0);
    if (cc.insecure_) exp = 0;
    if (exp > 0 && exp <= n.time().now_unix()) return send_error(id, errors::expired);
    s->expire_at = exp;
    s->expires = exp > 0;
    s->chan_info = std::move(c.info);
    s->data = std::move(c.data);
    const auto& o = c.overrides;
    if (o.presence) presence = *o.presence;
    if (o.join_leave) join_leave = *o.join_leave;
    if (o.force_push_join_leave) push = *o.force_push_join_leave;
    if (o.force_recovery) force_recovery = *o.force_recovery;
    if (o.force_positioning) force_positioning = *o.force_positioning;
    by_token = true;
  } else if (rules.user_limited) {
    if (!rules.lists_user(*cfg, req.channel, user_) && !cc.insecure_)
      return send_error(id, errors::permission_denied);
  } else if (ns.subscribe_proxy_enabled_ || ns.subscribe_stream_proxy_enabled_) {
    log::warn("subscribe proxy is configured for {} but proxies are not supported", req.channel);
    return send_error(id, errors::not_available);
  } else if (!((ns.allow_subscribe_for_client_ && (!user_.empty() || ns.allow_subscribe_for_anonymous_)) ||
               cc.insecure_)) {
    return send_error(id, errors::permission_denied);
  }

  const bool history = ns.history_enabled();
  const bool history_allowed = allowed(ns.allow_history_for_client_, ns.allow_history_for_subscriber_,
                                       ns.allow_history_for_anonymous_, true, user_, cc.insecure_);
  const bool presence_allowed = allowed(ns.allow_presence_for_client_, ns.allow_presence_for_subscriber_,
                                        ns.allow_presence_for_anonymous_, true, user_, cc.insecure_);
  bool recoverable = force_recovery || (req.recoverable && (ns.allow_recovery_ || history_allowed || by_token));
  bool positioned = force_positioning || recoverable ||
                    (req.positioned && (ns.allow_positioning_ || history_allowed || by_token));
  s->recoverable = recoverable && history;
  s->positioned = positioned && history;
  s->emit_presence = presence;
  s->emit_join_leave = join_leave;
  s->push_join_leave = push || (req.join_leave && join_leave && (presence_allowed || by_token));
  s->delta = req.delta == "fossil" && has_fossil(ns);
  s->cache_mode = s->recoverable && ns.force_recovery_mode_ == "cache";
  s->reject_unrecoverable = (req.flag & protocol::subscribe_flag_reject_unrecoverable) != 0;
  if (req.recover && s->recoverable) {
    s->recover = true;
    s->since = stream_position{req.offset, req.epoch};
  }
  if (s->cache_mode && ns.auto_cache_recover_) s->recover = true;
  if (req.tf) {
    if (!ns.allow_tags_filter_) return send_error(id, errors::bad_request);
    auto compiled = protocol::compiled_filter::compile(*req.tf);
    if (!compiled) return send_error(id, errors::bad_request);
    s->filter = std::make_shared<const protocol::compiled_filter>(std::move(compiled.value()));
  }

  std::string channel = req.channel;
  start_subscription(std::move(s), [this, id, channel](result<protocol::subscribe_result> r) {
    if (state_ != state::connected) return;
    if (!r) {
      if (r.is_disconnect()) return disconnect(r.as_disconnect());
      return send_error(id, r.error());
    }
    protocol::reply reply;
    reply.id = id;
    reply.result = std::move(r.value());
    send_reply(reply);
    if (subscription* sub = find_sub(channel)) activate(*sub);
  });
}

void client::start_subscription(std::unique_ptr<sub_setup> setup,
                                std::function<void(result<protocol::subscribe_result>)> done) {
  node& n = shard_.owner();
  auto owned = std::make_unique<subscription>();
  subscription& sub = *owned;
  sub.owner = this;
  sub.state = subscription::phase::subscribing;
  sub.server_side = setup->server_side;
  sub.positioned = setup->positioned;
  sub.recoverable = setup->recoverable;
  sub.push_join_leave = setup->push_join_leave;
  sub.emit_presence = setup->emit_presence;
  sub.emit_join_leave = setup->emit_join_leave;
  sub.delta = setup->delta;
  sub.expire_at = setup->expire_at;
  if (!setup->chan_info.empty() || setup->filter) {
    sub.ensure_extra().chan_info = setup->chan_info;
    sub.ensure_extra().filter = setup->filter;
  }
  sub.last_pub_ms = shard_.now_ms();
  subs_.push_back(std::move(owned));
  if (shard_.add_subscription(setup->channel, sub)) n.channel_added(setup->channel);

  // Read history only once the broker delivers the channel to this node: a publication
  // made in between is then either in the history read or in the live stream (or both).
  std::string ch = setup->channel;
  begin_async();
  n.when_channel_ready(ch, [this, setup = std::shared_ptr<sub_setup>(std::move(setup)),
                            done = std::move(done)](status st) mutable {
    on_loop([this, setup, done = std::move(done), st]() mutable {
      subscription* sub = find_sub(setup->channel);
      if (state_ != state::connected || !sub || sub->state != subscription::phase::subscribing) {
        end_async();
        return;
      }
      if (!st) {
        remove_subscription(*sub, false);
        done(errors::internal);
        end_async();
        return;
      }
      continue_subscription(*sub, std::move(setup), std::move(done));
      end_async();
    });
  });
}

void client::continue_subscription(subscription& sub, std::shared_ptr<sub_setup> setup,
                                   std::function<void(result<protocol::subscribe_result>)> done) {
  node& n = shard_.owner();
  client_info info = info_for(&sub);
  if (sub.emit_presence)
    n.presence().add(setup->channel, info, [ch = setup->channel](status st) {
      if (!st) log::warn("presence add failed for {}: {}", ch, st.error().message);
    });
  if (sub.emit_join_leave) n.engine().publish_join(setup->channel, info, [](status) {});

  protocol::subscribe_result base;
  base.expires = setup->expires;
  if (setup->expires)
    base.ttl = static_cast<uint32_t>(std::max<int64_t>(setup->expire_at - n.time().now_unix(), 0));
  base.data = setup->data;
  base.delta = setup->delta;
  base.recoverable = setup->recoverable;
  base.positioned = setup->positioned;

  if (!setup->positioned && !setup->recoverable) {
    done(std::move(base));
    return;
  }

  history_query q;
  q.meta_ttl_seconds = static_cast<int64_t>(meta_ttl_seconds(*setup->ns, *setup->cfg));
  if (setup->cache_mode) {
    q.limit = 1;
    q.reverse = true;
  } else if (setup->recover) {
    q.since = stream_position{setup->since.offset, ""};
    q.limit = static_cast<int32_t>(n.opts().recovery_max_publication_limit);
  } else {
    q.limit = 0;
  }
  std::string channel = setup->channel;
  begin_async();
  n.engine().history(
      channel, q,
      [this, setup = std::move(setup), base = std::move(base),
       done = std::move(done)](result<history_page> r) mutable {
        on_loop([this, setup, base = std::move(base), done = std::move(done),
                 r = std::move(r)]() mutable {
          subscription* sub = find_sub(setup->channel);
          if (state_ != state::connected || !sub || sub->state != subscription::phase::subscribing) {
            end_async();
            return;
          }
          if (!r) {
            remove_subscription(*sub, false);
            done(r.error() ? r.error() : errors::internal);
            end_async();
            return;
          }
          history_page& page = r.value();
          protocol::subscribe_result res = std::move(base);
          const stream_position& top = page.top;
          res.epoch = top.epoch;
          res.offset = top.offset;
          bool recovering = setup->recover;
          bool recovered = false;
          if (setup->cache_mode && recovering) {
            const publication* newest = page.publications.empty() ? nullptr : &page.publications.front();
            bool epoch_ok = setup->since.epoch.empty() || setup->since.epoch == top.epoch;
            bool at_top = epoch_ok && setup->since.offset == top.offset;
            recovered = newest != nullptr || (setup->since.offset > 0 && at_top);
            if (recovered && newest && !at_top) {
              res.publications.push_back(std::move(page.publications.front()));
              res.offset = setup->since.offset;
            }
          } else if (recovering) {
            auto& pubs = page.publications;
            bool epoch_ok = setup->since.epoch.empty() || setup->since.epoch == top.epoch;
            if (!epoch_ok) recovered = false;
            else if (pubs.empty()) recovered = setup->since.offset == top.offset;
            else recovered = pubs.front().offset == setup->since.offset + 1 && pubs.back().offset == top.offset;
            if (recovered) {
              res.publications = std::move(pubs);
              res.offset = setup->since.offset;
            }
          }
          if (recovering) {
            res.was_recovering = true;
            res.recovered = recovered;
            shard_.owner().metrics().count_recover(recovered);
            if (!recovered && setup->reject_unrecoverable) {
              remove_subscription(*sub, false);
              done(errors::unrecoverable_position);
              end_async();
              return;
            }
          }
          sub->offset = top.offset;
          sub->epoch = top.epoch;
          if (!res.publications.empty()) {
            for (auto& p : res.publications) p.delta = false;
            if (sub->delta) {
              // First recovered publication full, then patches against the previous one.
              std::string prev = res.publications.front().data;
              for (size_t i = 1; i < res.publications.size(); ++i) {
                publication& p = res.publications[i];
                std::string full = p.data;
                std::string patch = protocol::fossil_delta(prev, full, protocol::delta_alignment::utf8);
                bool usable = encoding_ == protocol::encoding::json
                                  ? protocol::json_delta_sendable(patch, full.size())
                                  : protocol::delta_worth_sending(patch.size(), full.size());
                if (usable) {
                  p.data = std::move(patch);
                  p.delta = true;
                }
                prev = std::move(full);
              }
              sub->delta_ready = recovered;
            }
          }
          done(std::move(res));
          end_async();
        });
      });
}

void client::activate(subscription& sub) {
  if (sub.state != subscription::phase::subscribing) return;
  sub.state = subscription::phase::subscribed;
  shard_.counters().subscriptions.fetch_add(1, std::memory_order_relaxed);
  if (sub.extra && !sub.extra->pending.empty()) {
    auto pending = std::move(sub.extra->pending);
    sub.extra->pending = {};
    for (auto& ev : pending) {
      if (sub.broken) break;
      if (ev->kind() == event_kind::publication) {
        deliver_publication(ev, sub, nullptr);
      } else if (sub.push_join_leave) {
        out_chunk* c = shard_.pool().acquire(ev->encoded(encoding_, pub_variant::full));
        enqueue(c);
      }
    }
  }
  schedule_flush();
  rearm_timer();
}

void client::remove_subscription(subscription& sub, bool announce_leave) {
  node& n = shard_.owner();
  std::string channel = *sub.channel;
  if (sub.state == subscription::phase::subscribed)
    shard_.counters().subscriptions.fetch_sub(1, std::memory_order_relaxed);
  sub.state = subscription::phase::closing;
  if (sub.emit_presence) n.presence().remove(channel, client_id(), user_, [](status) {});
  if (announce_leave && sub.emit_join_leave) n.engine().publish_leave(channel, info_for(&sub), [](status) {});
  if (shard_.remove_subscription(sub)) n.channel_removed(channel);
  auto it = std::find_if(subs_.begin(), subs_.end(), [&](const auto& p) { return p.get() == &sub; });
  if (it != subs_.end()) subs_.erase(it);
}

subscription* client::find_sub(std::string_view channel) const {
  for (const auto& s : subs_)
    if (*s->channel == channel) return s.get();
  return nullptr;
}

void client::handle_unsubscribe(uint32_t id, protocol::unsubscribe_request& req) {
  if (req.channel.empty()) return disconnect(disconnects::bad_request);
  if (subscription* sub = find_sub(req.channel)) remove_subscription(*sub, true);
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
      if (sub.ensure_extra().pending.size() >= shard_.owner().opts().subscribe_buffer_limit) {
        lost_continuity(sub);
        return;
      }
      sub.extra->pending.push_back(ev);
      return;
    case subscription::phase::subscribed:
      break;
  }
  if (ev->kind() == event_kind::publication) return deliver_publication(ev, sub, &chunks);
  if (sub.push_join_leave) enqueue(chunks.get(encoding_, pub_variant::full));
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
  if (const auto* f = sub.filter(); f && !f->matches(p.pub.tags)) {
    sub.delta_ready = false;  // the client's delta base is no longer the previous publication
    return;
  }
  pub_variant v = pub_variant::full;
  if (sub.delta) {
    if (sub.delta_ready && p.use_delta) v = pub_variant::patch;
    else v = pub_variant::full_string;
    sub.delta_ready = true;
  }
  out_chunk* c = chunks ? chunks->get(encoding_, v) : shard_.pool().acquire(ev->encoded(encoding_, v));
  enqueue(c);
}

void client::check_stream_top(subscription& sub, const stream_position* top) {
  // Live subscriptions only: one still subscribing either reads its history after this
  // top was read, or read it before and normally went live when that read was handled,
  // which was before this check (docs/design/resubscribe-position-check.md).
  if (sub.state != subscription::phase::subscribed || !sub.positioned || sub.broken) return;
  if (top && top->epoch == sub.epoch && top->offset <= sub.offset) return;
  lost_continuity(sub);
}

void client::lost_continuity(subscription& sub) {
  sub.broken = true;
  shard_.defer(*this);
}

void client::on_events_lost(subscription& sub) {
  if (sub.positioned && sub.state != subscription::phase::closing && !sub.broken) lost_continuity(sub);
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
                   client_id(), user_, out_.queued_bytes(), shard_.owner().opts().queue_max_size);
      return disconnect(disconnects::slow);
    }
    slow_ = false;
  }
  for (size_t i = 0; i < subs_.size();) {
    subscription& s = *subs_[i];
    if (!s.broken) {
      ++i;
      continue;
    }
    if (s.server_side) return disconnect(disconnects::insufficient_state);
    std::string channel = *s.channel;
    remove_subscription(s, true);
    const protocol::codec& codec = protocol::codec_for(encoding_);
    std::string& out = scratch();
    codec.encode_unsubscribe_push(channel, unsubscribes::insufficient_state.code,
                                  unsubscribes::insufficient_state.reason, transport_.envelope(), out);
    send_bytes(out);
  }
  schedule_flush();
}

// ---------------------------------------------------------------------------- publish & co

void client::handle_publish(uint32_t id, protocol::publish_request& req) {
  node& n = shard_.owner();
  if (req.channel.empty()) return disconnect(disconnects::bad_request);
  auto cfg = n.cfg();
  channel_rules rules = resolve_channel_rules(*cfg, req.channel);
  if (!rules.ns) return send_error(id, errors::unknown_channel);
  const auto& ns = *rules.ns;
  if (req.type != 0) return send_error(id, errors::not_available);
  const std::string& format = config::effective_publication_data_format(cfg->channel_, ns);
  if (format.empty() || format == "json" || format == "json_object") {
    if (req.data.empty()) return send_error(id, errors::bad_request);
    if (format == "json_object" && req.data.front() != '{') return send_error(id, errors::bad_request);
  }
  subscription* sub = find_sub(req.channel);
  const bool subscribed = sub && sub->state == subscription::phase::subscribed;
  if (ns.publish_proxy_enabled_) {
    log::warn("publish proxy is configured for {} but proxies are not supported", req.channel);
    return send_error(id, errors::not_available);
  }
  if (!allowed(ns.allow_publish_for_client_, ns.allow_publish_for_subscriber_,
               ns.allow_publish_for_anonymous_, subscribed, user_, cfg->client_.insecure_))
    return send_error(id, errors::permission_denied);

  publication pub;
  pub.data = std::move(req.data);
  pub.info = info_for(sub);
  publish_options opts = n.publish_options_for(ns, *cfg);
  begin_async();
  n.engine().publish(req.channel, std::move(pub), opts,
                     reply_when_done<publish_outcome>(id, [](publish_outcome) { return protocol::publish_result{}; }));
}

template <typename T, typename Make>
std::function<void(result<T>)> client::reply_when_done(uint32_t id, Make make) {
  return [this, id, make = std::move(make)](result<T> r) mutable {
    on_loop([this, id, make = std::move(make), r = std::move(r)]() mutable {
      if (state_ == state::connected) {
        if (r) {
          protocol::reply reply;
          reply.id = id;
          reply.result = make(std::move(r.value()));
          send_reply(reply);
        } else {
          send_error(id, r.error() ? r.error() : errors::internal);
        }
      }
      end_async();
    });
  };
}

const config::channel_options* client::check_read_access(uint32_t id, const std::string& channel,
                                                         read_kind kind, const config::config& cfg) {
  if (channel.empty()) {
    disconnect(disconnects::bad_request);
    return nullptr;
  }
  channel_rules rules = resolve_channel_rules(cfg, channel);
  if (!rules.ns) {
    send_error(id, errors::unknown_channel);
    return nullptr;
  }
  const auto& ns = *rules.ns;
  const bool presence = kind == read_kind::presence;
  if (presence ? !ns.presence_ : !ns.history_enabled()) {
    send_error(id, errors::not_available);
    return nullptr;
  }
  const bool subscribed = find_sub(channel) != nullptr;
  bool ok = presence ? allowed(ns.allow_presence_for_client_, ns.allow_presence_for_subscriber_,
                               ns.allow_presence_for_anonymous_, subscribed, user_, cfg.client_.insecure_)
                     : allowed(ns.allow_history_for_client_, ns.allow_history_for_subscriber_,
                               ns.allow_history_for_anonymous_, subscribed, user_, cfg.client_.insecure_);
  if (!ok) {
    send_error(id, errors::permission_denied);
    return nullptr;
  }
  return &ns;
}

void client::handle_presence(uint32_t id, protocol::presence_request& req) {
  node& n = shard_.owner();
  auto cfg = n.cfg();
  if (!check_read_access(id, req.channel, read_kind::presence, *cfg)) return;
  begin_async();
  n.presence().presence(req.channel, reply_when_done<presence_map>(id, [](presence_map m) {
    protocol::presence_result pr;
    pr.presence = std::move(m);
    return pr;
  }));
}

void client::handle_presence_stats(uint32_t id, protocol::presence_stats_request& req) {
  node& n = shard_.owner();
  auto cfg = n.cfg();
  if (!check_read_access(id, req.channel, read_kind::presence, *cfg)) return;
  begin_async();
  n.presence().stats(req.channel, reply_when_done<presence_stats>(id, [](presence_stats s) {
    return protocol::presence_stats_result{s.num_clients, s.num_users};
  }));
}

void client::handle_history(uint32_t id, protocol::history_request& req) {
  node& n = shard_.owner();
  auto cfg = n.cfg();
  const config::channel_options* ns = check_read_access(id, req.channel, read_kind::history, *cfg);
  if (!ns) return;
  if (req.reverse && req.since && req.since->offset == 0) return send_error(id, errors::bad_request);
  history_query q;
  q.since = req.since;
  q.reverse = req.reverse;
  int32_t max = static_cast<int32_t>(n.opts().history_max_publication_limit);
  q.limit = req.limit;
  if (q.limit < 0 || q.limit > max) q.limit = max;
  q.meta_ttl_seconds = meta_ttl_seconds(*ns, *cfg);
  begin_async();
  n.engine().history(req.channel, q, reply_when_done<history_page>(id, [](history_page page) {
    protocol::history_result hr;
    hr.publications = std::move(page.publications);
    for (auto& p : hr.publications) p.delta = false;
    hr.epoch = std::move(page.top.epoch);
    hr.offset = page.top.offset;
    return hr;
  }));
}

void client::handle_rpc(uint32_t id, protocol::rpc_request& req) {
  auto cfg = shard_.owner().cfg();
  const auto& ping = cfg->rpc_.ping_;
  if (ping.enabled_ && req.method == ping.method_) {
    protocol::reply reply;
    reply.id = id;
    reply.result = protocol::rpc_result{};
    return send_reply(reply);
  }
  // No RPC proxy exists in Gyre yet: Centrifugo answers 104 when only the ping method is
  // configured and 108 when no RPC handler is configured at all.
  send_error(id, ping.enabled_ ? errors::method_not_found : errors::not_available);
}

void client::handle_send(protocol::send_request&) {
  // Asynchronous message to the server: accepted and counted; no handler consumes it yet.
  shard_.owner().metrics().count_send();
}

void client::handle_refresh(uint32_t id, protocol::refresh_request& req) {
  node& n = shard_.owner();
  if (!client_side_refresh_ || req.token.empty()) return disconnect(disconnects::bad_request);
  auto verifier = n.connection_verifier();
  if (!verifier) return disconnect(disconnects::invalid_token);
  const int64_t now = n.time().now_unix();
  auto claims = verifier->verify_connection_token(req.token, now);
  if (!claims) {
    if (claims.error().code == auth::token_error_code::expired) return disconnect(disconnects::expired);
    return disconnect(disconnects::invalid_token);
  }
  auto& c = claims.value();
  if (c.user != user_) return disconnect(disconnects::invalid_token);
  int64_t expire_at = c.expire_at ? (*c.expire_at > 0 ? *c.expire_at : 0) : (c.exp ? *c.exp : 0);
  if (n.cfg()->client_.insecure_) expire_at = 0;
  if (expire_at > 0 && expire_at <= now) return send_error(id, errors::expired);
  // A change of the token's server-side channels needs a reconnect to apply.
  std::vector<std::string> channels;
  if (!c.subs.empty()) {
    for (auto& [ch, so] : c.subs) channels.push_back(ch);
  } else {
    channels = c.channels;
  }
  std::vector<std::string> before = extra_ ? extra_->token_channels : std::vector<std::string>{};
  // The personal channel is not part of the token: compare token channels only.
  auto pc = n.cfg()->client_.subscribe_to_user_personal_channel_;
  std::vector<std::string> before_token;
  for (auto& ch : before) {
    bool personal = pc.enabled_ && ch.ends_with(n.cfg()->channel_.user_boundary_ + user_);
    if (!personal) before_token.push_back(ch);
  }
  std::sort(channels.begin(), channels.end());
  std::sort(before_token.begin(), before_token.end());
  if (channels != before_token) return disconnect(disconnects::insufficient_state);
  if (!c.info.empty() || !c.meta.empty() || extra_) {
    if (!extra_) extra_ = std::make_unique<extra>();
    extra_->conn_info = std::move(c.info);
    extra_->meta = std::move(c.meta);
  }
  expire_at_ = expire_at;
  client_side_refresh_ = expire_at_ > 0;
  protocol::reply reply;
  reply.id = id;
  protocol::refresh_result rr;
  rr.expires = expire_at_ > 0;
  if (rr.expires) rr.ttl = static_cast<uint32_t>(expire_at_ - now);
  reply.result = rr;
  send_reply(reply);
  rearm_timer();
}

void client::handle_sub_refresh(uint32_t id, protocol::sub_refresh_request& req) {
  node& n = shard_.owner();
  if (req.channel.empty()) return disconnect(disconnects::bad_request);
  subscription* sub = find_sub(req.channel);
  if (!sub) return send_error(id, errors::permission_denied);
  if (req.token.empty()) return send_error(id, errors::bad_request);
  if (sub->expire_at == 0 || sub->server_side) return disconnect(disconnects::bad_request);
  auto verifier = n.subscription_verifier();
  if (!verifier) return disconnect(disconnects::invalid_token);
  const int64_t now = n.time().now_unix();
  auto claims = verifier->verify_subscription_token(req.token, now);
  if (!claims) {
    if (claims.error().code == auth::token_error_code::expired) return send_error(id, errors::token_expired);
    return disconnect(disconnects::invalid_token);
  }
  auto& c = claims.value();
  if (c.channel != req.channel || c.user != user_ || (!c.client.empty() && c.client != client_id()))
    return disconnect(disconnects::invalid_token);
  int64_t exp = c.expire_at ? *c.expire_at : (c.exp ? *c.exp : 0);
  if (exp > 0 && exp <= now) return send_error(id, errors::expired);
  sub->expire_at = exp;
  if (!c.info.empty()) sub->ensure_extra().chan_info = std::move(c.info);
  protocol::reply reply;
  reply.id = id;
  protocol::sub_refresh_result sr;
  sr.expires = exp > 0;
  if (sr.expires) sr.ttl = static_cast<uint32_t>(exp - now);
  reply.result = sr;
  send_reply(reply);
  rearm_timer();
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
  cleanup();
  if (d.code == disconnects::slow.code) transport_.discard_queued();
  // Give the transport its close handshake; the timer drops the socket if it hangs.
  ping_due_ms_ = shard_.now_ms() + 5000;
  pong_due_ms_ = 0;
  rearm_timer();
  transport_.close(d);
}

void client::server_unsubscribe(std::string_view channel, unsubscribe_code code) {
  if (state_ != state::connected) return;
  subscription* sub = find_sub(channel);
  if (!sub) return;
  std::string ch(channel);
  remove_subscription(*sub, true);
  std::string& out = scratch();
  protocol::codec_for(encoding_).encode_unsubscribe_push(ch, code.code, code.reason, transport_.envelope(), out);
  send_bytes(out);
  schedule_flush();
}

void client::server_subscribe(server_subscribe_options opts) {
  if (state_ != state::connected) return;
  if (find_sub(opts.channel)) return;
  node& n = shard_.owner();
  if (subs_.size() >= n.opts().channel_limit) return;
  auto cfg = n.cfg();
  channel_rules rules = resolve_channel_rules(*cfg, opts.channel);
  if (!rules.ns) return;
  const auto& ns = *rules.ns;
  auto s = std::make_unique<sub_setup>();
  s->channel = opts.channel;
  s->cfg = cfg;
  s->ns = rules.ns;
  s->server_side = true;
  bool history = ns.history_enabled();
  bool recovery = opts.force_recovery.value_or(ns.force_recovery_);
  bool positioning = opts.force_positioning.value_or(ns.force_positioning_);
  s->emit_presence = opts.presence.value_or(ns.presence_);
  s->emit_join_leave = opts.join_leave.value_or(ns.join_leave_);
  s->push_join_leave = opts.force_push_join_leave.value_or(ns.force_push_join_leave_);
  s->recoverable = recovery && history;
  s->positioned = (positioning || recovery) && history;
  s->cache_mode = s->recoverable && ns.force_recovery_mode_ == "cache";
  s->expire_at = opts.expire_at;
  s->chan_info = std::move(opts.info);
  s->data = std::move(opts.data);
  if (opts.recover_since && s->recoverable) {
    s->recover = true;
    s->since = *opts.recover_since;
  }
  std::string channel = s->channel;
  start_subscription(std::move(s), [this, channel](result<protocol::subscribe_result> r) {
    if (state_ != state::connected || !r) return;
    protocol::subscribe_push sp;
    sp.recoverable = r->recoverable;
    sp.epoch = r->epoch;
    sp.offset = r->offset;
    sp.positioned = r->positioned;
    sp.data = r->data;
    std::string& out = scratch();
    protocol::codec_for(encoding_).encode_subscribe_push(channel, sp, transport_.envelope(), out);
    send_bytes(out);
    if (subscription* sub = find_sub(channel)) activate(*sub);
  });
}

void client::server_refresh(bool expired, int64_t expire_at, std::optional<std::string> info) {
  if (state_ != state::connected) return;
  if (expired) return disconnect(disconnects::expired);
  expire_at_ = expire_at;
  client_side_refresh_ = false;  // the server decides the connection lifetime now
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
  send_bytes(out);
  schedule_flush();
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

void client::send_reply(const protocol::reply& r) {
  if (r.error) shard_.owner().metrics().count_reply_error(r.error->code);
  std::string& out = scratch();
  protocol::codec_for(encoding_).encode_reply(r, out);
  enqueue(shard_.pool().acquire(shared_buffer::copy_of(out)), true);
}

void client::send_error(uint32_t id, protocol_error e) {
  protocol::reply r;
  r.id = id;
  r.error = protocol::error_reply{e.code, std::string(e.message), e.temporary};
  send_reply(r);
}

void client::send_bytes(std::string_view bytes) {
  enqueue(shard_.pool().acquire(shared_buffer::copy_of(bytes)));
}

void client::enqueue(out_chunk* c, bool own_reply) {
  if (state_ >= state::closing || c->bytes.empty()) {
    shard_.pool().discard_if_unused(c);
    return;
  }
  out_.push(c);
  shard_.count_sent();
  if (!own_reply && !slow_ && over_queue_limit()) {
    slow_ = true;
    shard_.defer(*this);
  }
  schedule_flush();
}

void client::schedule_flush() {
  if (!dirty_ && !out_.empty()) shard_.mark_dirty(*this);
}

// ---------------------------------------------------------------------------- lifecycle

void client::stop_counting() {
  if (!counted_) return;
  counted_ = false;
  shard_.counters().connections.fetch_sub(1, std::memory_order_relaxed);
}

void client::cleanup() {
  node& n = shard_.owner();
  stop_counting();
  while (!subs_.empty()) remove_subscription(*subs_.back(), true);
  if (state_ == state::connected || state_ == state::closing) {
    shard_.unindex_user(*this);
    n.user_disconnected(user_);
  }
}

void client::on_transport_error() {
  stop_counting();
  if (state_ >= state::closing) return;
  bool was_connected = state_ == state::connected;
  state_ = state::closing;
  if (was_connected) cleanup();
}

bool client::on_transport_closed() {
  stop_counting();
  if (state_ < state::closing) {
    bool was_connected = state_ == state::connected;
    state_ = state::closing;
    if (was_connected) cleanup();
  }
  state_ = state::closed;
  transport_closed_ = true;
  shard_.wheel().cancel(timer_);
  out_.clear(shard_.pool());
  return inflight_ == 0;
}

// ---------------------------------------------------------------------------- timers

void client::rearm_timer() {
  if (state_ == state::closed) return;
  const runtime_options& o = shard_.owner().opts();
  int64_t due = 0;
  auto consider = [&](int64_t t) {
    if (t > 0 && (due == 0 || t < due)) due = t;
  };
  consider(ping_due_ms_);
  if (state_ == state::connected) {
    consider(pong_due_ms_);
    // Expiry times are Unix seconds; the wheel runs on the monotonic clock.
    const int64_t unix_to_mono = shard_.now_ms() - shard_.owner().time().now_unix_ms();
    if (expire_at_ > 0) consider(expire_at_ * 1000 + unix_to_mono + o.expired_close_delay_ms);
    for (const auto& s : subs_)
      if (s->expire_at > 0)
        consider(s->expire_at * 1000 + unix_to_mono + o.expired_sub_close_delay_ms);
    for (const auto& s : subs_)
      if (s->emit_presence || s->positioned) {
        consider(maintenance_due_ms_);
        break;
      }
  }
  if (due == 0) shard_.wheel().cancel(timer_);
  else shard_.wheel().arm(timer_, due);
}

void client::on_timer(int64_t now_ms) {
  node& n = shard_.owner();
  const runtime_options& o = n.opts();
  switch (state_) {
    case state::initial:
      if (now_ms >= ping_due_ms_) return disconnect(disconnects::stale);
      break;
    case state::failed:
    case state::closing:
      // The peer did not finish closing in time: drop the socket.
      if (now_ms >= ping_due_ms_) {
        ping_due_ms_ = 0;
        transport_.close(disconnects::connection_closed);
        return;
      }
      break;
    case state::closed:
      return;
    case state::connected: {
      if (pong_due_ms_ > 0 && now_ms >= pong_due_ms_) return disconnect(disconnects::no_pong);
      const int64_t now_unix_ms = n.time().now_unix_ms();  // expiry times are Unix seconds
      if (expire_at_ > 0 && now_unix_ms >= expire_at_ * 1000 + o.expired_close_delay_ms)
        return disconnect(disconnects::expired);
      if (ping_due_ms_ > 0 && now_ms >= ping_due_ms_) {
        enqueue(shard_.pool().acquire(ping_bytes(encoding_)));
        pong_due_ms_ = now_ms + o.pong_timeout_ms;
        ping_due_ms_ = now_ms + o.ping_interval_ms;
        out_.trim();
        schedule_flush();
      }
      for (size_t i = 0; i < subs_.size();) {
        subscription& s = *subs_[i];
        if (s.expire_at > 0 && now_unix_ms >= s.expire_at * 1000 + o.expired_sub_close_delay_ms) {
          if (s.server_side) return disconnect(disconnects::subscription_expired);
          server_unsubscribe(*s.channel, unsubscribes::expired);
          continue;
        }
        ++i;
      }
      if (maintenance_due_ms_ > 0 && now_ms >= maintenance_due_ms_) {
        maintenance_due_ms_ = now_ms + std::min(o.presence_update_interval_ms, o.position_check_delay_ms);
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
            n.engine().history(channel, q, [this, channel](result<history_page> r) {
              on_loop([this, channel, r = std::move(r)]() mutable {
                if (transport_closed_ || !r) return release_inflight();
                // Publications up to this top are already in our inbox: compare once the
                // inbox has been drained, so that one in flight is not taken for a loss.
                shard_.post_task([this, channel, top = std::move(r->top)](shard&) {
                  subscription* sub = transport_closed_ ? nullptr : find_sub(channel);
                  if (sub && sub->state == subscription::phase::subscribed &&
                      (top.epoch != sub->epoch || top.offset > sub->offset))
                    lost_continuity(*sub);
                  release_inflight();
                });
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

}  // namespace gyre
