// libFuzzer target for the Protobuf reader of the brokers (broker/pb_wire.hpp): the
// publications and client infos the Redis engine reads from streams, lists, PUB/SUB
// messages and presence hashes, written by Gyre or Centrifugo nodes (or anything else that
// can write to that Redis), and the NATS Push around them (nats_push_codec.hpp).
// The input is the stored bytes, read as each of the three messages.
// Oracles beyond "no crash, no sanitizer report":
//   - round trip: what decodes, encoded again, decodes to the same value, and encoding is
//     stable (encode(decode(encode(x))) == encode(x)); encoded_publication_size is exact;
//   - decode_publication_data reads the same `data` as decode_publication;
//   - a client info decodes the same alone and nested in a publication (field 5);
//   - agreement with the classes generated from client.proto (the definition of the wire):
//     both accept the same inputs, except invalid UTF-8 in `string` fields, which pb_wire
//     reads as bytes like Centrifugo, and read the same values (run on the Redis engine's
//     earlier reader, this found it refusing groups and accepting field number 0).
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "broker/nats/nats_push_codec.hpp"
#include "broker/pb_wire.hpp"
#include "core/utf8.hpp"
#include "protocol/client.pb.h"

namespace pb = gyre::pb_wire;
namespace proto = centrifugal::centrifuge::protocol;

namespace {

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

gyre::client_info from_proto(const proto::ClientInfo& m) {
  return {m.user(), m.client(), m.conn_info(), m.chan_info()};
}

bool utf8(const std::string& s) {
  return gyre::is_valid_utf8(s);
}

// Whether every length-delimited field that client.proto declares `string` is UTF-8 in
// `in` (libprotobuf refuses the message otherwise): ClientInfo 1, 2; Publication 10
// (channel), 11 (key), 14 (epoch); map entries 1, 2; nested messages followed.
enum class msg { client_info, publication, tag_entry };

bool strings_utf8(std::string_view in, msg m) {
  pb::field_reader r(in);
  pb::field_reader::field f;
  while (r.next(f)) {
    if (f.type != pb::length) continue;
    const std::string s(f.bytes);
    switch (m) {
      case msg::client_info:
      case msg::tag_entry:
        if ((f.number == 1 || f.number == 2) && !utf8(s)) return false;
        break;
      case msg::publication:
        if ((f.number == 10 || f.number == 11 || f.number == 14) && !utf8(s)) return false;
        if (f.number == 5 && !strings_utf8(f.bytes, msg::client_info)) return false;
        if (f.number == 7 && !strings_utf8(f.bytes, msg::tag_entry)) return false;
        break;
    }
  }
  return true;
}

// Tags as a protobuf map reads them: the last value of a key wins; sorted.
gyre::tags_map as_map(const gyre::tags_map& tags) {
  gyre::tags_map out;
  for (auto it = tags.rbegin(); it != tags.rend(); ++it)
    if (std::none_of(out.begin(), out.end(), [&](const auto& t) { return t.first == it->first; }))
      out.push_back(*it);
  std::sort(out.begin(), out.end());
  return out;
}

void check_round_trip(const gyre::publication& pub) {
  const std::string again = pb::encode_publication(pub, pub.delta);
  CHECK(pb::encoded_publication_size(pub, pub.delta) == again.size());
  gyre::publication back;
  CHECK(pb::decode_publication(again, back));
  CHECK(back == pub);
  CHECK(pb::encode_publication(back, back.delta) == again);
}

// The same bytes as a NATS Push: values agree with the generated Push when both read it,
// and what decodes re-encodes to a Push that decodes the same.
void check_push(std::string_view in) {
  auto push = gyre::nats_push::decode(in);
  proto::Push ref;
  const bool ref_ok = ref.ParseFromArray(in.data(), static_cast<int>(in.size()));
  if (!push) return;
  if (ref_ok) {
    CHECK(push->channel == ref.channel());
    if (push->what == gyre::nats_push::kind::publication) {
      CHECK(ref.has_pub());
      CHECK(push->pub.data == ref.pub().data() && push->use_delta == ref.pub().delta());
    } else {
      CHECK(!ref.has_pub());
      const auto& info =
          push->what == gyre::nats_push::kind::join ? ref.join().info() : ref.leave().info();
      CHECK(push->info == from_proto(info));
    }
  }
  std::string again;
  switch (push->what) {
    case gyre::nats_push::kind::publication: {
      gyre::publication p = push->pub;
      if (!push->epoch.empty()) p.tags.emplace_back("__centrifugo_epoch", push->epoch);
      const uint64_t offset = p.offset;
      again = gyre::nats_push::encode_publication(push->channel, p, push->use_delta);
      auto back = gyre::nats_push::decode(again);
      CHECK(back && back->what == push->what && back->channel == push->channel);
      CHECK(back->use_delta == push->use_delta && back->pub.offset == 0);
      push->pub.offset = 0;
      if (offset == 0) CHECK(back->pub == push->pub);
      break;
    }
    case gyre::nats_push::kind::join:
    case gyre::nats_push::kind::leave: {
      again = push->what == gyre::nats_push::kind::join
                  ? gyre::nats_push::encode_join(push->channel, push->info)
                  : gyre::nats_push::encode_leave(push->channel, push->info);
      auto back = gyre::nats_push::decode(again);
      CHECK(back && back->what == push->what && back->channel == push->channel &&
            back->info == push->info);
      break;
    }
  }
}

void check_client_info(std::string_view in) {
  gyre::client_info info;
  const bool ok = pb::decode_client_info(in, info);
  proto::ClientInfo ref;
  const bool ref_ok = ref.ParseFromArray(in.data(), static_cast<int>(in.size()));
  if (ok && !ref_ok) CHECK(!strings_utf8(in, msg::client_info));
  if (ref_ok) CHECK(ok);
  if (!ok) return;
  if (ref_ok) CHECK(info == from_proto(ref));

  const std::string again = pb::encode_client_info(info);
  gyre::client_info back;
  CHECK(pb::decode_client_info(again, back));
  CHECK(back == info);
  CHECK(pb::encode_client_info(back) == again);

  // The same bytes as field 5 of a publication: one level deeper, so groups nested up to
  // libprotobuf's recursion limit may now be refused (by both readers).
  std::string nested;
  nested.push_back(static_cast<char>(5 << 3 | 2));
  for (uint64_t n = in.size();; n >>= 7) {
    nested.push_back(static_cast<char>((n & 0x7f) | (n >= 0x80 ? 0x80 : 0)));
    if (n < 0x80) break;
  }
  nested.append(in);
  gyre::publication pub;
  const bool nested_ok = pb::decode_publication(nested, pub);
  proto::Publication nested_ref;
  if (nested_ref.ParseFromString(nested)) CHECK(nested_ok);
  if (nested_ok) CHECK(pub.info && *pub.info == info);
}

void check_publication(std::string_view in) {
  gyre::publication pub;
  const bool ok = pb::decode_publication(in, pub);
  proto::Publication ref;
  const bool ref_ok = ref.ParseFromArray(in.data(), static_cast<int>(in.size()));
  if (ref_ok) CHECK(ok);
  if (ok && !ref_ok) CHECK(!strings_utf8(in, msg::publication));

  std::string data;
  const bool data_ok = pb::decode_publication_data(in, data);
  if (ok) CHECK(data_ok && data == pub.data);
  if (!ok) return;
  check_round_trip(pub);
  if (!ref_ok) return;

  CHECK(pub.data == ref.data());
  CHECK(pub.offset == ref.offset());
  CHECK(pub.delta == ref.delta());
  CHECK(pub.time == ref.time());
  CHECK(pub.info.has_value() == ref.has_info());
  if (pub.info) CHECK(*pub.info == from_proto(ref.info()));
  gyre::tags_map ref_tags(ref.tags().begin(), ref.tags().end());
  std::sort(ref_tags.begin(), ref_tags.end());
  CHECK(as_map(pub.tags) == ref_tags);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // libprotobuf logs every string field with invalid UTF-8; that is expected input here.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_publication(in);
  check_client_info(in);
  check_push(in);
  return 0;
}
