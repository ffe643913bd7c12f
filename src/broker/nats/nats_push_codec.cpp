// nats_push_codec: see the header.
#include "broker/nats/nats_push_codec.hpp"

#include <algorithm>

#include "protocol/client.pb.h"

namespace gyre::nats_push {
namespace {

constexpr std::string_view epoch_tag = "__centrifugo_epoch";

void info_to_proto(const client_info& info, centrifugal::centrifuge::protocol::ClientInfo* out) {
  out->set_user(info.user);
  out->set_client(info.client);
  if (!info.conn_info.empty()) out->set_conn_info(info.conn_info);
  if (!info.chan_info.empty()) out->set_chan_info(info.chan_info);
}

client_info info_from_proto(const centrifugal::centrifuge::protocol::ClientInfo& in) {
  return client_info{in.user(), in.client(), in.conn_info(), in.chan_info()};
}

std::string serialize(const centrifugal::centrifuge::protocol::Push& push) {
  std::string out;
  push.SerializeToString(&out);
  return out;
}

}  // namespace

std::string encode_publication(std::string_view channel, const publication& pub, bool use_delta) {
  centrifugal::centrifuge::protocol::Push push;
  push.set_channel(std::string(channel));
  auto* p = push.mutable_pub();
  p->set_data(pub.data);
  if (pub.info) info_to_proto(*pub.info, p->mutable_info());
  auto& tags = *p->mutable_tags();
  for (const auto& [k, v] : pub.tags) tags[k] = v;
  p->set_delta(use_delta);
  p->set_time(pub.time);
  return serialize(push);
}

std::string encode_join(std::string_view channel, const client_info& info) {
  centrifugal::centrifuge::protocol::Push push;
  push.set_channel(std::string(channel));
  info_to_proto(info, push.mutable_join()->mutable_info());
  return serialize(push);
}

std::string encode_leave(std::string_view channel, const client_info& info) {
  centrifugal::centrifuge::protocol::Push push;
  push.set_channel(std::string(channel));
  info_to_proto(info, push.mutable_leave()->mutable_info());
  return serialize(push);
}

std::optional<decoded> decode(std::string_view bytes) {
  centrifugal::centrifuge::protocol::Push push;
  if (!push.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  decoded out;
  out.channel = push.channel();
  if (push.has_pub()) {
    const auto& p = push.pub();
    out.what = kind::publication;
    out.pub.data = p.data();
    if (p.has_info()) out.pub.info = info_from_proto(p.info());
    out.pub.tags.reserve(static_cast<size_t>(p.tags_size()));
    for (const auto& [k, v] : p.tags()) {
      if (p.offset() > 0 && k == epoch_tag) {
        out.epoch = v;
        continue;
      }
      out.pub.tags.emplace_back(k, v);
    }
    std::sort(out.pub.tags.begin(), out.pub.tags.end());
    out.pub.offset = p.offset();
    out.pub.time = p.time();
    out.use_delta = p.delta();
    return out;
  }
  if (push.has_join()) {
    out.what = kind::join;
    out.info = info_from_proto(push.join().info());
    return out;
  }
  if (push.has_leave()) {
    out.what = kind::leave;
    out.info = info_from_proto(push.leave().info());
    return out;
  }
  return std::nullopt;
}

}  // namespace gyre::nats_push
