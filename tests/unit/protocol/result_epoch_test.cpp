// Publication.epoch inside history and subscribe results, in both codecs: written on the
// publication with offset 1 when the result says so (epoch_on_first, the memory engine's
// behaviour in Centrifugo), never on any other publication, never without the flag.
#include "protocol/codec.hpp"

#include <gtest/gtest.h>

#include <string>

#include "protocol/client.pb.h"

namespace gyre::protocol {
namespace {

namespace pb = centrifugal::centrifuge::protocol;

publication pub(uint64_t offset) {
  publication p;
  p.offset = offset;
  p.data = "{\"n\":" + std::to_string(offset) + "}";
  return p;
}

std::string json_of(const reply& r) {
  std::string out;
  json_codec().encode_reply(r, out);
  return out;
}

pb::Reply pb_of(const reply& r) {
  std::string out;
  protobuf_codec().encode_reply(r, out);
  // One framed message: a one-byte varint length for these small replies.
  EXPECT_LT(static_cast<uint8_t>(out[0]), 0x80);
  pb::Reply m;
  EXPECT_TRUE(m.ParseFromString(out.substr(1)));
  return m;
}

reply history_reply(bool flag) {
  history_result h;
  h.publications = {pub(1), pub(2)};
  h.epoch = "EP";
  h.offset = 2;
  h.epoch_on_first = flag;
  reply r;
  r.id = 7;
  r.result = h;
  return r;
}

reply subscribe_reply(bool flag, uint64_t first) {
  subscribe_result s;
  s.recoverable = s.positioned = s.recovered = s.was_recovering = true;
  s.publications = {pub(first), pub(first + 1)};
  s.epoch = "EP";
  s.offset = first + 1;
  s.epoch_on_first = flag;
  reply r;
  r.id = 3;
  r.result = s;
  return r;
}

TEST(result_epoch, json_history_writes_epoch_on_offset_one_only) {
  EXPECT_EQ(json_of(history_reply(true)),
            R"({"id":7,"history":{"publications":[{"data":{"n":1},"offset":1,"epoch":"EP"},)"
            R"({"data":{"n":2},"offset":2}],"epoch":"EP","offset":2}})"
            "\n");
  EXPECT_EQ(json_of(history_reply(false)).find("\"offset\":1,\"epoch\""), std::string::npos);
}

TEST(result_epoch, protobuf_history_writes_epoch_on_offset_one_only) {
  pb::Reply m = pb_of(history_reply(true));
  ASSERT_EQ(m.history().publications_size(), 2);
  EXPECT_EQ(m.history().publications(0).epoch(), "EP");
  EXPECT_EQ(m.history().publications(1).epoch(), "");
  EXPECT_EQ(pb_of(history_reply(false)).history().publications(0).epoch(), "");
}

TEST(result_epoch, subscribe_result_recovered_publications) {
  std::string with = json_of(subscribe_reply(true, 1));
  EXPECT_NE(with.find(R"({"data":{"n":1},"offset":1,"epoch":"EP"})"), std::string::npos) << with;
  EXPECT_NE(with.find(R"({"data":{"n":2},"offset":2})"), std::string::npos) << with;
  // Not offset 1: no publication carries the epoch.
  std::string later = json_of(subscribe_reply(true, 5));
  EXPECT_EQ(later.find("\"offset\":5,\"epoch\""), std::string::npos) << later;
  pb::Reply m = pb_of(subscribe_reply(true, 1));
  ASSERT_EQ(m.subscribe().publications_size(), 2);
  EXPECT_EQ(m.subscribe().publications(0).epoch(), "EP");
  EXPECT_EQ(m.subscribe().publications(1).epoch(), "");
  EXPECT_EQ(pb_of(subscribe_reply(false, 1)).subscribe().publications(0).epoch(), "");
}

}  // namespace
}  // namespace gyre::protocol
