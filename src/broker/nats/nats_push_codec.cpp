// nats_push_codec: the Push envelope around pb_wire's Publication and ClientInfo; see the
// header. Push fields used: 2 channel, 4 pub, 5 join {1 info}, 6 leave {1 info}.
#include "broker/nats/nats_push_codec.hpp"

#include <algorithm>

#include "broker/pb_wire.hpp"

namespace gyre::nats_push {
namespace {

constexpr std::string_view epoch_tag = "__centrifugo_epoch";

constexpr uint32_t push_channel = 2;
constexpr uint32_t push_pub = 4;
constexpr uint32_t push_join = 5;
constexpr uint32_t push_leave = 6;
constexpr uint32_t join_leave_info = 1;

void put_channel(std::string& out, std::string_view channel) {
  if (!channel.empty()) pb_wire::put_length_delimited(out, push_channel, channel);
}

// Push{channel, join|leave: {info}} (the Join/Leave and its info are always present).
std::string encode_presence(std::string_view channel, const client_info& info, uint32_t field) {
  const std::string info_bytes = pb_wire::encode_client_info(info);
  std::string inner;
  pb_wire::put_length_delimited(inner, join_leave_info, info_bytes);
  std::string out;
  out.reserve(channel.size() + inner.size() + 12);
  put_channel(out, channel);
  pb_wire::put_length_delimited(out, field, inner);
  return out;
}

// The `info` of a Join or Leave message; false on malformed bytes.
bool decode_presence(std::string_view in, client_info& info) {
  pb_wire::field_reader r(in, 1);
  pb_wire::field_reader::field f;
  while (r.next(f)) {
    if (f.number == join_leave_info && f.type == pb_wire::length &&
        !pb_wire::decode_client_info(f.bytes, info, 2)) {
      return false;
    }
  }
  return !r.failed();
}

// A protobuf map: the last value of a key wins; then sorted by key.
void as_sorted_map(tags_map& tags) {
  tags_map out;
  out.reserve(tags.size());
  for (auto it = tags.rbegin(); it != tags.rend(); ++it) {
    const bool seen =
        std::any_of(out.begin(), out.end(), [&](const auto& t) { return t.first == it->first; });
    if (!seen) out.push_back(std::move(*it));
  }
  std::sort(out.begin(), out.end());
  tags = std::move(out);
}

}  // namespace

std::string encode_publication(std::string_view channel, const publication& pub, bool use_delta) {
  if (pub.offset != 0) {  // no stream on this path (never the case today)
    publication plain = pub;
    plain.offset = 0;
    return encode_publication(channel, plain, use_delta);
  }
  std::string out;
  out.reserve(channel.size() + pb_wire::encoded_publication_size(pub, use_delta) + 16);
  put_channel(out, channel);
  pb_wire::put_length_header(out, push_pub, pb_wire::encoded_publication_size(pub, use_delta));
  pb_wire::encode_publication(out, pub, use_delta);
  return out;
}

std::string encode_join(std::string_view channel, const client_info& info) {
  return encode_presence(channel, info, push_join);
}

std::string encode_leave(std::string_view channel, const client_info& info) {
  return encode_presence(channel, info, push_leave);
}

std::optional<decoded> decode(std::string_view bytes) {
  decoded out;
  bool pub = false;
  std::optional<client_info> join, leave;  // each merges over repeats, as in libprotobuf
  pb_wire::field_reader r(bytes);
  pb_wire::field_reader::field f;
  while (r.next(f)) {
    if (f.type != pb_wire::length) continue;
    if (f.number == push_channel) {
      out.channel.assign(f.bytes);
    } else if (f.number == push_pub) {
      pub = true;
      if (!pb_wire::decode_publication(f.bytes, out.pub, 1)) return std::nullopt;
    } else if (f.number == push_join || f.number == push_leave) {
      auto& info = f.number == push_join ? join : leave;
      if (!decode_presence(f.bytes, info ? *info : info.emplace())) return std::nullopt;
    }
  }
  if (r.failed()) return std::nullopt;
  if (pub) {
    out.what = kind::publication;
    out.use_delta = out.pub.delta;
    out.pub.delta = false;  // the flag meant use_delta
    as_sorted_map(out.pub.tags);
    if (out.pub.offset > 0) {
      auto it = std::find_if(out.pub.tags.begin(), out.pub.tags.end(),
                             [](const auto& t) { return t.first == epoch_tag; });
      if (it != out.pub.tags.end()) {
        out.epoch = std::move(it->second);
        out.pub.tags.erase(it);
      }
    }
    return out;
  }
  if (join || leave) {
    out.what = join ? kind::join : kind::leave;
    out.info = std::move(join ? *join : *leave);
    return out;
  }
  return std::nullopt;
}

}  // namespace gyre::nats_push
