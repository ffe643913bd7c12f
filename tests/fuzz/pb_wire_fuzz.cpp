// libFuzzer target for the Protobuf reader of the brokers (broker/pb_wire.hpp): the
// publications and client infos the Redis engine reads from streams, lists, PUB/SUB
// messages and presence hashes, written by Gyre or Centrifugo nodes (or anything else that
// can write to that Redis); the NATS broker reads the same messages inside a Push.
// The input is the stored bytes.
// Oracles beyond "no crash, no sanitizer report":
//   - round trip: what decodes, encoded again, decodes to the same value, and encoding is
//     stable (encode(decode(encode(x))) == encode(x));
//   - decode_publication_data reads the same `data` as decode_publication;
//   - a client info decodes the same alone and nested in a publication (field 5);
//   - agreement with the generated classes of client.proto (the definition of the wire):
//     both accept the same inputs and read the same values (this found the hand-written
//     reader pb_wire replaced refusing groups and accepting invalid UTF-8).
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "broker/pb_wire.hpp"
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

void check_client_info(std::string_view in) {
  gyre::client_info info;
  const bool ok = pb::decode_client_info(in, info);
  proto::ClientInfo ref;
  const bool ref_ok = ref.ParseFromArray(in.data(), static_cast<int>(in.size()));
  CHECK(ok == ref_ok);
  if (!ok) return;
  CHECK(info == from_proto(ref));

  const std::string again = pb::encode_client_info(info);
  gyre::client_info back;
  CHECK(pb::decode_client_info(again, back));
  CHECK(back == info);
  CHECK(pb::encode_client_info(back) == again);

  // The same bytes as field 5 of a publication.
  std::string nested;
  nested.push_back(static_cast<char>(5 << 3 | 2));
  for (uint64_t n = in.size();; n >>= 7) {
    nested.push_back(static_cast<char>((n & 0x7f) | (n >= 0x80 ? 0x80 : 0)));
    if (n < 0x80) break;
  }
  nested.append(in);
  gyre::publication pub;
  CHECK(pb::decode_publication(nested, pub));
  CHECK(pub.info && *pub.info == info);
}

void check_publication(std::string_view in) {
  gyre::publication pub;
  const bool ok = pb::decode_publication(in, pub);
  proto::Publication ref;
  const bool ref_ok = ref.ParseFromArray(in.data(), static_cast<int>(in.size()));
  CHECK(ok == ref_ok);

  std::string data;
  const bool data_ok = pb::decode_publication_data(in, data);
  if (ok) CHECK(data_ok && data == pub.data);
  if (!ok) return;

  CHECK(pub.data == ref.data());
  CHECK(pub.offset == ref.offset());
  CHECK(pub.delta == ref.delta());
  CHECK(pub.time == ref.time());
  CHECK(pub.info.has_value() == ref.has_info());
  if (pub.info) CHECK(*pub.info == from_proto(ref.info()));
  // A map has no order and its last duplicate key wins.
  gyre::tags_map ref_tags(ref.tags().begin(), ref.tags().end());
  std::sort(ref_tags.begin(), ref_tags.end());
  gyre::tags_map tags;
  for (auto it = pub.tags.rbegin(); it != pub.tags.rend(); ++it)
    if (std::none_of(tags.begin(), tags.end(), [&](const auto& t) { return t.first == it->first; }))
      tags.push_back(*it);
  std::sort(tags.begin(), tags.end());
  CHECK(tags == ref_tags);

  const std::string again = pb::encode_publication(pub, pub.delta);
  gyre::publication back;
  CHECK(pb::decode_publication(again, back));
  CHECK(back == pub);
  CHECK(pb::encode_publication(back, back.delta) == again);
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
  return 0;
}
