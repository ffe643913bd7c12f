// pb_wire: the generated classes of client.proto behind a byte interface; see pb_wire.hpp.
#include "broker/pb_wire.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <climits>

#include "broker/pb_wire_proto.hpp"

namespace gyre::pb_wire {

void to_proto(const client_info& info, proto::ClientInfo& out) {
  out.set_user(info.user);
  out.set_client(info.client);
  out.set_conn_info(info.conn_info);
  out.set_chan_info(info.chan_info);
}

void to_proto(const publication& pub, bool delta, proto::Publication& out) {
  out.set_data(pub.data);
  if (pub.info) to_proto(*pub.info, *out.mutable_info());
  out.set_offset(pub.offset);
  auto& tags = *out.mutable_tags();
  for (const auto& [k, v] : pub.tags) tags[k] = v;
  out.set_delta(delta);
  out.set_time(pub.time);
}

client_info from_proto(proto::ClientInfo&& in) {
  return client_info{std::move(*in.mutable_user()), std::move(*in.mutable_client()),
                     std::move(*in.mutable_conn_info()), std::move(*in.mutable_chan_info())};
}

publication from_proto(proto::Publication&& in) {
  publication out;
  out.offset = in.offset();
  out.data = std::move(*in.mutable_data());
  if (in.has_info()) out.info = from_proto(std::move(*in.mutable_info()));
  out.tags.reserve(static_cast<size_t>(in.tags_size()));
  for (auto& [k, v] : *in.mutable_tags()) out.tags.emplace_back(k, std::move(v));
  std::sort(out.tags.begin(), out.tags.end());
  out.delta = in.delta();
  out.time = in.time();
  return out;
}

void serialize(const google::protobuf::MessageLite& m, std::string& out) {
  out.reserve(out.size() + m.ByteSizeLong());  // also caches the sizes written below
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeWithCachedSizes(&coded);
}

bool parse(std::string_view in, google::protobuf::MessageLite& m) {
  return in.size() <= static_cast<size_t>(INT_MAX) &&
         m.ParseFromArray(in.data(), static_cast<int>(in.size()));
}

void encode_client_info(std::string& out, const client_info& info) {
  proto::ClientInfo m;
  to_proto(info, m);
  serialize(m, out);
}

std::string encode_client_info(const client_info& info) {
  std::string out;
  encode_client_info(out, info);
  return out;
}

bool decode_client_info(std::string_view in, client_info& out) {
  proto::ClientInfo m;
  if (!parse(in, m)) return false;
  out = from_proto(std::move(m));
  return true;
}

std::string encode_publication(const publication& pub, bool delta) {
  proto::Publication m;
  to_proto(pub, delta, m);
  std::string out;
  serialize(m, out);
  return out;
}

bool decode_publication(std::string_view in, publication& out) {
  proto::Publication m;
  if (!parse(in, m)) return false;
  out = from_proto(std::move(m));
  return true;
}

bool decode_publication_data(std::string_view in, std::string& data) {
  proto::Publication m;
  if (!parse(in, m)) return false;
  data = std::move(*m.mutable_data());
  return true;
}

}  // namespace gyre::pb_wire
