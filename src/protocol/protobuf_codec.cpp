// protobuf_codec: the Protobuf client protocol (client-protocol.md §1.3, §2.2, §3).
//
// Decoding: a frame is a concatenation of Commands, each prefixed with its length as an
// unsigned varint. A truncated or oversized varint, a length past the end of the frame,
// a Command libprotobuf refuses (including invalid UTF-8 in proto3 `string` fields), a
// filter tree deeper than max_filter_depth, or a frame with no Command at all make the
// whole frame `malformed`; `out` is then left untouched. Unknown fields are skipped.
//
// Encoding: every message is written as varint(size) + serialized Reply (or bare Push).
// A present-but-empty sub-message is written as tag + length 0, which is what makes a
// successful publish reply to id 5 the exact bytes 04 08 05 42 00. The size is computed
// once and the message serialized straight into `out`.
//
// Memory: each call builds its generated messages on a protobuf Arena whose first block
// is a per-thread buffer, so typical messages cause no heap allocation and nothing is
// retained between calls. The arena is not reentrant (no call nests another).
//
// Threading: stateless apart from the per-thread arena block; usable from any thread.
#include "protocol/codec.hpp"

#include <google/protobuf/arena.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <variant>

#include "protocol/client.pb.h"

namespace gyre::protocol {
namespace {

namespace pb = centrifugal::centrifuge::protocol;
using google::protobuf::Arena;

// Same bound as the JSON codec: the tags filter evaluator recurses over the tree.
constexpr int max_filter_depth = 32;

// First arena block of every encode/decode on this thread. Larger messages spill into
// heap blocks that the arena frees when the call ends.
constexpr size_t arena_block_size = 16 * 1024;
alignas(16) thread_local char arena_block[arena_block_size];

// ---------------------------------------------------------------------------------------
// Varints and framing.

constexpr size_t max_varint_size = 10;

size_t put_varint(uint64_t v, char* p) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<char>(static_cast<uint8_t>(v) | 0x80);
    v >>= 7;
  }
  p[n++] = static_cast<char>(v);
  return n;
}

// Reads a varint at in[pos]; false if truncated or longer than 64 bits.
bool get_varint(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (size_t i = 0; i < max_varint_size; ++i) {
    if (pos >= in.size()) return false;
    uint8_t b = static_cast<uint8_t>(in[pos++]);
    if (i == max_varint_size - 1 && b > 1) return false;  // bits beyond 64
    v |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
    if (b < 0x80) return true;
  }
  return false;
}

// Appends varint(size) + message to `out`, serializing in place.
void append_framed(const google::protobuf::MessageLite& m, std::string& out) {
  const size_t size = m.ByteSizeLong();
  char prefix[max_varint_size];
  const size_t prefix_size = put_varint(size, prefix);
  const size_t at = out.size();
  out.resize(at + prefix_size + size);
  std::memcpy(out.data() + at, prefix, prefix_size);
  m.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + at + prefix_size));
}

// ---------------------------------------------------------------------------------------
// Wire messages -> client_messages.hpp structs.

template <typename Pairs, typename Map, typename Convert>
bool convert_map(const Map& from, Pairs& to, Convert&& convert) {
  to.reserve(from.size());
  for (const auto& [k, v] : from) {
    auto& entry = to.emplace_back();
    entry.first = k;
    if (!convert(v, entry.second)) return false;
  }
  // Map order on the wire carries no meaning; sorting keeps decoding deterministic.
  std::sort(to.begin(), to.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return true;
}

bool convert(const pb::FilterNode& m, filter_node& out, int depth) {
  if (depth > max_filter_depth) return false;
  out.op = m.op();
  out.key = m.key();
  out.cmp = m.cmp();
  out.val = m.val();
  out.vals.assign(m.vals().begin(), m.vals().end());
  out.nodes.reserve(static_cast<size_t>(m.nodes_size()));
  for (const pb::FilterNode& n : m.nodes()) {
    if (!convert(n, out.nodes.emplace_back(), depth + 1)) return false;
  }
  return true;
}

bool convert(const pb::SubscribeRequest& m, subscribe_request& r) {
  r.channel = m.channel();
  r.token = m.token();
  r.recover = m.recover();
  r.epoch = m.epoch();
  r.offset = m.offset();
  r.data = m.data();
  r.positioned = m.positioned();
  r.recoverable = m.recoverable();
  r.join_leave = m.join_leave();
  r.delta = m.delta();
  if (m.has_tf() && !convert(m.tf(), r.tf.emplace(), 1)) return false;
  r.flag = m.flag();
  r.type = m.type();
  r.phase = m.phase();
  r.cursor = m.cursor();
  r.limit = m.limit();
  r.asc = m.asc();
  return true;
}

bool convert(const pb::ConnectRequest& m, connect_request& r) {
  r.token = m.token();
  r.data = m.data();
  if (!convert_map(m.subs(), r.subs, [](const pb::SubscribeRequest& from, subscribe_request& to) {
        return convert(from, to);
      })) {
    return false;
  }
  r.name = m.name();
  r.version = m.version();
  convert_map(m.headers(), r.headers, [](const std::string& from, std::string& to) {
    to = from;
    return true;
  });
  r.flag = m.flag();
  r.dict = m.dict();
  r.profile = m.profile();
  return true;
}

bool convert(const pb::HistoryRequest& m, history_request& r) {
  r.channel = m.channel();
  r.limit = m.limit();
  if (m.has_since()) r.since = stream_position{m.since().offset(), m.since().epoch()};
  r.reverse = m.reverse();
  return true;
}

bool convert(const pb::PublishRequest& m, publish_request& r) {
  r.channel = m.channel();
  r.data = m.data();
  r.type = m.type();
  r.key = m.key();
  r.removed = m.removed();
  return true;
}

bool convert(const pb::SubRefreshRequest& m, sub_refresh_request& r) {
  r.channel = m.channel();
  r.token = m.token();
  r.type = m.type();
  r.track.reserve(static_cast<size_t>(m.track_size()));
  for (const pb::TrackBatch& b : m.track()) {
    track_batch& batch = r.track.emplace_back();
    batch.signature = b.signature();
    batch.items.reserve(static_cast<size_t>(b.items_size()));
    for (const pb::KeyedItem& item : b.items()) batch.items.push_back({item.key(), item.version()});
  }
  r.untrack.assign(m.untrack().begin(), m.untrack().end());
  return true;
}

bool convert(const pb::Command& m, command& cmd) {
  cmd.id = m.id();
  // The first request field set, in field order.
  if (m.has_connect()) {
    cmd.kind = command_kind::connect;
    return convert(m.connect(), cmd.request.emplace<connect_request>());
  }
  if (m.has_subscribe()) {
    cmd.kind = command_kind::subscribe;
    return convert(m.subscribe(), cmd.request.emplace<subscribe_request>());
  }
  if (m.has_unsubscribe()) {
    cmd.kind = command_kind::unsubscribe;
    cmd.request.emplace<unsubscribe_request>().channel = m.unsubscribe().channel();
    return true;
  }
  if (m.has_publish()) {
    cmd.kind = command_kind::publish;
    return convert(m.publish(), cmd.request.emplace<publish_request>());
  }
  if (m.has_presence()) {
    cmd.kind = command_kind::presence;
    cmd.request.emplace<presence_request>().channel = m.presence().channel();
    return true;
  }
  if (m.has_presence_stats()) {
    cmd.kind = command_kind::presence_stats;
    cmd.request.emplace<presence_stats_request>().channel = m.presence_stats().channel();
    return true;
  }
  if (m.has_history()) {
    cmd.kind = command_kind::history;
    return convert(m.history(), cmd.request.emplace<history_request>());
  }
  if (m.has_ping()) {
    cmd.kind = command_kind::ping;
    return true;
  }
  if (m.has_send()) {
    cmd.kind = command_kind::send;
    cmd.request.emplace<send_request>().data = m.send().data();
    return true;
  }
  if (m.has_rpc()) {
    cmd.kind = command_kind::rpc;
    auto& r = cmd.request.emplace<rpc_request>();
    r.data = m.rpc().data();
    r.method = m.rpc().method();
    return true;
  }
  if (m.has_refresh()) {
    cmd.kind = command_kind::refresh;
    cmd.request.emplace<refresh_request>().token = m.refresh().token();
    return true;
  }
  if (m.has_sub_refresh()) {
    cmd.kind = command_kind::sub_refresh;
    return convert(m.sub_refresh(), cmd.request.emplace<sub_refresh_request>());
  }
  return true;  // no request: a pong when id is 0
}

// ---------------------------------------------------------------------------------------
// client_messages.hpp structs -> wire messages. Zero scalars and empty strings may be
// set freely (proto3 does not serialize them); sub-messages are created only when present.

void fill(pb::ClientInfo* m, const client_info& ci) {
  m->set_user(ci.user);
  m->set_client(ci.client);
  m->set_conn_info(ci.conn_info);
  m->set_chan_info(ci.chan_info);
}

// `delta` is the wire flag: data is a fossil patch.
void fill(pb::Publication* m, const publication& p, std::string_view data, bool delta,
          std::string_view epoch) {
  if (!data.empty()) m->set_data(data.data(), data.size());
  if (p.info) fill(m->mutable_info(), *p.info);
  m->set_offset(p.offset);
  if (!p.tags.empty()) {
    auto& tags = *m->mutable_tags();
    for (const auto& [k, v] : p.tags) tags[k] = v;
  }
  m->set_delta(delta);
  m->set_time(p.time);
  if (!epoch.empty()) m->set_epoch(epoch.data(), epoch.size());
}

// `first_epoch`, when not empty, is set on the publication with offset 1.
template <typename AddFn>
void fill_publications(const std::vector<publication>& ps, bool delta_sub, AddFn&& add,
                       std::string_view first_epoch = {}) {
  for (const publication& p : ps)
    fill(add(), p, p.data, delta_sub && p.delta, p.offset == 1 ? first_epoch : std::string_view{});
}

void fill(pb::SubscribeResult* m, const subscribe_result& r) {
  m->set_expires(r.expires);
  m->set_ttl(r.ttl);
  m->set_recoverable(r.recoverable);
  m->set_epoch(r.epoch);
  m->mutable_publications()->Reserve(static_cast<int>(r.publications.size()));
  fill_publications(
      r.publications, r.delta, [m] { return m->add_publications(); },
      r.epoch_on_first ? std::string_view(r.epoch) : std::string_view{});
  m->set_recovered(r.recovered);
  m->set_offset(r.offset);
  m->set_positioned(r.positioned);
  m->set_data(r.data);
  m->set_was_recovering(r.was_recovering);
  m->set_delta(r.delta);
  m->set_id(r.id);
  m->set_type(r.type);
  m->set_phase(r.phase);
  m->set_cursor(r.cursor);
  fill_publications(r.state, r.delta, [m] { return m->add_state(); });
  m->set_publish_debounce(r.publish_debounce);
}

template <typename SubsMap>
void fill_subs(SubsMap& to, const std::vector<std::pair<std::string, subscribe_result>>& from) {
  for (const auto& [channel, sub] : from) fill(&to[channel], sub);
}

void fill(pb::ConnectResult* m, const connect_result& r) {
  m->set_client(r.client);
  m->set_version(r.version);
  m->set_expires(r.expires);
  m->set_ttl(r.ttl);
  m->set_data(r.data);
  fill_subs(*m->mutable_subs(), r.subs);
  m->set_ping(r.ping);
  m->set_pong(r.pong);
  m->set_session(r.session);
  m->set_node(r.node);
  m->set_time(r.time);
}

void fill(pb::Connect* m, const connect_result& r) {
  m->set_client(r.client);
  m->set_version(r.version);
  m->set_data(r.data);
  fill_subs(*m->mutable_subs(), r.subs);
  m->set_expires(r.expires);
  m->set_ttl(r.ttl);
  m->set_ping(r.ping);
  m->set_pong(r.pong);
  m->set_session(r.session);
  m->set_node(r.node);
  m->set_time(r.time);
}

template <typename... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

void fill_result(pb::Reply* m, const reply& r) {
  std::visit(overloaded{
                 [](const std::monostate&) {},
                 [m](const connect_result& c) { fill(m->mutable_connect(), c); },
                 [m](const subscribe_result& s) { fill(m->mutable_subscribe(), s); },
                 [m](const unsubscribe_result&) { m->mutable_unsubscribe(); },
                 [m](const publish_result&) { m->mutable_publish(); },
                 [m](const presence_result& p) {
                   auto& presence = *m->mutable_presence()->mutable_presence();
                   for (const auto& [client, info] : p.presence) fill(&presence[client], info);
                 },
                 [m](const presence_stats_result& s) {
                   auto* ps = m->mutable_presence_stats();
                   ps->set_num_clients(s.num_clients);
                   ps->set_num_users(s.num_users);
                 },
                 [m](const history_result& h) {
                   auto* hr = m->mutable_history();
                   hr->mutable_publications()->Reserve(static_cast<int>(h.publications.size()));
                   fill_publications(
                       h.publications, false, [hr] { return hr->add_publications(); },
                       h.epoch_on_first ? std::string_view(h.epoch) : std::string_view{});
                   hr->set_epoch(h.epoch);
                   hr->set_offset(h.offset);
                 },
                 [m](const rpc_result& r) { m->mutable_rpc()->set_data(r.data); },
                 [m](const refresh_result& r) {
                   auto* rr = m->mutable_refresh();
                   rr->set_client(r.client);
                   rr->set_version(r.version);
                   rr->set_expires(r.expires);
                   rr->set_ttl(r.ttl);
                 },
                 [m](const sub_refresh_result& r) {
                   auto* sr = m->mutable_sub_refresh();
                   sr->set_expires(r.expires);
                   sr->set_ttl(r.ttl);
                 },
             },
             r.result);
}

// The Push to fill, and the message to serialize: a Reply around it or the Push itself.
struct push_frame {
  const google::protobuf::MessageLite* root;
  pb::Push* push;
};

push_frame new_push(Arena& arena, push_envelope env, std::string_view channel) {
  push_frame f{};
  if (env == push_envelope::reply) {
    auto* r = Arena::CreateMessage<pb::Reply>(&arena);
    f = {r, r->mutable_push()};
  } else {
    auto* p = Arena::CreateMessage<pb::Push>(&arena);
    f = {p, p};
  }
  if (!channel.empty()) f.push->set_channel(channel.data(), channel.size());
  return f;
}

class protobuf_codec_impl final : public codec {
 public:
  encoding kind() const override { return encoding::protobuf; }

  decode_status decode_commands(std::string_view frame, std::vector<command>& out) const override {
    if (frame.empty()) return decode_status::malformed;
    Arena arena(arena_block, arena_block_size);
    auto* msg = Arena::CreateMessage<pb::Command>(&arena);
    const size_t first = out.size();
    size_t pos = 0;
    while (pos < frame.size()) {
      uint64_t len = 0;
      if (!get_varint(frame, pos, len) || len > frame.size() - pos || len > INT_MAX ||
          !msg->ParseFromArray(frame.data() + pos, static_cast<int>(len)) ||
          !convert(*msg, out.emplace_back())) {
        out.resize(first);
        return decode_status::malformed;
      }
      pos += len;
    }
    return decode_status::ok;
  }

  size_t next_command_size(std::string_view batch) const override {
    size_t pos = 0;
    uint64_t len = 0;
    if (!get_varint(batch, pos, len) || len > batch.size() - pos) return 0;
    return pos + static_cast<size_t>(len);
  }

  void encode_reply(const reply& r, std::string& out) const override {
    Arena arena(arena_block, arena_block_size);
    auto* m = Arena::CreateMessage<pb::Reply>(&arena);
    m->set_id(r.id);
    if (r.error) {
      auto* e = m->mutable_error();
      e->set_code(r.error->code);
      e->set_message(r.error->message);
      e->set_temporary(r.error->temporary);
    } else {
      fill_result(m, r);
    }
    append_framed(*m, out);
  }

  void encode_ping(std::string& out) const override { out.push_back('\0'); }

  void encode_pub_push(std::string_view channel, const publication& pub, std::string_view data,
                       pub_encoding how, push_envelope env, std::string& out) const override {
    Arena arena(arena_block, arena_block_size);
    push_frame f = new_push(arena, env, channel);
    auto* p = f.push->mutable_pub();
    fill(p, pub, data, how.patch, how.epoch);
    if (!how.channel.empty()) p->set_channel(std::string(how.channel));
    append_framed(*f.root, out);
  }

  void encode_join_push(std::string_view channel, const client_info& info, push_envelope env,
                        std::string& out) const override {
    Arena arena(arena_block, arena_block_size);
    push_frame f = new_push(arena, env, channel);
    fill(f.push->mutable_join()->mutable_info(), info);
    append_framed(*f.root, out);
  }

  void encode_leave_push(std::string_view channel, const client_info& info, push_envelope env,
                         std::string& out) const override {
    Arena arena(arena_block, arena_block_size);
    push_frame f = new_push(arena, env, channel);
    fill(f.push->mutable_leave()->mutable_info(), info);
    append_framed(*f.root, out);
  }

  void encode_unsubscribe_push(std::string_view channel, uint32_t code, std::string_view reason,
                               push_envelope env, std::string& out) const override {
    Arena arena(arena_block, arena_block_size);
    push_frame f = new_push(arena, env, channel);
    auto* u = f.push->mutable_unsubscribe();
    u->set_code(code);
    if (!reason.empty()) u->set_reason(reason.data(), reason.size());
    append_framed(*f.root, out);
  }

  void encode_message_push(std::string_view data, push_envelope env,
                           std::string& out) const override {
    Arena arena(arena_block, arena_block_size);
    push_frame f = new_push(arena, env, {});
    auto* m = f.push->mutable_message();
    if (!data.empty()) m->set_data(data.data(), data.size());
    append_framed(*f.root, out);
  }

  void encode_subscribe_push(std::string_view channel, const subscribe_push& sub, push_envelope env,
                             std::string& out) const override {
    Arena arena(arena_block, arena_block_size);
    push_frame f = new_push(arena, env, channel);
    auto* s = f.push->mutable_subscribe();
    s->set_recoverable(sub.recoverable);
    s->set_epoch(sub.epoch);
    s->set_offset(sub.offset);
    s->set_positioned(sub.positioned);
    s->set_data(sub.data);
    append_framed(*f.root, out);
  }

  void encode_disconnect_push(uint32_t code, std::string_view reason, push_envelope env,
                              std::string& out) const override {
    Arena arena(arena_block, arena_block_size);
    push_frame f = new_push(arena, env, {});
    auto* d = f.push->mutable_disconnect();
    d->set_code(code);
    if (!reason.empty()) d->set_reason(reason.data(), reason.size());
    append_framed(*f.root, out);
  }

  void encode_refresh_push(bool expires, uint32_t ttl, push_envelope env,
                           std::string& out) const override {
    Arena arena(arena_block, arena_block_size);
    push_frame f = new_push(arena, env, {});
    auto* r = f.push->mutable_refresh();
    r->set_expires(expires);
    r->set_ttl(ttl);
    append_framed(*f.root, out);
  }

  void encode_connect_push(const connect_result& c, push_envelope env,
                           std::string& out) const override {
    Arena arena(arena_block, arena_block_size);
    push_frame f = new_push(arena, env, {});
    fill(f.push->mutable_connect(), c);
    append_framed(*f.root, out);
  }
};

}  // namespace

const codec& protobuf_codec() {
  static const protobuf_codec_impl instance;
  return instance;
}

}  // namespace gyre::protocol
