// api_executor: server API methods; see executor.hpp.
#include "api/executor.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "api/api_tracing.hpp"
#include "config/channel_resolution.hpp"
#include "config/config.hpp"
#include "core/base64.hpp"
#include "core/glob.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "hub/channel_rules.hpp"
#include "hub/node.hpp"
#include "protocol/data_format.hpp"
#include "protocol/json_object.hpp"
#include "tracing/tracer.hpp"

namespace gyre {

using protocol::json_object;

namespace {

// A request whose JSON does not decode (wrong types, not an object): HTTP 400 on the
// per-method route, error 107 inside batch and the legacy endpoint.
api_outcome malformed() {
  api_outcome o = api_outcome::failure(errors::bad_request);
  o.malformed = true;
  return o;
}

api_outcome fail(protocol_error e) {
  return api_outcome::failure(e);
}

api_outcome empty_result() {
  return api_outcome::success("{}");
}

// Reads `field` (raw JSON) or `b64field` (base64, wins when non-empty) into `out`.
// Returns false for invalid base64.
bool read_payload(const json_object& o, std::string_view field, std::string_view b64field,
                  std::string& out, bool& present) {
  std::string b64;
  if (!o.get(b64field, b64)) return false;
  if (!b64.empty()) {
    auto decoded = base64_decode(b64);
    if (!decoded) return false;
    out = std::move(*decoded);
    present = true;
    return true;
  }
  if (auto raw = o.raw(field)) {
    out = std::string(*raw);
    present = true;
  }
  return true;
}

// The `publication_data_format` rule of a channel (Centrifugo option: "", json,
// json_object or binary).
bool data_format_ok(const config::config& cfg, const config::channel_options& ns,
                    const std::string& data) {
  return protocol::publication_data_valid(
      config::effective_publication_data_format(cfg.channel_, ns), data);
}

void write_client_info(json_writer& w, const client_info& ci) {
  w.begin_object();
  w.member("user", ci.user).member("client", ci.client);
  if (!ci.conn_info.empty()) w.member_raw("conn_info", ci.conn_info);
  if (!ci.chan_info.empty()) w.member_raw("chan_info", ci.chan_info);
  w.end_object();
}

struct publish_params {
  std::string data;
  std::vector<std::pair<std::string, std::string>> tags;
  bool skip_history = false;
  std::string idempotency_key;
  bool delta = false;
  uint64_t version = 0;
  std::string version_epoch;
};

// Decodes the fields publish and broadcast share. Returns nullopt on a type error and
// sets `bad_b64` for invalid base64.
std::optional<publish_params> read_publish_params(const json_object& o, bool& bad_b64) {
  publish_params p;
  bool present = false;
  if (!read_payload(o, "data", "b64data", p.data, present)) {
    bad_b64 = true;
    return p;
  }
  if (!o.get("tags", p.tags) || !o.get("skip_history", p.skip_history) ||
      !o.get("idempotency_key", p.idempotency_key) || !o.get("delta", p.delta) ||
      !o.get("version", p.version) || !o.get("version_epoch", p.version_epoch))
    return std::nullopt;
  return p;
}

// Publishes into one channel; `done` gets the result object or an error.
void publish_one(node& n, const std::string& channel, const publish_params& p,
                 std::function<void(api_outcome)> done) {
  auto cfg = n.cfg();
  channel_rules rules = resolve_channel_rules(*cfg, channel);
  if (!rules.ns) return done(fail(errors::unknown_channel));
  const auto& ns = *rules.ns;
  if (!data_format_ok(*cfg, ns, p.data)) return done(fail(errors::bad_request));
  publish_options opts = n.publish_options_for(ns, *cfg);
  if (p.skip_history) {
    opts.history_size = 0;
    opts.history_ttl_seconds = 0;
  }
  opts.idempotency_key = p.idempotency_key;
  opts.use_delta = opts.use_delta || p.delta;
  opts.version = p.version;
  opts.version_epoch = p.version_epoch;
  publication pub;
  pub.data = p.data;
  for (const auto& t : p.tags) pub.tags.push_back(t);
  n.engine().publish(channel, std::move(pub), opts,
                     [done = std::move(done)](result<publish_outcome> r) {
                       if (!r) return done(fail(r.error() ? r.error() : errors::internal));
                       std::string out;
                       json_writer w(out);
                       w.begin_object();
                       if (r->position.offset > 0) w.member("offset", r->position.offset);
                       if (!r->position.epoch.empty()) w.member("epoch", r->position.epoch);
                       w.end_object();
                       done(api_outcome::success(std::move(out)));
                     });
}

// The number of items of a JSON array text, counted without decoding it (a bound checked
// before the items are copied out; malformed text is rejected by the decoder afterwards).
size_t count_items(std::string_view array) {
  size_t i = array.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos || array[i] != '[') return 0;
  size_t items = 0, depth = 0;
  bool in_string = false, empty = true;
  for (; i < array.size(); ++i) {
    char c = array[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '[' || c == '{') {
      if (++depth == 1) continue;
    } else if (c == ']' || c == '}') {
      if (--depth == 0) break;
    } else if (c == ',' && depth == 1) {
      ++items;
      continue;
    }
    if (depth == 1 && c != ' ' && c != '\t' && c != '\r' && c != '\n') empty = false;
    if (depth > 1) empty = false;
  }
  return empty ? 0 : items + 1;
}

// 106 for a request with more than `limit` commands (or channels); logged.
api_outcome too_many(std::string_view what, size_t n, std::string_view items, size_t limit) {
  static log::limiter refusals;
  std::string message = "limit exceeded: " + std::string(what) + " of " + std::to_string(n) + " " +
                        std::string(items) + ", at most " + std::to_string(limit) +
                        " (gyre.http_api.max_batch_commands)";
  log::limited(refusals, spdlog::level::warn, "API request refused with 106: {}", message);
  return api_outcome::failure(errors::limit_exceeded, std::move(message));
}

connection_filter read_filter(const json_object& o, bool& ok) {
  connection_filter f;
  ok = o.get("user", f.user) && o.get("client", f.client) && o.get("session", f.session);
  return f;
}

}  // namespace

// The method table (a member, so that it may name the private handlers).
std::span<const api_method> api_executor::methods() {
  // The method table. Order: the order in which a batch command's keys are tried (a
  // command with several method keys runs the first), as Centrifugo does. Legacy numbers:
  // the legacy endpoint's numbering of methods (13 is unused).
  constexpr bool route = true, batch = true, read_only = true;
  static const api_method table[] = {
      // name, legacy number, handler, route, in batch, read-only
      {"publish", 0, &api_executor::publish, route, batch, false},
      {"broadcast", 1, &api_executor::broadcast, route, batch, false},
      {"subscribe", 11, &api_executor::subscribe, route, batch, false},
      {"unsubscribe", 2, &api_executor::unsubscribe, route, batch, false},
      {"disconnect", 3, &api_executor::disconnect, route, batch, false},
      {"history", 6, &api_executor::history, route, batch, read_only},
      {"history_remove", 7, &api_executor::history_remove, route, batch, false},
      {"presence", 4, &api_executor::presence, route, batch, read_only},
      {"presence_stats", 5, &api_executor::presence_stats, route, batch, read_only},
      {"info", 9, &api_executor::info, route, batch, read_only},
      {"rpc", 10, &api_executor::rpc, route, batch, false},
      {"refresh", 12, &api_executor::refresh, route, batch, false},
      {"channels", 8, &api_executor::channels, route, batch, read_only},
      // Gyre has no map or shared-poll namespaces (see not_a_stream_method).
      {"map_publish", 33, &api_executor::not_a_stream_method, route, batch, false},
      {"map_remove", 34, &api_executor::not_a_stream_method, route, batch, false},
      {"map_read_state", 35, &api_executor::not_a_stream_method, route, batch, read_only},
      {"map_read_stream", 36, &api_executor::not_a_stream_method, route, batch, read_only},
      {"map_stats", 37, &api_executor::not_a_stream_method, route, batch, read_only},
      {"map_clear", 38, &api_executor::not_a_stream_method, route, batch, false},
      {"shared_poll_publish", 39, &api_executor::not_a_stream_method, route, batch, false},
      {"batch", -1, &api_executor::batch, route, false, false},
      // Centrifugo PRO methods: known to the legacy endpoint (104 there), served nowhere.
      {"connections", 14, nullptr, false, false, false},
      {"update_user_status", 15, nullptr, false, false, false},
      {"get_user_status", 16, nullptr, false, false, false},
      {"delete_user_status", 17, nullptr, false, false, false},
      {"block_user", 18, nullptr, false, false, false},
      {"unblock_user", 19, nullptr, false, false, false},
      {"revoke_token", 20, nullptr, false, false, false},
      {"invalidate_user_tokens", 21, nullptr, false, false, false},
      {"device_register", 22, nullptr, false, false, false},
      {"device_update", 23, nullptr, false, false, false},
      {"device_remove", 24, nullptr, false, false, false},
      {"device_list", 25, nullptr, false, false, false},
      {"device_topic_list", 26, nullptr, false, false, false},
      {"device_topic_update", 27, nullptr, false, false, false},
      {"user_topic_list", 28, nullptr, false, false, false},
      {"user_topic_update", 29, nullptr, false, false, false},
      {"send_push_notification", 30, nullptr, false, false, false},
      {"update_push_status", 31, nullptr, false, false, false},
      {"cancel_push", 32, nullptr, false, false, false},
  };
  return table;
}

const api_method* api_executor::find(std::string_view name) {
  for (const auto& m : methods())
    if (m.name == name) return &m;
  return nullptr;
}

const api_method* api_executor::find_legacy(int64_t number) {
  for (const auto& m : methods())
    if (m.legacy_number >= 0 && m.legacy_number == number) return &m;
  return nullptr;
}

api_outcome reply_too_large(size_t budget) {
  return api_outcome::failure(errors::limit_exceeded,
                              "limit exceeded: reply larger than " + std::to_string(budget) +
                                  " bytes (gyre.http_api.max_response_size)");
}

void api_executor::execute(const api_method& m, std::string_view params, size_t reply_budget,
                           api_done done) {
  if (!m.run) return done(fail(errors::method_not_found));
  if (!m.read_only) return (this->*m.run)(params, reply_budget, std::move(done));
  // A handler may stop rendering early when over budget; this catches the rest.
  (this->*m.run)(params, reply_budget,
                 [reply_budget, name = m.name, done = std::move(done)](api_outcome r) {
                   if (r.ok && r.result.size() > reply_budget) r = reply_too_large(reply_budget);
                   if (!r.ok && r.error.code == errors::limit_exceeded.code) {
                     static log::limiter too_large;
                     log::limited(too_large, spdlog::level::warn,
                                  "API {} refused with 106: its reply is over the budget of {} "
                                  "bytes (gyre.http_api.max_response_size)",
                                  name, reply_budget);
                   }
                   done(std::move(r));
                 });
}

void api_executor::execute(std::string_view method, std::string_view params, api_done done) {
  const api_method* m = find(method);
  if (!m) return done(fail(errors::method_not_found));
  execute(*m, params, std::move(done));
}

// Gyre has no map or shared-poll namespaces: every channel is a stream channel, which is
// the "wrong namespace type" case of these methods (107 once the params decode).
void api_executor::not_a_stream_method(std::string_view params, size_t, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  done(fail(errors::bad_request));
}

void api_executor::publish(std::string_view params, size_t, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  std::string channel;
  if (!o->get("channel", channel)) return done(malformed());
  bool bad_b64 = false;
  auto p = read_publish_params(*o, bad_b64);
  if (!p) return done(malformed());
  if (channel.empty() || bad_b64) return done(fail(errors::bad_request));
  auto cfg = node_.cfg();
  channel_rules rules = resolve_channel_rules(*cfg, channel);
  if (rules.ns && !rules.ns->subscription_type_.empty() && rules.ns->subscription_type_ != "stream")
    return done(fail(errors::bad_request));
  publish_one(node_, channel, *p, std::move(done));
}

void api_executor::broadcast(std::string_view params, size_t, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  if (auto raw = o->raw("channels")) {
    if (size_t n = count_items(*raw); n > limits_.max_batch_commands)
      return done(too_many("a broadcast", n, "channels", limits_.max_batch_commands));
  }
  std::vector<std::string> channels;
  if (!o->get("channels", channels)) return done(malformed());
  bool bad_b64 = false;
  auto p = read_publish_params(*o, bad_b64);
  if (!p) return done(malformed());
  if (channels.empty() || bad_b64) return done(fail(errors::bad_request));
  struct gather {
    std::mutex mu;
    std::vector<api_outcome> results;
    std::atomic<size_t> remaining;
    api_done done;
  };
  auto g = std::make_shared<gather>();
  g->results.resize(channels.size());
  g->remaining = channels.size();
  g->done = std::move(done);
  auto params_ptr = std::make_shared<publish_params>(std::move(*p));
  for (size_t i = 0; i < channels.size(); ++i) {
    auto finish = [g, i](api_outcome r) {
      {
        std::lock_guard lock(g->mu);
        g->results[i] = std::move(r);
      }
      if (g->remaining.fetch_sub(1) != 1) return;
      std::string out;
      json_writer w(out);
      w.begin_object().key("responses").begin_array();
      for (const auto& r : g->results) {
        w.begin_object();
        if (r.ok) {
          w.member_raw("result", r.result);
        } else {
          w.key("error")
              .begin_object()
              .member("code", r.error.code)
              .member("message", r.error.message)
              .end_object();
        }
        w.end_object();
      }
      w.end_array().end_object();
      g->done(api_outcome::success(std::move(out)));
    };
    if (channels[i].empty()) {
      finish(fail(errors::bad_request));
      continue;
    }
    publish_one(node_, channels[i], *params_ptr, finish);
  }
}

void api_executor::subscribe(std::string_view params, size_t, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  bool ok = true;
  connection_filter f = read_filter(*o, ok);
  server_subscribe_options opts;
  std::optional<json_object> since, override_;
  if (!ok || !o->get("channel", opts.channel) || !o->get("expire_at", opts.expire_at) ||
      !o->get("recover_since", since) || !o->get("override", override_))
    return done(malformed());
  bool present = false;
  if (!read_payload(*o, "info", "b64info", opts.info, present) ||
      !read_payload(*o, "data", "b64data", opts.data, present))
    return done(fail(errors::bad_request));
  if (opts.channel.empty()) return done(fail(errors::bad_request));
  auto cfg = node_.cfg();
  if (!resolve_channel_rules(*cfg, opts.channel).ns) return done(fail(errors::unknown_channel));
  if (since) {
    stream_position sp;
    if (!since->get("offset", sp.offset) || !since->get("epoch", sp.epoch))
      return done(malformed());
    opts.recover_since = sp;
  }
  if (override_) {
    auto read_bool = [&](std::string_view key, std::optional<bool>& out) {
      std::optional<json_object> v;
      if (!override_->get(key, v)) return false;
      if (v) {
        bool b = false;
        if (!v->get("value", b)) return false;
        out = b;
      }
      return true;
    };
    if (!read_bool("presence", opts.presence) || !read_bool("join_leave", opts.join_leave) ||
        !read_bool("force_push_join_leave", opts.force_push_join_leave) ||
        !read_bool("force_recovery", opts.force_recovery) ||
        !read_bool("force_positioning", opts.force_positioning))
      return done(malformed());
  }
  node_.subscribe(f, std::move(opts), [done = std::move(done)] { done(empty_result()); });
}

void api_executor::unsubscribe(std::string_view params, size_t, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  bool ok = true;
  connection_filter f = read_filter(*o, ok);
  std::string channel;
  if (!ok || !o->get("channel", channel)) return done(malformed());
  if (!channel.empty() && !resolve_channel_rules(*node_.cfg(), channel).ns)
    return done(fail(errors::unknown_channel));
  node_.unsubscribe(f, channel, [done = std::move(done)] { done(empty_result()); });
}

void api_executor::disconnect(std::string_view params, size_t, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  bool ok = true;
  connection_filter f = read_filter(*o, ok);
  std::optional<json_object> d;
  if (!ok || !o->get("whitelist", f.whitelist) || !o->get("disconnect", d))
    return done(malformed());
  // The reason must outlive this call: keep it next to the filter.
  auto reason = std::make_shared<std::string>(std::string(disconnects::force_no_reconnect.reason));
  uint32_t code = disconnects::force_no_reconnect.code;
  if (d) {
    uint32_t c = 0;
    std::string r;
    if (!d->get("code", c) || !d->get("reason", r)) return done(malformed());
    if (c != 0) {
      code = c;
      *reason = r;
    }
  }
  gyre::disconnect dc{code, *reason};
  node_.disconnect(f, dc, [done = std::move(done), reason] { done(empty_result()); });
}

void api_executor::refresh(std::string_view params, size_t, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  bool ok = true;
  connection_filter f = read_filter(*o, ok);
  bool expired = false;
  int64_t expire_at = 0;
  if (!ok || !o->get("expired", expired) || !o->get("expire_at", expire_at))
    return done(malformed());
  std::optional<std::string> info;
  if (auto raw = o->raw("info")) info = std::string(*raw);
  node_.refresh(f, expired, expire_at, std::move(info),
                [done = std::move(done)] { done(empty_result()); });
}

// The channel of a presence request, or nullopt after answering with the error.
std::optional<std::string> api_executor::presence_channel(std::string_view params, api_done& done) {
  auto o = json_object::parse(params);
  if (!o) {
    done(malformed());
    return std::nullopt;
  }
  std::string channel;
  if (!o->get("channel", channel)) {
    done(malformed());
    return std::nullopt;
  }
  protocol_error e;
  if (channel.empty()) {
    e = errors::bad_request;
  } else {
    auto cfg = node_.cfg();  // rules.ns points into it
    channel_rules rules = resolve_channel_rules(*cfg, channel);
    if (!rules.ns)
      e = errors::unknown_channel;
    else if (!rules.ns->presence_)
      e = errors::not_available;
  }
  if (e) {
    done(fail(e));
    return std::nullopt;
  }
  return channel;
}

void api_executor::presence(std::string_view params, size_t reply_budget, api_done done) {
  auto channel = presence_channel(params, done);
  if (!channel) return;
  node_.presence().presence(*channel,
                            [reply_budget, done = std::move(done)](result<presence_map> r) {
                              if (!r) return done(fail(r.error() ? r.error() : errors::internal));
                              std::string out;
                              json_writer w(out);
                              w.begin_object().key("presence").begin_object();
                              for (const auto& [id, ci] : r.value()) {
                                w.key(id);
                                write_client_info(w, ci);
                                if (out.size() > reply_budget)
                                  return done(reply_too_large(reply_budget));
                              }
                              w.end_object().end_object();
                              done(api_outcome::success(std::move(out)));
                            });
}

void api_executor::presence_stats(std::string_view params, size_t, api_done done) {
  auto channel = presence_channel(params, done);
  if (!channel) return;
  node_.presence().stats(*channel, [done = std::move(done)](result<gyre::presence_stats> r) {
    if (!r) return done(fail(r.error() ? r.error() : errors::internal));
    std::string out;
    json_writer w(out);
    w.begin_object()
        .member("num_clients", r->num_clients)
        .member("num_users", r->num_users)
        .end_object();
    done(api_outcome::success(std::move(out)));
  });
}

void api_executor::history(std::string_view params, size_t reply_budget, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  std::string channel;
  history_query q;
  std::optional<json_object> since;
  if (!o->get("channel", channel) || !o->get("limit", q.limit) || !o->get("reverse", q.reverse) ||
      !o->get("since", since))
    return done(malformed());
  if (since) {
    stream_position sp;
    if (!since->get("offset", sp.offset) || !since->get("epoch", sp.epoch))
      return done(malformed());
    q.since = sp;
  }
  if (channel.empty()) return done(fail(errors::bad_request));
  auto cfg = node_.cfg();
  channel_rules rules = resolve_channel_rules(*cfg, channel);
  if (!rules.ns) return done(fail(errors::unknown_channel));
  if (!rules.ns->history_enabled()) return done(fail(errors::not_available));
  if (q.reverse && q.since && q.since->offset == 0) return done(fail(errors::internal));
  q.meta_ttl_seconds = node_.publish_options_for(*rules.ns, *cfg).history_meta_ttl_seconds;
  node_.engine().history(
      channel, q, [reply_budget, done = std::move(done)](result<history_page> r) {
        if (!r) return done(fail(r.error() ? r.error() : errors::internal));
        std::string out;
        json_writer w(out);
        w.begin_object().key("publications").begin_array();
        for (const auto& p : r->publications) {
          w.begin_object();
          if (!p.data.empty()) w.member_raw("data", p.data);
          if (p.info) {
            w.key("info");
            write_client_info(w, *p.info);
          }
          if (p.offset) w.member("offset", p.offset);
          if (!p.tags.empty()) {
            w.key("tags").begin_object();
            for (const auto& [k, v] : p.tags) w.member(k, v);
            w.end_object();
          }
          w.end_object();
          if (out.size() > reply_budget) return done(reply_too_large(reply_budget));
        }
        w.end_array().member("epoch", r->top.epoch).member("offset", r->top.offset).end_object();
        done(api_outcome::success(std::move(out)));
      });
}

void api_executor::history_remove(std::string_view params, size_t, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  std::string channel;
  if (!o->get("channel", channel)) return done(malformed());
  if (channel.empty()) return done(fail(errors::bad_request));
  auto cfg = node_.cfg();  // rules.ns points into it
  channel_rules rules = resolve_channel_rules(*cfg, channel);
  if (!rules.ns) return done(fail(errors::unknown_channel));
  if (!rules.ns->history_enabled()) return done(fail(errors::not_available));
  node_.engine().remove_history(channel, [done = std::move(done)](status s) {
    if (!s) return done(fail(s.error() ? s.error() : errors::internal));
    done(empty_result());
  });
}

void api_executor::channels(std::string_view params, size_t reply_budget, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  std::string pattern;
  if (!o->get("pattern", pattern)) return done(malformed());
  if (!pattern.empty() && !glob_valid(pattern)) return done(fail(errors::internal));
  node_.channels(
      [pattern, reply_budget, done = std::move(done)](result<std::map<std::string, uint32_t>> r) {
        if (!r) return done(fail(errors::internal));
        const auto& counts = r.value();
        std::string out;
        json_writer w(out);
        w.begin_object().key("channels").begin_object();
        for (const auto& [ch, n] : counts) {
          if (!pattern.empty() && !glob_match(pattern, ch)) continue;
          w.key(ch).begin_object().member("num_clients", n).end_object();
          if (out.size() > reply_budget) return done(reply_too_large(reply_budget));
        }
        w.end_object().end_object();
        done(api_outcome::success(std::move(out)));
      });
}

void api_executor::info(std::string_view params, size_t, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  node_.info([done = std::move(done)](std::vector<node_info_entry> nodes) {
    std::string out;
    json_writer w(out);
    w.begin_object().key("nodes").begin_array();
    for (const auto& n : nodes) {
      w.begin_object()
          .member("uid", n.uid)
          .member("name", n.name)
          .member("version", n.version)
          .member("num_clients", n.num_clients)
          .member("num_users", n.num_users)
          .member("num_channels", n.num_channels);
      if (n.uptime_seconds > 0) w.member("uptime", static_cast<uint32_t>(n.uptime_seconds));
      w.member("num_subs", n.num_subs);
      w.end_object();
    }
    w.end_array().end_object();
    done(api_outcome::success(std::move(out)));
  });
}

void api_executor::rpc(std::string_view params, size_t, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  std::string method;
  if (!o->get("method", method)) return done(malformed());
  if (method.empty()) return done(fail(errors::bad_request));
  // No server-side RPC extensions exist (as in Centrifugo OSS).
  done(fail(errors::method_not_found));
}

namespace {

// Appends one batch reply ({"<method>":result} or {"error":...}) to `out`.
void append_reply(std::string& out, bool first, std::string_view method, const api_outcome& r) {
  if (!first) out += ',';
  json_writer w(out);
  w.begin_object();
  if (r.ok) {
    w.member_raw(method, r.result);
  } else {
    w.key("error")
        .begin_object()
        .member("code", r.error.code)
        .member("message", r.error.message)
        .end_object();
  }
  w.end_object();
}

// What is left of `budget` once `used` bytes are written.
size_t left_of(size_t budget, size_t used) {
  return used < budget ? budget - used : 0;
}

}  // namespace

void api_executor::batch(std::string_view params, size_t reply_budget, api_done done) {
  run_batch(params, reply_budget, std::move(done), nullptr, nullptr);
}

void api_executor::execute_batch(std::string_view params, tracing::tracer& t,
                                 const tracing::span& parent, api_done done) {
  run_batch(params, limits_.max_response_size, std::move(done), &t, &parent);
}

// Runs the commands one after another (or all at once with "parallel"). The reply is
// built as the commands finish, within `reply_budget` (see executor.hpp). With a tracer,
// each command that runs gets a span, a child of `parent`.
void api_executor::run_batch(std::string_view params, size_t reply_budget, api_done done,
                             tracing::tracer* t, const tracing::span* parent) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  bool parallel = false;
  if (!o->get("parallel", parallel)) return done(malformed());
  std::vector<std::string> commands;
  if (auto raw = o->raw("commands")) {
    if (*raw != "null") {
      if (size_t n = count_items(*raw); n > limits_.max_batch_commands)
        return done(too_many("a batch", n, "commands", limits_.max_batch_commands));
      auto items = protocol::split_array(*raw);
      if (!items) return done(malformed());
      commands = std::move(*items);
    }
  }
  if (commands.empty()) return done(empty_result());

  struct job {
    const api_method* method = nullptr;  // nullptr: answered with `preset`
    std::string params;
    api_outcome preset;
  };
  struct state {
    std::vector<job> jobs;
    std::string out;  // the reply so far (sequential) or at the end (parallel)
    api_done done;
    // sequential
    size_t next = 0;
    std::atomic<int> pending{0};
    std::function<void()> step;
    // parallel
    std::mutex mu;
    std::vector<api_outcome> replies;
    std::atomic<size_t> remaining{0};
    std::atomic<size_t> budget{0};
    // tracing (null: off): the parent's identity, copied (the parent outlives the batch
    // but is not ours to read from other threads)
    tracing::tracer* tracer = nullptr;
    tracing::span parent;
  };
  auto st = std::make_shared<state>();
  st->done = std::move(done);
  if (t && parent) {
    st->tracer = t;
    st->parent.context = parent->context;
    st->parent.trace_state = parent->trace_state;
    st->parent.recording = parent->recording;
  }
  st->jobs.reserve(commands.size());
  for (auto& c : commands) {
    job j;
    if (c == "null") {
      j.preset = fail(errors::bad_request);
    } else if (auto cmd = json_object::parse(c)) {
      for (const auto& m : methods()) {
        if (!m.in_batch) continue;
        if (auto raw = cmd->raw(m.name)) {
          j.method = &m;
          j.params = std::string(*raw);
          break;
        }
      }
      if (!j.method) j.preset = fail(errors::method_not_found);
    } else {
      j.preset = fail(errors::bad_request);
    }
    std::string().swap(c);
    st->jobs.push_back(std::move(j));
  }
  commands.clear();
  st->out = "{\"replies\":[";
  // Runs one command, inside a span of its own when tracing.
  auto run_job = [this](const std::shared_ptr<state>& st, const job& j, size_t budget,
                        api_done store) {
    if (!st->tracer) return execute(*j.method, j.params, budget, std::move(store));
    auto sp = std::make_shared<tracing::span>(st->tracer->start_child(
        std::string(j.method->name), tracing::span_kind::internal, st->parent));
    api_tracing::describe_command(*sp, j.method->name, j.params);
    execute(*j.method, j.params, budget,
            [tracer = st->tracer, sp, store = std::move(store)](api_outcome r) {
              api_tracing::record_outcome(*sp, r);
              tracer->end(std::move(*sp));
              store(std::move(r));
            });
  };

  if (parallel) {
    st->replies.resize(st->jobs.size());
    st->remaining = st->jobs.size();
    st->budget = reply_budget;
    auto finish = [st] {
      for (size_t i = 0; i < st->replies.size(); ++i) {
        const job& j = st->jobs[i];
        append_reply(st->out, i == 0, j.method ? j.method->name : std::string_view{},
                     st->replies[i]);
        st->replies[i] = {};  // the reply grows as the parts are freed
      }
      st->out += "]}";
      st->done(api_outcome::success(std::move(st->out)));
    };
    for (size_t i = 0; i < st->jobs.size(); ++i) {
      job& j = st->jobs[i];
      auto store = [st, i, finish, reply_budget](api_outcome r) {
        const api_method* m = st->jobs[i].method;
        if (r.ok && m && m->read_only) {
          // Read results share the budget: one that does not fit is refused.
          size_t size = r.result.size(), cur = st->budget.load();
          do {
            if (cur < size) {
              r = reply_too_large(reply_budget);
              break;
            }
          } while (!st->budget.compare_exchange_weak(cur, cur - size));
        }
        {
          std::lock_guard lock(st->mu);
          st->replies[i] = std::move(r);
        }
        if (st->remaining.fetch_sub(1) == 1) finish();
      };
      if (!j.method) {
        store(j.preset);
        continue;
      }
      run_job(st, j, reply_budget, std::move(store));
    }
    return;
  }

  // Sequential: each command starts when the previous one finished, with what is left of
  // the budget. The counter is a trampoline: only the call that takes it from 0 runs the
  // loop, so commands completing synchronously do not grow the stack and ones completing
  // on another thread are safe.
  st->step = [st, reply_budget, run_job] {
    if (st->pending.fetch_add(1) != 0) return;
    do {
      size_t i = st->next++;
      if (i >= st->jobs.size()) {
        st->out += "]}";
        auto done = std::move(st->done);
        auto out = std::move(st->out);
        st->step = nullptr;  // breaks the self-reference; no call follows
        return done(api_outcome::success(std::move(out)));
      }
      job& j = st->jobs[i];
      auto store = [st, i](api_outcome r) {
        job& j = st->jobs[i];
        append_reply(st->out, i == 0, j.method ? j.method->name : std::string_view{}, r);
        auto step = st->step;  // copy: the loop may reset st->step
        if (step) step();
      };
      const size_t left = left_of(reply_budget, st->out.size());
      if (!j.method) {
        store(j.preset);
      } else if (j.method->read_only && left == 0) {
        store(reply_too_large(reply_budget));  // nothing would fit: not run
      } else {
        run_job(st, j, j.method->read_only ? left : reply_budget, std::move(store));
      }
    } while (st->pending.fetch_sub(1) != 1);
  };
  auto start = st->step;
  start();
}

}  // namespace gyre
