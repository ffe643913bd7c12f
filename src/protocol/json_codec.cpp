// json_codec: the JSON client protocol (client-protocol.md §1.3, §2.1, §2.3, §4.13).
//
// Decoding: a frame is commands separated by single '\n' (one trailing '\n' tolerated).
// Every line is parsed in place with simdjson On-Demand; the frame's `decode_padding`
// slack satisfies simdjson's padding rule, so nothing is copied before parsing. On-Demand
// only checks what it is asked for, so the decoder visits every value of a line: known
// fields with their expected type, everything else (unknown keys, payloads) through
// validate(). Invariants:
//   - a command is accepted only if its whole line is valid JSON (RFC 8259) whose root is
//     an object; otherwise the frame is `malformed` and `out` is left untouched;
//   - `bytes` fields (`data`) hold the exact text of the JSON value, without surrounding
//     whitespace; `null` equals a missing field;
//   - recursion is bounded (filter trees: max_filter_depth, any other nesting:
//     max_value_depth), so no input can exhaust the stack.
//
// Encoding: compact JSON through json_writer, snake_case keys in field-number order, zero
// values omitted except the always-present keys of §2.3; every message ends with '\n'.
// `bytes` fields are embedded raw (json_writer::raw drops raw newlines); on delta
// subscriptions publication data is a JSON string instead (§4.13).
//
// Threading: the codec is stateless; each thread owns one simdjson parser (thread_local)
// whose buffers are reused from frame to frame.
#include "protocol/codec.hpp"

#include "protocol/json_scan.hpp"

#include <limits>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/json_writer.hpp"

namespace gyre::protocol {
namespace {

namespace od = simdjson::ondemand;

static_assert(decode_padding >= simdjson::SIMDJSON_PADDING,
              "transports must leave the padding simdjson needs after each frame");

// Filter trees deeper than this are refused (the tags filter evaluator recurses too).
constexpr int max_filter_depth = 32;
// Arrays/objects nested deeper than this inside one command are refused. Generous for
// application payloads; bounds the validator's recursion.
constexpr int max_value_depth = json_scan::max_value_depth;
// Every walk starts at most a few levels below a filter tree (2 JSON levels per filter
// level), so a line is never visited deeper than this; it must stay below the parser's
// max_depth, which On-Demand only asserts in debug builds.
static_assert(8 + 2 * max_filter_depth + max_value_depth < simdjson::DEFAULT_MAX_DEPTH);

// ---------------------------------------------------------------------------------------
// Decoding helpers. Each returns false when the input is not what the protocol allows.

using json_scan::is_json_number;
using json_scan::trim;
using json_scan::validate;

// Sets `is_null` when `v` is the literal null (which then counts as a missing field).
bool peek_null(od::value& v, bool& is_null) {
  od::json_type type;
  if (v.type().get(type)) return false;
  is_null = type == od::json_type::null;
  return !is_null || trim(v.raw_json_token()) == "null";
}

bool read(od::value& v, std::string& out) {
  bool null;
  if (!peek_null(v, null)) return false;
  if (null) return true;
  std::string_view s;
  if (v.get_string().get(s)) return false;
  out.assign(s);
  return true;
}

bool read(od::value& v, bool& out) {
  bool null;
  if (!peek_null(v, null)) return false;
  return null || !v.get_bool().get(out);
}

template <typename Int>
bool read(od::value& v, Int& out) {
  static_assert(std::is_integral_v<Int>);
  bool null;
  if (!peek_null(v, null)) return false;
  if (null) return true;
  if constexpr (std::is_unsigned_v<Int>) {
    uint64_t x;
    if (v.get_uint64().get(x) || x > std::numeric_limits<Int>::max()) return false;
    out = static_cast<Int>(x);
  } else {
    int64_t x;
    if (v.get_int64().get(x) || x < std::numeric_limits<Int>::min() ||
        x > std::numeric_limits<Int>::max()) {
      return false;
    }
    out = static_cast<Int>(x);
  }
  return true;
}

// A `bytes` field: the exact JSON text of the value, trimmed of surrounding whitespace.
bool read_raw(od::value& v, std::string& out) {
  return json_scan::read_raw(v, out);
}

// Calls on_field(key, value) for every member of object `v` (which must not be null).
template <typename F>
bool for_each_field(od::value& v, F&& on_field) {
  od::object obj;
  if (v.get_object().get(obj)) return false;
  for (auto item : obj) {
    od::field field;
    std::string_view key;
    if (std::move(item).get(field) || field.unescaped_key().get(key)) return false;
    if (!on_field(key, field.value())) return false;
  }
  return true;
}

// Calls on_element(value) for every element of array `v`; null is an empty array.
template <typename F>
bool for_each_element(od::value& v, F&& on_element) {
  bool null;
  if (!peek_null(v, null)) return false;
  if (null) return true;
  od::array arr;
  if (v.get_array().get(arr)) return false;
  for (auto item : arr) {
    od::value element;
    if (item.get(element) || !on_element(element)) return false;
  }
  return true;
}

// Parses object `v` into `out` with parse_members(key, value) -> bool, which must
// validate() keys it does not know. null leaves `out` as it is.
template <typename F>
bool read_object(od::value& v, F&& parse_members) {
  bool null;
  if (!peek_null(v, null)) return false;
  return null || for_each_field(v, parse_members);
}

// Arrays and maps replace what an earlier occurrence of the same key produced, as
// scalars do: the last occurrence wins.
bool read_strings(od::value& v, std::vector<std::string>& out) {
  out.clear();
  return for_each_element(v, [&](od::value& e) { return read(e, out.emplace_back()); });
}

bool read_filter(od::value& v, filter_node& out, int depth) {
  if (depth > max_filter_depth) return false;
  return read_object(v, [&](std::string_view k, od::value& f) {
    if (k == "op") return read(f, out.op);
    if (k == "key") return read(f, out.key);
    if (k == "cmp") return read(f, out.cmp);
    if (k == "val") return read(f, out.val);
    if (k == "vals") return read_strings(f, out.vals);
    if (k == "nodes") {
      out.nodes.clear();
      return for_each_element(
          f, [&](od::value& e) { return read_filter(e, out.nodes.emplace_back(), depth + 1); });
    }
    return validate(f, depth);
  });
}

bool read_request(od::value& v, subscribe_request& r) {
  return read_object(v, [&](std::string_view k, od::value& f) {
    if (k == "channel") return read(f, r.channel);
    if (k == "token") return read(f, r.token);
    if (k == "recover") return read(f, r.recover);
    if (k == "epoch") return read(f, r.epoch);
    if (k == "offset") return read(f, r.offset);
    if (k == "data") return read_raw(f, r.data);
    if (k == "positioned") return read(f, r.positioned);
    if (k == "recoverable") return read(f, r.recoverable);
    if (k == "join_leave") return read(f, r.join_leave);
    if (k == "delta") return read(f, r.delta);
    if (k == "tf") {
      bool null;
      if (!peek_null(f, null)) return false;
      if (null) return true;
      return read_filter(f, r.tf.emplace(), 1);
    }
    if (k == "flag") return read(f, r.flag);
    if (k == "type") return read(f, r.type);
    if (k == "phase") return read(f, r.phase);
    if (k == "cursor") return read(f, r.cursor);
    if (k == "limit") return read(f, r.limit);
    if (k == "asc") return read(f, r.asc);
    return validate(f, 1);
  });
}

bool read_request(od::value& v, connect_request& r) {
  return read_object(v, [&](std::string_view k, od::value& f) {
    if (k == "token") return read(f, r.token);
    if (k == "data") return read_raw(f, r.data);
    if (k == "subs") {
      r.subs.clear();
      return read_object(f, [&](std::string_view ch, od::value& sub) {
        auto& entry = r.subs.emplace_back(std::string(ch), subscribe_request{});
        return read_request(sub, entry.second);
      });
    }
    if (k == "name") return read(f, r.name);
    if (k == "version") return read(f, r.version);
    if (k == "headers") {
      r.headers.clear();
      return read_object(f, [&](std::string_view name, od::value& value) {
        auto& entry = r.headers.emplace_back(std::string(name), std::string());
        return read(value, entry.second);
      });
    }
    if (k == "flag") return read(f, r.flag);
    if (k == "dict") return read(f, r.dict);
    if (k == "profile") return read(f, r.profile);
    return validate(f, 1);
  });
}

// Requests whose only field is `channel`.
template <typename R>
bool read_channel_request(od::value& v, R& r) {
  return read_object(v, [&](std::string_view k, od::value& f) {
    if (k == "channel") return read(f, r.channel);
    return validate(f, 1);
  });
}

bool read_request(od::value& v, unsubscribe_request& r) {
  return read_channel_request(v, r);
}
bool read_request(od::value& v, presence_request& r) {
  return read_channel_request(v, r);
}
bool read_request(od::value& v, presence_stats_request& r) {
  return read_channel_request(v, r);
}

bool read_request(od::value& v, publish_request& r) {
  return read_object(v, [&](std::string_view k, od::value& f) {
    if (k == "channel") return read(f, r.channel);
    if (k == "data") return read_raw(f, r.data);
    if (k == "type") return read(f, r.type);
    if (k == "key") return read(f, r.key);
    if (k == "removed") return read(f, r.removed);
    return validate(f, 1);
  });
}

bool read_request(od::value& v, history_request& r) {
  return read_object(v, [&](std::string_view k, od::value& f) {
    if (k == "channel") return read(f, r.channel);
    if (k == "limit") return read(f, r.limit);
    if (k == "since") {
      bool null;
      if (!peek_null(f, null)) return false;
      if (null) return true;
      stream_position& pos = r.since.emplace();
      return for_each_field(f, [&](std::string_view pk, od::value& pf) {
        if (pk == "offset") return read(pf, pos.offset);
        if (pk == "epoch") return read(pf, pos.epoch);
        return validate(pf, 2);
      });
    }
    if (k == "reverse") return read(f, r.reverse);
    return validate(f, 1);
  });
}

bool read_request(od::value& v, send_request& r) {
  return read_object(v, [&](std::string_view k, od::value& f) {
    if (k == "data") return read_raw(f, r.data);
    return validate(f, 1);
  });
}

bool read_request(od::value& v, rpc_request& r) {
  return read_object(v, [&](std::string_view k, od::value& f) {
    if (k == "data") return read_raw(f, r.data);
    if (k == "method") return read(f, r.method);
    return validate(f, 1);
  });
}

bool read_request(od::value& v, refresh_request& r) {
  return read_object(v, [&](std::string_view k, od::value& f) {
    if (k == "token") return read(f, r.token);
    return validate(f, 1);
  });
}

bool read_track_batch(od::value& v, track_batch& b) {
  return read_object(v, [&](std::string_view k, od::value& f) {
    if (k == "signature") return read(f, b.signature);
    if (k == "items") {
      b.items.clear();
      return for_each_element(f, [&](od::value& e) {
        keyed_item& item = b.items.emplace_back();
        return read_object(e, [&](std::string_view ik, od::value& iv) {
          if (ik == "key") return read(iv, item.key);
          if (ik == "version") return read(iv, item.version);
          return validate(iv, 4);
        });
      });
    }
    return validate(f, 2);
  });
}

bool read_request(od::value& v, sub_refresh_request& r) {
  return read_object(v, [&](std::string_view k, od::value& f) {
    if (k == "channel") return read(f, r.channel);
    if (k == "token") return read(f, r.token);
    if (k == "type") return read(f, r.type);
    if (k == "track") {
      r.track.clear();
      return for_each_element(
          f, [&](od::value& e) { return read_track_batch(e, r.track.emplace_back()); });
    }
    if (k == "untrack") return read_strings(f, r.untrack);
    return validate(f, 1);
  });
}

// The command_kind of a Command request key; command_kind values follow the field
// numbers (connect = 4 … sub_refresh = 15), so `<` compares field order.
command_kind request_kind(std::string_view key) {
  // Most frequent first.
  if (key == "publish") return command_kind::publish;
  if (key == "subscribe") return command_kind::subscribe;
  if (key == "rpc") return command_kind::rpc;
  if (key == "unsubscribe") return command_kind::unsubscribe;
  if (key == "connect") return command_kind::connect;
  if (key == "send") return command_kind::send;
  if (key == "history") return command_kind::history;
  if (key == "presence") return command_kind::presence;
  if (key == "presence_stats") return command_kind::presence_stats;
  if (key == "refresh") return command_kind::refresh;
  if (key == "sub_refresh") return command_kind::sub_refresh;
  if (key == "ping") return command_kind::ping;
  return command_kind::none;
}

template <typename R>
bool read_into(od::value& v, command& cmd) {
  return read_request(v, cmd.request.emplace<R>());
}

// Parses request `kind` from `v` into `cmd` (replacing its request).
bool read_request_of_kind(command_kind kind, od::value& v, command& cmd) {
  switch (kind) {
    case command_kind::connect:
      return read_into<connect_request>(v, cmd);
    case command_kind::subscribe:
      return read_into<subscribe_request>(v, cmd);
    case command_kind::unsubscribe:
      return read_into<unsubscribe_request>(v, cmd);
    case command_kind::publish:
      return read_into<publish_request>(v, cmd);
    case command_kind::presence:
      return read_into<presence_request>(v, cmd);
    case command_kind::presence_stats:
      return read_into<presence_stats_request>(v, cmd);
    case command_kind::history:
      return read_into<history_request>(v, cmd);
    case command_kind::send:
      return read_into<send_request>(v, cmd);
    case command_kind::rpc:
      return read_into<rpc_request>(v, cmd);
    case command_kind::refresh:
      return read_into<refresh_request>(v, cmd);
    case command_kind::sub_refresh:
      return read_into<sub_refresh_request>(v, cmd);
    case command_kind::ping:  // PingRequest is empty; its members only need to be JSON.
      cmd.request.emplace<std::monostate>();
      return for_each_field(v, [](std::string_view, od::value& f) { return validate(f, 1); });
    case command_kind::none:
      break;
  }
  return false;
}

// One line = one Command. `capacity` counts the readable bytes from line.data() on.
bool read_command(od::parser& parser, std::string_view line, size_t capacity, command& cmd) {
  od::document doc;
  if (parser.iterate(line.data(), line.size(), capacity).get(doc)) return false;
  od::object obj;
  if (doc.get_object().get(obj)) return false;
  command scratch;  // receives request fields that lose to an earlier-numbered one
  for (auto item : obj) {
    od::field field;
    std::string_view key;
    if (std::move(item).get(field) || field.unescaped_key().get(key)) return false;
    od::value& v = field.value();
    if (key == "id") {
      if (!read(v, cmd.id)) return false;
      continue;
    }
    command_kind kind = request_kind(key);
    if (kind == command_kind::none) {
      if (!validate(v, 0)) return false;
      continue;
    }
    bool null;
    if (!peek_null(v, null)) return false;
    if (null) continue;
    // The first request field in field order wins; the others must still be valid.
    if (cmd.kind == command_kind::none || kind < cmd.kind) {
      cmd.kind = kind;
      if (!read_request_of_kind(kind, v, cmd)) return false;
    } else if (!read_request_of_kind(kind, v, scratch)) {
      return false;
    }
  }
  // Nothing may follow the root object on the line.
  return json_scan::at_end(doc);
}

// ---------------------------------------------------------------------------------------
// Encoding helpers.

void opt_string(json_writer& w, std::string_view key, std::string_view v) {
  if (!v.empty()) w.key(key).string(v);
}
void opt_raw(json_writer& w, std::string_view key, std::string_view v) {
  if (!v.empty()) w.key(key).raw(v);
}
void opt_bool(json_writer& w, std::string_view key, bool v) {
  if (v) w.key(key).boolean(true);
}
template <typename Int>
void opt_number(json_writer& w, std::string_view key, Int v) {
  if (v != 0) w.key(key).number(v);
}

void write_client_info(json_writer& w, const client_info& ci) {
  w.begin_object();
  w.key("user").string(ci.user);  // user and client are always present (§2.3)
  w.key("client").string(ci.client);
  opt_raw(w, "conn_info", ci.conn_info);
  opt_raw(w, "chan_info", ci.chan_info);
  w.end_object();
}

// `json_string`: a delta subscription; data is a JSON string and `patch` becomes
// "delta":true. Outside delta subscriptions the publication's delta is never written.
void write_publication(json_writer& w, const publication& p, std::string_view data,
                       bool json_string, bool patch, std::string_view epoch,
                       std::string_view specific_channel = {}) {
  w.begin_object();
  if (!data.empty()) {
    w.key("data");
    if (json_string) {
      w.string(data);
    } else {
      w.raw(data);
    }
  }
  if (p.info) {
    w.key("info");
    write_client_info(w, *p.info);
  }
  opt_number(w, "offset", p.offset);
  if (!p.tags.empty()) {
    w.key("tags").begin_object();
    for (const auto& [k, v] : p.tags) w.key(k).string(v);
    w.end_object();
  }
  opt_bool(w, "delta", json_string && patch);
  opt_number(w, "time", p.time);
  opt_string(w, "channel", specific_channel);
  opt_string(w, "epoch", epoch);
  w.end_object();
}

// Publications of a result; on a delta subscription every data is a JSON string.
// `first_epoch`, when not empty, is written on the publication with offset 1.
void write_publications(json_writer& w, std::string_view key, const std::vector<publication>& ps,
                        bool delta, std::string_view first_epoch = {}) {
  w.key(key).begin_array();
  for (const publication& p : ps)
    write_publication(w, p, p.data, delta, delta && p.delta,
                      p.offset == 1 ? first_epoch : std::string_view{});
  w.end_array();
}

void write_subscribe_result(json_writer& w, const subscribe_result& r) {
  w.begin_object();
  opt_bool(w, "expires", r.expires);
  opt_number(w, "ttl", r.ttl);
  opt_bool(w, "recoverable", r.recoverable);
  opt_string(w, "epoch", r.epoch);
  if (!r.publications.empty())
    write_publications(w, "publications", r.publications, r.delta,
                       r.epoch_on_first ? std::string_view(r.epoch) : std::string_view{});
  opt_bool(w, "recovered", r.recovered);
  opt_number(w, "offset", r.offset);
  opt_bool(w, "positioned", r.positioned);
  opt_raw(w, "data", r.data);
  opt_bool(w, "was_recovering", r.was_recovering);
  opt_bool(w, "delta", r.delta);
  opt_number(w, "id", r.id);
  opt_number(w, "type", r.type);
  opt_number(w, "phase", r.phase);
  opt_string(w, "cursor", r.cursor);
  if (!r.state.empty()) write_publications(w, "state", r.state, r.delta);
  opt_number(w, "publish_debounce", r.publish_debounce);
  w.end_object();
}

void write_subs(json_writer& w, const std::vector<std::pair<std::string, subscribe_result>>& subs) {
  if (subs.empty()) return;
  w.key("subs").begin_object();
  for (const auto& [channel, sub] : subs) {
    w.key(channel);
    write_subscribe_result(w, sub);
  }
  w.end_object();
}

void write_connect_result(json_writer& w, const connect_result& r) {
  w.begin_object();
  opt_string(w, "client", r.client);
  opt_string(w, "version", r.version);
  opt_bool(w, "expires", r.expires);
  opt_number(w, "ttl", r.ttl);
  opt_raw(w, "data", r.data);
  write_subs(w, r.subs);
  opt_number(w, "ping", r.ping);
  opt_bool(w, "pong", r.pong);
  opt_string(w, "session", r.session);
  opt_string(w, "node", r.node);
  opt_number(w, "time", r.time);
  w.end_object();
}

// The Connect push of unidirectional transports: same keys, push field order.
void write_connect_push(json_writer& w, const connect_result& r) {
  w.begin_object();
  opt_string(w, "client", r.client);
  opt_string(w, "version", r.version);
  opt_raw(w, "data", r.data);
  write_subs(w, r.subs);
  opt_bool(w, "expires", r.expires);
  opt_number(w, "ttl", r.ttl);
  opt_number(w, "ping", r.ping);
  opt_bool(w, "pong", r.pong);
  opt_string(w, "session", r.session);
  opt_string(w, "node", r.node);
  opt_number(w, "time", r.time);
  w.end_object();
}

template <typename... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

void write_result(json_writer& w, const reply& r) {
  std::visit(
      overloaded{
          [](const std::monostate&) {},
          [&](const connect_result& c) {
            w.key("connect");
            write_connect_result(w, c);
          },
          [&](const subscribe_result& s) {
            w.key("subscribe");
            write_subscribe_result(w, s);
          },
          [&](const unsubscribe_result&) { w.key("unsubscribe").begin_object().end_object(); },
          [&](const publish_result&) { w.key("publish").begin_object().end_object(); },
          [&](const presence_result& p) {
            w.key("presence").begin_object().key("presence").begin_object();
            for (const auto& [client, info] : p.presence) {
              w.key(client);
              write_client_info(w, info);
            }
            w.end_object().end_object();
          },
          [&](const presence_stats_result& s) {
            w.key("presence_stats").begin_object();
            w.key("num_clients").number(s.num_clients);
            w.key("num_users").number(s.num_users);
            w.end_object();
          },
          [&](const history_result& h) {
            w.key("history").begin_object();
            write_publications(w, "publications", h.publications, false,
                               h.epoch_on_first ? std::string_view(h.epoch) : std::string_view{});
            w.key("epoch").string(h.epoch);
            w.key("offset").number(h.offset);
            w.end_object();
          },
          [&](const rpc_result& r) {
            w.key("rpc").begin_object();
            opt_raw(w, "data", r.data);
            w.end_object();
          },
          [&](const refresh_result& r) {
            w.key("refresh").begin_object();
            opt_string(w, "client", r.client);
            opt_string(w, "version", r.version);
            opt_bool(w, "expires", r.expires);
            opt_number(w, "ttl", r.ttl);
            w.end_object();
          },
          [&](const sub_refresh_result& r) {
            w.key("sub_refresh").begin_object();
            opt_bool(w, "expires", r.expires);
            opt_number(w, "ttl", r.ttl);
            w.end_object();
          },
      },
      r.result);
}

// Opens a push object (inside {"push":…} for the reply envelope) and writes its channel.
void begin_push(json_writer& w, push_envelope env, std::string_view channel) {
  w.begin_object();
  if (env == push_envelope::reply) w.key("push").begin_object();
  opt_string(w, "channel", channel);
}

void end_push(json_writer& w, push_envelope env) {
  if (env == push_envelope::reply) w.end_object();
  w.end_object();
  w.out().push_back('\n');
}

class json_codec_impl final : public codec {
 public:
  encoding kind() const override { return encoding::json; }

  decode_status decode_commands(std::string_view frame, std::vector<command>& out) const override {
    thread_local od::parser parser;
    std::string_view body = frame;
    if (!body.empty() && body.back() == '\n') body.remove_suffix(1);
    if (body.empty()) return decode_status::malformed;
    const size_t first = out.size();
    size_t pos = 0;
    for (;;) {
      size_t nl = body.find('\n', pos);
      size_t end = nl == std::string_view::npos ? body.size() : nl;
      if (end == pos || !read_command(parser, body.substr(pos, end - pos),
                                      frame.size() - pos + decode_padding, out.emplace_back())) {
        out.resize(first);
        return decode_status::malformed;
      }
      if (nl == std::string_view::npos) return decode_status::ok;
      pos = nl + 1;
    }
  }

  size_t next_command_size(std::string_view batch) const override {
    size_t nl = batch.find('\n');
    if (nl == 0 || batch.empty()) return 0;
    return nl == std::string_view::npos ? batch.size() : nl + 1;
  }

  void encode_reply(const reply& r, std::string& out) const override {
    json_writer w(out);
    w.begin_object();
    if (r.id != 0) w.key("id").number(r.id);
    if (r.error) {
      w.key("error").begin_object();
      w.key("code").number(r.error->code);
      opt_string(w, "message", r.error->message);
      opt_bool(w, "temporary", r.error->temporary);
      w.end_object();
    } else {
      write_result(w, r);
    }
    w.end_object();
    out.push_back('\n');
  }

  void encode_ping(std::string& out) const override { out.append("{}\n"); }

  void encode_pub_push(std::string_view channel, const publication& pub, std::string_view data,
                       pub_encoding how, push_envelope env, std::string& out) const override {
    json_writer w(out);
    begin_push(w, env, channel);
    w.key("pub");
    write_publication(w, pub, data, how.json_string, how.patch, how.epoch, how.channel);
    end_push(w, env);
  }

  void encode_join_push(std::string_view channel, const client_info& info, push_envelope env,
                        std::string& out) const override {
    json_writer w(out);
    begin_push(w, env, channel);
    w.key("join").begin_object().key("info");
    write_client_info(w, info);
    w.end_object();
    end_push(w, env);
  }

  void encode_leave_push(std::string_view channel, const client_info& info, push_envelope env,
                         std::string& out) const override {
    json_writer w(out);
    begin_push(w, env, channel);
    w.key("leave").begin_object().key("info");
    write_client_info(w, info);
    w.end_object();
    end_push(w, env);
  }

  void encode_unsubscribe_push(std::string_view channel, uint32_t code, std::string_view reason,
                               push_envelope env, std::string& out) const override {
    json_writer w(out);
    begin_push(w, env, channel);
    w.key("unsubscribe").begin_object();
    opt_number(w, "code", code);
    opt_string(w, "reason", reason);
    w.end_object();
    end_push(w, env);
  }

  void encode_message_push(std::string_view data, push_envelope env,
                           std::string& out) const override {
    json_writer w(out);
    begin_push(w, env, {});
    w.key("message").begin_object();
    opt_raw(w, "data", data);
    w.end_object();
    end_push(w, env);
  }

  void encode_subscribe_push(std::string_view channel, const subscribe_push& sub, push_envelope env,
                             std::string& out) const override {
    json_writer w(out);
    begin_push(w, env, channel);
    w.key("subscribe").begin_object();
    opt_bool(w, "recoverable", sub.recoverable);
    opt_string(w, "epoch", sub.epoch);
    opt_number(w, "offset", sub.offset);
    opt_bool(w, "positioned", sub.positioned);
    opt_raw(w, "data", sub.data);
    w.end_object();
    end_push(w, env);
  }

  void encode_disconnect_push(uint32_t code, std::string_view reason, push_envelope env,
                              std::string& out) const override {
    json_writer w(out);
    begin_push(w, env, {});
    w.key("disconnect").begin_object();
    opt_number(w, "code", code);
    opt_string(w, "reason", reason);
    w.end_object();
    end_push(w, env);
  }

  void encode_refresh_push(bool expires, uint32_t ttl, push_envelope env,
                           std::string& out) const override {
    json_writer w(out);
    begin_push(w, env, {});
    w.key("refresh").begin_object();
    opt_bool(w, "expires", expires);
    opt_number(w, "ttl", ttl);
    w.end_object();
    end_push(w, env);
  }

  void encode_connect_push(const connect_result& c, push_envelope env,
                           std::string& out) const override {
    json_writer w(out);
    begin_push(w, env, {});
    w.key("connect");
    write_connect_push(w, c);
    end_push(w, env);
  }
};

}  // namespace

const codec& json_codec() {
  static const json_codec_impl instance;
  return instance;
}

}  // namespace gyre::protocol
