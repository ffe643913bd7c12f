// Shared by the command fuzz targets: builds replies and pushes out of a decoded command
// (echoing its strings and payloads into every field that can hold them) and encodes them,
// so that the encoders run on whatever the decoders accepted.
// Strings go only into `string` fields and payloads only into `bytes` fields, so a
// Protobuf encoding of the result is always parseable again.
#pragma once

#include <string>

#include "protocol/codec.hpp"

namespace gyre::protocol::fuzz {

inline publication make_pub(uint64_t offset, const std::string& data, const std::string& user,
                            const std::string& client, bool delta) {
  publication p;
  p.offset = offset;
  p.data = data;
  p.info = client_info{user, client, data, data};
  p.tags = {{user, client}};
  p.delta = delta;
  p.time = static_cast<int64_t>(offset);
  return p;
}

inline subscribe_result make_sub_result(const subscribe_request& s) {
  subscribe_result r;
  r.expires = s.recover;
  r.ttl = static_cast<uint32_t>(s.offset);
  r.recoverable = s.recoverable;
  r.epoch = s.epoch;
  r.publications = {make_pub(s.offset, s.data, s.channel, s.token, false),
                    make_pub(s.offset + 1, s.data, s.cursor, s.delta, true)};
  r.recovered = s.recover;
  r.offset = s.offset;
  r.positioned = s.positioned;
  r.data = s.data;
  r.was_recovering = s.recover;
  r.delta = !s.delta.empty();
  r.id = s.flag;
  r.type = s.type;
  r.phase = s.phase;
  r.cursor = s.cursor;
  r.state = {make_pub(0, s.data, s.token, s.channel, s.asc)};
  r.publish_debounce = static_cast<uint32_t>(s.limit);
  return r;
}

// Appends replies and pushes derived from `cmd` to `out`, all encoded with `c`.
inline void encode_replies_for(const codec& c, const command& cmd, std::string& out) {
  reply r;
  r.id = cmd.id;
  const push_envelope env = cmd.id % 2 ? push_envelope::reply : push_envelope::bare;
  switch (cmd.kind) {
    case command_kind::connect: {
      const auto& q = cmd.as<connect_request>();
      connect_result res;
      res.client = q.token;
      res.version = q.version;
      res.expires = q.flag != 0;
      res.ttl = static_cast<uint32_t>(q.flag);
      res.data = q.data;
      for (const auto& [ch, sub] : q.subs) res.subs.emplace_back(ch, make_sub_result(sub));
      res.ping = 25;
      res.pong = true;
      res.session = q.name;
      res.node = q.dict;
      res.time = q.flag;
      c.encode_connect_push(res, env, out);
      r.result = std::move(res);
      break;
    }
    case command_kind::subscribe: {
      const auto& q = cmd.as<subscribe_request>();
      c.encode_subscribe_push(q.channel, {q.recoverable, q.epoch, q.offset, q.positioned, q.data},
                              env, out);
      c.encode_join_push(q.channel, client_info{q.token, q.epoch, q.data, q.data}, env, out);
      r.result = make_sub_result(q);
      break;
    }
    case command_kind::unsubscribe: {
      const auto& q = cmd.as<unsubscribe_request>();
      c.encode_unsubscribe_push(q.channel, cmd.id, q.channel, env, out);
      c.encode_leave_push(q.channel, client_info{q.channel, q.channel, "", ""}, env, out);
      r.result = unsubscribe_result{};
      break;
    }
    case command_kind::publish: {
      const auto& q = cmd.as<publish_request>();
      publication p = make_pub(cmd.id, q.data, q.key, q.channel, q.removed);
      c.encode_pub_push(q.channel, p, q.data, {}, env, out);
      c.encode_pub_push(q.channel, p, q.data,
                        {.patch = false, .json_string = true, .epoch = q.key, .channel = q.key},
                        env, out);
      c.encode_pub_push(q.channel, p, q.key, {.patch = true, .json_string = true}, env, out);
      r.result = publish_result{};
      break;
    }
    case command_kind::presence: {
      const auto& q = cmd.as<presence_request>();
      presence_result res;
      res.presence.emplace_back(q.channel, client_info{q.channel, q.channel, "", ""});
      r.result = std::move(res);
      break;
    }
    case command_kind::presence_stats:
      r.result = presence_stats_result{cmd.id, cmd.id / 2};
      break;
    case command_kind::history: {
      const auto& q = cmd.as<history_request>();
      history_result res;
      res.epoch = q.since ? q.since->epoch : q.channel;
      res.offset = q.since ? q.since->offset : 0;
      if (q.limit > 0) res.publications.push_back(make_pub(res.offset, "", q.channel, "", true));
      r.result = std::move(res);
      break;
    }
    case command_kind::send:
      c.encode_message_push(cmd.as<send_request>().data, env, out);
      c.encode_ping(out);
      return;
    case command_kind::rpc: {
      const auto& q = cmd.as<rpc_request>();
      if (q.method.empty()) {
        r.result = rpc_result{q.data};
      } else {
        r.error = error_reply{cmd.id, q.method, cmd.id % 3 == 0};
      }
      break;
    }
    case command_kind::refresh: {
      const auto& q = cmd.as<refresh_request>();
      c.encode_refresh_push(cmd.id % 2 == 0, cmd.id, env, out);
      r.result = refresh_result{q.token, q.token, true, cmd.id};
      break;
    }
    case command_kind::sub_refresh: {
      const auto& q = cmd.as<sub_refresh_request>();
      c.encode_disconnect_push(cmd.id, q.token, env, out);
      r.result = sub_refresh_result{!q.untrack.empty(), static_cast<uint32_t>(q.track.size())};
      break;
    }
    case command_kind::ping:
    case command_kind::none:
      c.encode_ping(out);
      return;
  }
  c.encode_reply(r, out);
}

}  // namespace gyre::protocol::fuzz
