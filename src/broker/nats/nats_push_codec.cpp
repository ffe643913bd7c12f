// nats_push_codec: the Push envelope around pb_wire's Publication and ClientInfo; see the
// header.
#include "broker/nats/nats_push_codec.hpp"

#include <algorithm>

#include "broker/pb_wire_proto.hpp"

namespace gyre::nats_push {
namespace {

using namespace gyre::pb_wire;

constexpr std::string_view epoch_tag = "__centrifugo_epoch";

std::string serialize_push(const proto::Push& push) {
  std::string out;
  pb_wire::serialize(push, out);
  return out;
}

}  // namespace

std::string encode_publication(std::string_view channel, const publication& pub, bool use_delta) {
  proto::Push push;
  push.set_channel(std::string(channel));
  to_proto(pub, use_delta, *push.mutable_pub());
  push.mutable_pub()->clear_offset();  // no stream on this path
  return serialize_push(push);
}

std::string encode_join(std::string_view channel, const client_info& info) {
  proto::Push push;
  push.set_channel(std::string(channel));
  to_proto(info, *push.mutable_join()->mutable_info());
  return serialize_push(push);
}

std::string encode_leave(std::string_view channel, const client_info& info) {
  proto::Push push;
  push.set_channel(std::string(channel));
  to_proto(info, *push.mutable_leave()->mutable_info());
  return serialize_push(push);
}

std::optional<decoded> decode(std::string_view bytes) {
  proto::Push push;
  if (!pb_wire::parse(bytes, push)) return std::nullopt;
  decoded out;
  out.channel = std::move(*push.mutable_channel());
  if (push.has_pub()) {
    out.what = kind::publication;
    out.use_delta = push.pub().delta();
    out.pub = from_proto(std::move(*push.mutable_pub()));
    out.pub.delta = false;  // the flag meant use_delta
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
  if (push.has_join()) {
    out.what = kind::join;
    out.info = from_proto(std::move(*push.mutable_join()->mutable_info()));
    return out;
  }
  if (push.has_leave()) {
    out.what = kind::leave;
    out.info = from_proto(std::move(*push.mutable_leave()->mutable_info()));
    return out;
  }
  return std::nullopt;
}

}  // namespace gyre::nats_push
