// proxy_codec: see proxy_codec.hpp.
#include "proxy/proxy_codec.hpp"

#include "core/base64.hpp"
#include "core/json_writer.hpp"
#include "protocol/data_format.hpp"
#include "protocol/json_object.hpp"
#include "protocol/json_scan.hpp"

namespace gyre::proxy {

using protocol::json_kind;
using protocol::json_object;

const char* kind_name(call_kind k) {
  switch (k) {
    case call_kind::connect:
      return "connect";
    case call_kind::refresh:
      return "refresh";
    case call_kind::subscribe:
      return "subscribe";
    case call_kind::publish:
      return "publish";
    case call_kind::sub_refresh:
      return "sub_refresh";
    case call_kind::rpc:
      return "rpc";
  }
  return "unknown";
}

const char* failure_name(failure f) {
  switch (f) {
    case failure::none:
      return "none";
    case failure::unavailable:
      return "backend unavailable";
    case failure::timeout:
      return "timeout";
    case failure::status:
      return "unexpected HTTP status";
    case failure::bad_response:
      return "bad response";
    case failure::unsupported:
      return "unsupported endpoint";
  }
  return "unknown";
}

namespace {

bool sends_user(call_kind k) {
  return k != call_kind::connect;
}
bool sends_data(call_kind k) {
  return k == call_kind::connect || k == call_kind::subscribe || k == call_kind::publish ||
         k == call_kind::rpc;
}
bool sends_channel(call_kind k) {
  return k == call_kind::subscribe || k == call_kind::publish || k == call_kind::sub_refresh;
}

// A bytes field of a response: `name` raw JSON, or `b64name` base64. False on a bad value.
bool read_bytes(const json_object& o, std::string_view name, std::string_view b64name,
                std::optional<std::string>& out, bool keep_null) {
  std::string b64;
  if (!o.get(b64name, b64)) return false;
  if (!b64.empty()) {
    auto d = base64_decode(b64);
    if (!d) return false;
    out = std::move(*d);
  }
  if (auto raw = o.raw(name)) {
    if (*raw == "null" && !keep_null) return true;
    out = std::string(*raw);
  }
  return true;
}

// The members of object `name` with their names as written (json_object lower-cases
// names; channel names are case-sensitive) and their raw values.
bool raw_members(const json_object& o, std::string_view name,
                 std::vector<std::pair<std::string, std::string>>& out) {
  auto raw = o.raw(name);
  if (!raw || *raw == "null") return true;
  simdjson::padded_string padded(*raw);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(obj)) return false;
  for (auto item : obj) {
    simdjson::ondemand::field field;
    std::string_view k;
    if (std::move(item).get(field) || field.unescaped_key().get(k)) return false;
    std::string v;
    simdjson::ondemand::value val = field.value();
    if (!protocol::json_scan::read_raw(val, v)) return false;
    out.emplace_back(std::string(k), v.empty() ? std::string("null") : std::move(v));
  }
  return true;
}

bool read_override(const json_object& o, auth::subscription_override& ov) {
  std::optional<json_object> x;
  if (!o.get("override", x)) return false;
  if (!x) return true;
  auto one = [&](std::string_view key, std::optional<bool>& out) {
    std::optional<json_object> v;
    if (!x->get(key, v)) return false;
    if (!v) return true;
    bool b = false;
    if (!v->get("value", b)) return false;
    out = b;
    return true;
  };
  return one("presence", ov.presence) && one("join_leave", ov.join_leave) &&
         one("force_push_join_leave", ov.force_push_join_leave) &&
         one("force_recovery", ov.force_recovery) && one("force_positioning", ov.force_positioning);
}

bool read_result(call_kind k, const json_object& r, reply& out, std::string& why) {
  auto bad = [&](const char* field) {
    why = std::string("result.") + field + " has a wrong type or bad base64";
    return false;
  };
  const bool keep_null = k == call_kind::publish;
  switch (k) {
    case call_kind::connect: {
      if (!r.get("user", out.user)) return bad("user");
      if (!r.get("expire_at", out.expire_at)) return bad("expire_at");
      if (!read_bytes(r, "info", "b64info", out.info, false)) return bad("info");
      if (!read_bytes(r, "data", "b64data", out.data, false)) return bad("data");
      if (!r.get("channels", out.channels)) return bad("channels");
      if (auto meta = r.raw("meta"); meta && *meta != "null") out.meta = std::string(*meta);
      std::vector<std::pair<std::string, std::string>> subs;
      if (!raw_members(r, "subs", subs)) return bad("subs");
      {
        for (const auto& [channel, raw] : subs) {
          auth::sub_options so;
          if (raw != "null") {
            auto o = json_object::parse(raw);
            if (!o) return bad("subs");
            std::optional<std::string> info, data;
            if (!read_bytes(*o, "info", "b64info", info, false) ||
                !read_bytes(*o, "data", "b64data", data, false) || !read_override(*o, so.overrides))
              return bad("subs");
            if (info) so.info = std::move(*info);
            if (data) so.data = std::move(*data);
          }
          out.subs[channel] = std::move(so);
        }
      }
      return true;
    }
    case call_kind::refresh:
    case call_kind::sub_refresh: {
      if (!r.get("expired", out.expired)) return bad("expired");
      if (!r.get("expire_at", out.expire_at)) return bad("expire_at");
      if (!read_bytes(r, "info", "b64info", out.info, false)) return bad("info");
      if (k == call_kind::refresh)
        if (auto meta = r.raw("meta"); meta && *meta != "null") out.meta = std::string(*meta);
      return true;
    }
    case call_kind::subscribe: {
      if (!r.get("expire_at", out.expire_at)) return bad("expire_at");
      if (!read_bytes(r, "info", "b64info", out.info, false)) return bad("info");
      if (!read_bytes(r, "data", "b64data", out.data, false)) return bad("data");
      if (!read_override(r, out.override_)) return bad("override");
      return true;
    }
    case call_kind::publish: {
      if (!read_bytes(r, "data", "b64data", out.data, keep_null)) return bad("data");
      if (!r.get("skip_history", out.skip_history)) return bad("skip_history");
      if (!r.get("tags", out.tags)) return bad("tags");
      if (!r.get("idempotency_key", out.idempotency_key)) return bad("idempotency_key");
      if (!r.get("delta", out.delta)) return bad("delta");
      return true;
    }
    case call_kind::rpc: {
      if (!read_bytes(r, "data", "b64data", out.data, false)) return bad("data");
      return true;
    }
  }
  return true;
}

}  // namespace

bool encode_request(const request& r, std::string& out) {
  const bool with_data = sends_data(r.kind) && !r.data.empty();
  if (with_data && !r.binary && !protocol::valid_json(r.data)) return false;
  if (!r.binary && r.kind != call_kind::connect && !r.meta.empty() && !protocol::valid_json(r.meta))
    return false;
  json_writer w(out);
  w.begin_object();
  w.member("client", r.client);
  w.member("transport", r.transport);
  w.member("protocol", r.protocol);
  w.member("encoding", r.binary ? "binary" : "json");
  if (sends_user(r.kind)) w.member("user", r.user);
  if (sends_channel(r.kind) && !r.channel.empty()) w.member("channel", r.channel);
  if (r.kind == call_kind::rpc && !r.method.empty()) w.member("method", r.method);
  if (r.kind == call_kind::connect) {
    if (!r.name.empty()) w.member("name", r.name);
    if (!r.version.empty()) w.member("version", r.version);
    if (!r.channels.empty()) {
      w.key("channels").begin_array();
      for (const auto& c : r.channels) w.string(c);
      w.end_array();
    }
  }
  if (with_data) {
    if (r.binary)
      w.member("b64data", base64_encode(r.data));
    else
      w.member_raw("data", r.data);
  }
  if (r.kind != call_kind::connect && !r.meta.empty()) w.member_raw("meta", r.meta);
  w.end_object();
  return true;
}

std::optional<reply> decode_reply(call_kind k, std::string_view body, std::string& why) {
  auto o = json_object::parse(body);
  if (!o) {
    why = "the body is not a JSON object";
    return std::nullopt;
  }
  reply out;
  std::optional<json_object> d, e, r;
  if (!o->get("disconnect", d) || !o->get("error", e) || !o->get("result", r)) {
    why = "result, error or disconnect is not an object";
    return std::nullopt;
  }
  if (d) {
    uint32_t code = 0;
    std::string reason;
    if (!d->get("code", code) || !d->get("reason", reason)) {
      why = "disconnect has a wrong type";
      return std::nullopt;
    }
    out.disconnect.emplace(code, std::move(reason));
  }
  if (e) {
    reply::error_t err;
    if (!e->get("code", err.code) || !e->get("message", err.message) ||
        !e->get("temporary", err.temporary)) {
      why = "error has a wrong type";
      return std::nullopt;
    }
    out.error = std::move(err);
  }
  if (r) {
    out.has_result = true;
    if (!read_result(k, *r, out, why)) return std::nullopt;
  }
  return out;
}

}  // namespace gyre::proxy
