// api_executor: server API methods; see executor.hpp.
#include "api/executor.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>

#include "protocol/json_object.hpp"
#include "config/channel_resolution.hpp"
#include "config/config.hpp"
#include "core/base64.hpp"
#include "core/glob.hpp"
#include "core/json_writer.hpp"
#include "hub/channel_rules.hpp"
#include "hub/node.hpp"

namespace gyre {

using protocol::json_object;

namespace {

// A request whose JSON does not decode (wrong types, not an object): HTTP 400 on the
// per-method route, error 107 inside batch and the legacy endpoint.
api_outcome malformed() {
  api_outcome o = api_outcome::failure(errors::bad_request);
  o.error.message = "bad request";
  o.result = "malformed";
  return o;
}

api_outcome fail(protocol_error e) { return api_outcome::failure(e); }

api_outcome empty_result() { return api_outcome::success("{}"); }

// Reads `field` (raw JSON) or `b64field` (base64, wins when non-empty) into `out`.
// Returns false for invalid base64.
bool read_payload(const json_object& o, std::string_view field, std::string_view b64field, std::string& out,
                  bool& present) {
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

// publication_data_format check (server-api.md §7.1).
bool data_format_ok(const config::config& cfg, const config::channel_options& ns, const std::string& data) {
  const std::string& f = config::effective_publication_data_format(cfg.channel_, ns);
  if (f == "binary") return true;
  if (f.empty()) return !data.empty();
  if (data.empty() || !protocol::is_valid_json(data)) return false;
  if (f == "json_object") {
    size_t i = data.find_first_not_of(" \t\r\n");
    return i != std::string::npos && data[i] == '{';
  }
  return true;
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
  n.engine().publish(channel, std::move(pub), opts, [done = std::move(done)](result<publish_outcome> r) {
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

connection_filter read_filter(const json_object& o, bool& ok) {
  connection_filter f;
  ok = o.get("user", f.user) && o.get("client", f.client) && o.get("session", f.session);
  return f;
}

}  // namespace

bool api_executor::is_route(std::string_view m) {
  static const char* routes[] = {"batch", "publish", "broadcast", "subscribe", "unsubscribe", "disconnect",
                                 "presence", "presence_stats", "history", "history_remove", "info", "rpc",
                                 "refresh", "channels", "map_publish", "map_remove", "map_read_state",
                                 "map_read_stream", "map_stats", "map_clear", "shared_poll_publish"};
  return std::find(std::begin(routes), std::end(routes), m) != std::end(routes);
}

bool api_executor::is_known_legacy_method(std::string_view m) {
  static const char* names[] = {
      "publish", "broadcast", "unsubscribe", "disconnect", "presence", "presence_stats", "history",
      "history_remove", "channels", "info", "rpc", "subscribe", "refresh", "connections",
      "update_user_status", "get_user_status", "delete_user_status", "block_user", "unblock_user",
      "revoke_token", "invalidate_user_tokens", "device_register", "device_update", "device_remove",
      "device_list", "device_topic_list", "device_topic_update", "user_topic_list", "user_topic_update",
      "send_push_notification", "update_push_status", "cancel_push", "map_publish", "map_remove",
      "map_read_state", "map_read_stream", "map_stats", "map_clear", "shared_poll_publish"};
  return std::find(std::begin(names), std::end(names), m) != std::end(names);
}

void api_executor::execute(std::string_view method, std::string_view params, api_done done) {
  if (method == "publish") return publish(params, std::move(done));
  if (method == "broadcast") return broadcast(params, std::move(done));
  if (method == "subscribe") return subscribe(params, std::move(done));
  if (method == "unsubscribe") return unsubscribe(params, std::move(done));
  if (method == "disconnect") return disconnect(params, std::move(done));
  if (method == "refresh") return refresh(params, std::move(done));
  if (method == "presence") return presence(params, std::move(done));
  if (method == "presence_stats") return presence_stats(params, std::move(done));
  if (method == "history") return history(params, std::move(done));
  if (method == "history_remove") return history_remove(params, std::move(done));
  if (method == "channels") return channels(params, std::move(done));
  if (method == "info") return info(params, std::move(done));
  if (method == "rpc") return rpc(params, std::move(done));
  if (method == "batch") return batch(params, std::move(done));
  if (method == "map_publish" || method == "map_remove" || method == "map_read_state" ||
      method == "map_read_stream" || method == "map_stats" || method == "map_clear" ||
      method == "shared_poll_publish") {
    // Gyre has no map or shared-poll namespaces: every channel is a stream channel, which
    // is the "wrong namespace type" case of these methods.
    auto o = json_object::parse(params);
    if (!o) return done(malformed());
    return done(fail(errors::bad_request));
  }
  done(fail(errors::method_not_found));
}

void api_executor::publish(std::string_view params, api_done done) {
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

void api_executor::broadcast(std::string_view params, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
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
          w.key("error").begin_object().member("code", r.error.code).member("message", r.error.message).end_object();
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

void api_executor::subscribe(std::string_view params, api_done done) {
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
    if (!since->get("offset", sp.offset) || !since->get("epoch", sp.epoch)) return done(malformed());
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

void api_executor::unsubscribe(std::string_view params, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  bool ok = true;
  connection_filter f = read_filter(*o, ok);
  std::string channel;
  if (!ok || !o->get("channel", channel)) return done(malformed());
  if (!channel.empty() && !resolve_channel_rules(*node_.cfg(), channel).ns) return done(fail(errors::unknown_channel));
  node_.unsubscribe(f, channel, [done = std::move(done)] { done(empty_result()); });
}

void api_executor::disconnect(std::string_view params, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  bool ok = true;
  connection_filter f = read_filter(*o, ok);
  std::optional<json_object> d;
  if (!ok || !o->get("whitelist", f.whitelist) || !o->get("disconnect", d)) return done(malformed());
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

void api_executor::refresh(std::string_view params, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  bool ok = true;
  connection_filter f = read_filter(*o, ok);
  bool expired = false;
  int64_t expire_at = 0;
  if (!ok || !o->get("expired", expired) || !o->get("expire_at", expire_at)) return done(malformed());
  std::optional<std::string> info;
  if (auto raw = o->raw("info")) info = std::string(*raw);
  node_.refresh(f, expired, expire_at, std::move(info), [done = std::move(done)] { done(empty_result()); });
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
    channel_rules rules = resolve_channel_rules(*node_.cfg(), channel);
    if (!rules.ns) e = errors::unknown_channel;
    else if (!rules.ns->presence_) e = errors::not_available;
  }
  if (e) {
    done(fail(e));
    return std::nullopt;
  }
  return channel;
}

void api_executor::presence(std::string_view params, api_done done) {
  auto channel = presence_channel(params, done);
  if (!channel) return;
  node_.presence().presence(*channel, [done = std::move(done)](result<presence_map> r) {
    if (!r) return done(fail(r.error() ? r.error() : errors::internal));
    std::string out;
    json_writer w(out);
    w.begin_object().key("presence").begin_object();
    for (const auto& [id, ci] : r.value()) {
      w.key(id);
      write_client_info(w, ci);
    }
    w.end_object().end_object();
    done(api_outcome::success(std::move(out)));
  });
}

void api_executor::presence_stats(std::string_view params, api_done done) {
  auto channel = presence_channel(params, done);
  if (!channel) return;
  node_.presence().stats(*channel, [done = std::move(done)](result<gyre::presence_stats> r) {
    if (!r) return done(fail(r.error() ? r.error() : errors::internal));
    std::string out;
    json_writer w(out);
    w.begin_object().member("num_clients", r->num_clients).member("num_users", r->num_users).end_object();
    done(api_outcome::success(std::move(out)));
  });
}

void api_executor::history(std::string_view params, api_done done) {
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
    if (!since->get("offset", sp.offset) || !since->get("epoch", sp.epoch)) return done(malformed());
    q.since = sp;
  }
  if (channel.empty()) return done(fail(errors::bad_request));
  auto cfg = node_.cfg();
  channel_rules rules = resolve_channel_rules(*cfg, channel);
  if (!rules.ns) return done(fail(errors::unknown_channel));
  if (!rules.ns->history_enabled()) return done(fail(errors::not_available));
  if (q.reverse && q.since && q.since->offset == 0) return done(fail(errors::internal));
  q.meta_ttl_seconds = node_.publish_options_for(*rules.ns, *cfg).history_meta_ttl_seconds;
  node_.engine().history(channel, q, [done = std::move(done)](result<history_page> r) {
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
    }
    w.end_array().member("epoch", r->top.epoch).member("offset", r->top.offset).end_object();
    done(api_outcome::success(std::move(out)));
  });
}

void api_executor::history_remove(std::string_view params, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  std::string channel;
  if (!o->get("channel", channel)) return done(malformed());
  if (channel.empty()) return done(fail(errors::bad_request));
  channel_rules rules = resolve_channel_rules(*node_.cfg(), channel);
  if (!rules.ns) return done(fail(errors::unknown_channel));
  if (!rules.ns->history_enabled()) return done(fail(errors::not_available));
  node_.engine().remove_history(channel, [done = std::move(done)](status s) {
    if (!s) return done(fail(s.error() ? s.error() : errors::internal));
    done(empty_result());
  });
}

void api_executor::channels(std::string_view params, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  std::string pattern;
  if (!o->get("pattern", pattern)) return done(malformed());
  if (!pattern.empty() && !glob_valid(pattern)) return done(fail(errors::internal));
  node_.channels([pattern, done = std::move(done)](result<std::map<std::string, uint32_t>> r) {
    if (!r) return done(fail(errors::internal));
    const auto& counts = r.value();
    std::string out;
    json_writer w(out);
    w.begin_object().key("channels").begin_object();
    for (const auto& [ch, n] : counts) {
      if (!pattern.empty() && !glob_match(pattern, ch)) continue;
      w.key(ch).begin_object().member("num_clients", n).end_object();
    }
    w.end_object().end_object();
    done(api_outcome::success(std::move(out)));
  });
}

void api_executor::info(std::string_view params, api_done done) {
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

void api_executor::rpc(std::string_view params, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  std::string method;
  if (!o->get("method", method)) return done(malformed());
  if (method.empty()) return done(fail(errors::bad_request));
  // No server-side RPC extensions exist (as in Centrifugo OSS).
  done(fail(errors::method_not_found));
}

void api_executor::batch(std::string_view params, api_done done) {
  auto o = json_object::parse(params);
  if (!o) return done(malformed());
  bool parallel = false;
  if (!o->get("parallel", parallel)) return done(malformed());
  std::vector<std::string> commands;
  if (auto raw = o->raw("commands")) {
    if (*raw != "null") {
      auto items = protocol::split_array(*raw);
      if (!items) return done(malformed());
      commands = std::move(*items);
    }
  }
  if (commands.empty()) return done(empty_result());

  static const char* priority[] = {"publish", "broadcast", "subscribe", "unsubscribe", "disconnect",
                                   "history", "history_remove", "presence", "presence_stats", "info",
                                   "rpc", "refresh", "channels", "map_publish", "map_remove",
                                   "map_read_state", "map_read_stream", "map_stats", "map_clear",
                                   "shared_poll_publish"};
  struct job {
    std::string method;
    std::string params;
    api_outcome preset;  // used when method is empty
  };
  auto jobs = std::make_shared<std::vector<job>>();
  for (const auto& c : commands) {
    job j;
    if (c == "null") {
      j.preset = fail(errors::bad_request);
    } else if (auto cmd = json_object::parse(c)) {
      for (const char* m : priority) {
        if (auto raw = cmd->raw(m)) {
          j.method = m;
          j.params = std::string(*raw);
          break;
        }
      }
      if (j.method.empty()) j.preset = fail(errors::method_not_found);
    } else {
      j.preset = fail(errors::bad_request);
    }
    jobs->push_back(std::move(j));
  }

  struct state {
    std::mutex mu;
    std::vector<api_outcome> replies;
    std::atomic<size_t> remaining;
    size_t next = 0;
    api_done done;
  };
  auto st = std::make_shared<state>();
  st->replies.resize(jobs->size());
  st->remaining = jobs->size();
  st->done = std::move(done);

  auto render = [jobs, st] {
    std::string out;
    json_writer w(out);
    w.begin_object().key("replies").begin_array();
    for (size_t i = 0; i < st->replies.size(); ++i) {
      const api_outcome& r = st->replies[i];
      w.begin_object();
      if (r.ok) {
        w.member_raw((*jobs)[i].method, r.result);
      } else {
        w.key("error").begin_object().member("code", r.error.code).member("message", r.error.message).end_object();
      }
      w.end_object();
    }
    w.end_array().end_object();
    st->done(api_outcome::success(std::move(out)));
  };

  auto run_one = [this, jobs](size_t i, api_done cb) {
    job& j = (*jobs)[i];
    if (j.method.empty()) return cb(j.preset);
    execute(j.method, j.params, [cb = std::move(cb)](api_outcome r) {
      if (!r.ok && r.result == "malformed") r.result.clear();
      cb(std::move(r));
    });
  };

  if (parallel) {
    for (size_t i = 0; i < jobs->size(); ++i) {
      run_one(i, [st, i, render](api_outcome r) {
        {
          std::lock_guard lock(st->mu);
          st->replies[i] = std::move(r);
        }
        if (st->remaining.fetch_sub(1) == 1) render();
      });
    }
    return;
  }
  // Sequential: each command starts when the previous one finished. The counter is a
  // trampoline: only the call that takes it from 0 runs the loop, so commands completing
  // synchronously do not grow the stack and ones completing on another thread are safe.
  auto pending = std::make_shared<std::atomic<int>>(0);
  auto step = std::make_shared<std::function<void()>>();
  *step = [st, run_one, render, step, pending, jobs] {
    if (pending->fetch_add(1) != 0) return;
    do {
      size_t i = st->next++;
      if (i >= jobs->size()) {
        render();
        *step = nullptr;  // breaks the self-reference; no call follows
        return;
      }
      run_one(i, [st, i, step](api_outcome r) {
        st->replies[i] = std::move(r);
        auto s = *step;  // copy: the loop may reset *step
        if (s) s();
      });
    } while (pending->fetch_sub(1) != 1);
  };
  auto start = *step;
  start();
}

}  // namespace gyre
