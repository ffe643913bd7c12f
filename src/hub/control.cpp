// control: encoding of node-to-node control messages; see control.hpp.
#include "hub/control.hpp"

#include "core/base64.hpp"
#include "core/json_writer.hpp"
#include "protocol/json_object.hpp"

namespace gyre {

namespace {

using protocol::json_object;

const char* kind_name(control_message::kind k) {
  switch (k) {
    case control_message::kind::info:
      return "info";
    case control_message::kind::disconnect:
      return "disconnect";
    case control_message::kind::unsubscribe:
      return "unsubscribe";
    case control_message::kind::subscribe:
      return "subscribe";
    case control_message::kind::refresh:
      return "refresh";
    case control_message::kind::survey:
      return "survey";
    case control_message::kind::survey_reply:
      return "survey_reply";
  }
  return "";
}

void write_filter(json_writer& w, const connection_filter& f) {
  w.key("f")
      .begin_object()
      .member("user", f.user)
      .member("client", f.client)
      .member("session", f.session);
  w.key("whitelist").begin_array();
  for (const auto& c : f.whitelist) w.value(c);
  w.end_array().end_object();
}

bool read_filter(const json_object& o, connection_filter& f) {
  std::optional<json_object> fo;
  if (!o.get("f", fo) || !fo) return false;
  return fo->get("user", f.user) && fo->get("client", f.client) && fo->get("session", f.session) &&
         fo->get("whitelist", f.whitelist);
}

void write_opt_bool(json_writer& w, std::string_view key, const std::optional<bool>& v) {
  if (v) w.member(key, *v);
}

bool read_opt_bool(const json_object& o, std::string_view key, std::optional<bool>& out) {
  if (!o.has(key)) return true;
  bool b = false;
  if (!o.get(key, b)) return false;
  out = b;
  return true;
}

bool read_b64(const json_object& o, std::string_view key, std::string& out) {
  std::string text;
  if (!o.get(key, text)) return false;
  if (text.empty()) return true;
  auto decoded = base64_decode(text);
  if (!decoded) return false;
  out = std::move(*decoded);
  return true;
}

}  // namespace

std::string encode_control(const control_message& m) {
  std::string out;
  json_writer w(out);
  w.begin_object().member("t", kind_name(m.type));
  switch (m.type) {
    case control_message::kind::info:
      w.member("uid", m.info.uid)
          .member("name", m.info.name)
          .member("version", m.info.version)
          .member("clients", m.info.num_clients)
          .member("users", m.info.num_users)
          .member("subs", m.info.num_subs)
          .member("channels", m.info.num_channels)
          .member("uptime", m.info.uptime_seconds);
      break;
    case control_message::kind::disconnect:
      write_filter(w, m.filter);
      w.member("code", m.code).member("reason", m.reason);
      break;
    case control_message::kind::unsubscribe:
      write_filter(w, m.filter);
      w.member("channel", m.channel);
      break;
    case control_message::kind::subscribe: {
      write_filter(w, m.filter);
      const auto& s = m.subscribe;
      w.member("channel", s.channel).member("expire_at", s.expire_at);
      w.member("info", base64_encode(s.info)).member("data", base64_encode(s.data));
      if (s.recover_since)
        w.member("offset", s.recover_since->offset).member("epoch", s.recover_since->epoch);
      write_opt_bool(w, "presence", s.presence);
      write_opt_bool(w, "join_leave", s.join_leave);
      write_opt_bool(w, "force_push_join_leave", s.force_push_join_leave);
      write_opt_bool(w, "force_recovery", s.force_recovery);
      write_opt_bool(w, "force_positioning", s.force_positioning);
      break;
    }
    case control_message::kind::refresh:
      write_filter(w, m.filter);
      w.member("expired", m.expired).member("expire_at", m.expire_at);
      if (m.conn_info) w.member("info", base64_encode(*m.conn_info));
      break;
    case control_message::kind::survey:
      w.member("id", m.survey_id).member("from", m.from).member("op", m.op);
      break;
    case control_message::kind::survey_reply:
      w.member("id", m.survey_id).member("from", m.from);
      // Names and counts as parallel arrays: object keys would lose their case here.
      w.key("names").begin_array();
      for (const auto& [ch, n] : m.channels) w.value(ch);
      w.end_array().key("counts").begin_array();
      for (const auto& [ch, n] : m.channels) w.value(n);
      w.end_array();
      break;
  }
  w.end_object();
  return out;
}

std::optional<control_message> decode_control(std::string_view payload) {
  auto o = json_object::parse(payload);
  if (!o) return std::nullopt;
  std::string t;
  if (!o->get("t", t)) return std::nullopt;
  control_message m;
  bool ok = true;
  if (t == "info") {
    m.type = control_message::kind::info;
    ok = o->get("uid", m.info.uid) && o->get("name", m.info.name) &&
         o->get("version", m.info.version) && o->get("clients", m.info.num_clients) &&
         o->get("users", m.info.num_users) && o->get("subs", m.info.num_subs) &&
         o->get("channels", m.info.num_channels) && o->get("uptime", m.info.uptime_seconds) &&
         !m.info.uid.empty();
  } else if (t == "disconnect") {
    m.type = control_message::kind::disconnect;
    ok = read_filter(*o, m.filter) && o->get("code", m.code) && o->get("reason", m.reason);
  } else if (t == "unsubscribe") {
    m.type = control_message::kind::unsubscribe;
    ok = read_filter(*o, m.filter) && o->get("channel", m.channel);
  } else if (t == "subscribe") {
    m.type = control_message::kind::subscribe;
    auto& s = m.subscribe;
    ok = read_filter(*o, m.filter) && o->get("channel", s.channel) &&
         o->get("expire_at", s.expire_at) && read_b64(*o, "info", s.info) &&
         read_b64(*o, "data", s.data) && read_opt_bool(*o, "presence", s.presence) &&
         read_opt_bool(*o, "join_leave", s.join_leave) &&
         read_opt_bool(*o, "force_push_join_leave", s.force_push_join_leave) &&
         read_opt_bool(*o, "force_recovery", s.force_recovery) &&
         read_opt_bool(*o, "force_positioning", s.force_positioning);
    if (ok && o->has("offset")) {
      stream_position sp;
      ok = o->get("offset", sp.offset) && o->get("epoch", sp.epoch);
      s.recover_since = sp;
    }
  } else if (t == "refresh") {
    m.type = control_message::kind::refresh;
    ok = read_filter(*o, m.filter) && o->get("expired", m.expired) &&
         o->get("expire_at", m.expire_at);
    if (ok && o->has("info")) {
      std::string info;
      ok = read_b64(*o, "info", info);
      m.conn_info = std::move(info);
    }
  } else if (t == "survey") {
    m.type = control_message::kind::survey;
    ok = o->get("id", m.survey_id) && o->get("from", m.from) && o->get("op", m.op);
  } else if (t == "survey_reply") {
    m.type = control_message::kind::survey_reply;
    ok = o->get("id", m.survey_id) && o->get("from", m.from);
    std::vector<std::string> names;
    std::vector<uint64_t> counts;
    ok = ok && o->get("names", names) && o->get("counts", counts) && names.size() == counts.size();
    for (size_t i = 0; ok && i < names.size(); ++i)
      m.channels[names[i]] = static_cast<uint32_t>(counts[i]);
  } else {
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return m;
}

}  // namespace gyre
