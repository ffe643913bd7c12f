// pb_wire: the bytes of a publication and a client info between nodes are client.proto's
// Publication and ClientInfo, byte for byte what a Centrifugo node writes and reads (field
// numbers and wire types written out by hand below); the reader accepts and refuses what
// libprotobuf does (but UTF-8), and round trips keep values.
#include "broker/pb_wire.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gyre::pb_wire {
namespace {

using namespace std::string_literals;

// A length-delimited field: tag (field << 3 | 2), one-byte length, bytes.
std::string field(int number, const std::string& bytes) {
  return std::string(1, static_cast<char>(number << 3 | 2)) +
         std::string(1, static_cast<char>(bytes.size())) + bytes;
}

const client_info alice{"42", "c0ffee", R"({"name":"a"})", R"({"x":1})"};
const std::string alice_bytes =
    field(1, "42") + field(2, "c0ffee") + field(3, R"({"name":"a"})") + field(4, R"({"x":1})");

TEST(pb_wire, client_info_is_client_proto_client_info) {
  EXPECT_EQ(encode_client_info(alice), alice_bytes);
  std::string appended = "__j__";
  encode_client_info(appended, alice);
  EXPECT_EQ(appended, "__j__" + alice_bytes);
  client_info back;
  ASSERT_TRUE(decode_client_info(alice_bytes, back));
  EXPECT_EQ(back, alice);
  // proto3: empty fields are not written.
  EXPECT_EQ(encode_client_info(client_info{"", "c", "", ""}), field(2, "c"));
}

TEST(pb_wire, publication_is_client_proto_publication) {
  publication p;
  p.data = R"({"text":"hi"})";
  p.info = alice;
  p.offset = 300;  // varint ac 02
  p.tags = {{"kind", "keep"}, {"a", "b"}};
  p.time = 1;
  const std::string expected = field(4, p.data) + field(5, alice_bytes) + "\x30\xac\x02"s +
                               field(7, field(1, "kind") + field(2, "keep")) +
                               field(7, field(1, "a") + field(2, "b")) + "\x40\x01"s + "\x48\x01"s;
  EXPECT_EQ(encode_publication(p, true), expected);
  EXPECT_EQ(encoded_publication_size(p, true), expected.size());

  publication back;
  ASSERT_TRUE(decode_publication(expected, back));
  EXPECT_EQ(back.data, p.data);
  EXPECT_EQ(back.info, p.info);
  EXPECT_EQ(back.offset, 300u);
  EXPECT_EQ(back.tags, p.tags);
  EXPECT_TRUE(back.delta);
  EXPECT_EQ(back.time, 1);
  std::string data;
  ASSERT_TRUE(decode_publication_data(expected, data));
  EXPECT_EQ(data, p.data);

  // An info that is present but empty is still present (a message field).
  publication empty_info;
  empty_info.info = client_info{};
  EXPECT_EQ(encode_publication(empty_info, false), "\x2a\x00"s);
  back = {};
  ASSERT_TRUE(decode_publication("\x2a\x00"s, back));
  EXPECT_TRUE(back.info.has_value());
  back = {};
  ASSERT_TRUE(decode_publication("", back));
  EXPECT_FALSE(back.info.has_value());
}

TEST(pb_wire, reads_what_other_writers_may_write) {
  publication back;
  // Map entries in any order (Go writes them in random order), kept as on the wire.
  const std::string tags = field(7, field(1, "z") + field(2, "1")) +
                           field(7, field(1, "a") + field(2, "2")) + field(7, field(2, "v"));
  ASSERT_TRUE(decode_publication(tags, back));
  EXPECT_EQ(back.tags, (tags_map{{"z", "1"}, {"a", "2"}, {"", "v"}}));
  // Unknown fields of every wire type are skipped, groups included (the reader this one
  // replaced refused groups, which Protobuf readers must skip).
  const std::string unknown = "\x50\x05"s + field(11, "key") + "\x7d\x01\x02\x03\x04"s +
                              "\x79\x01\x02\x03\x04\x05\x06\x07\x08"s +
                              "\xa3\x01\x08\x01\xab\x01\xac\x01\xa4\x01"s + field(4, "data");
  back = {};
  ASSERT_TRUE(decode_publication(unknown, back));
  EXPECT_EQ(back.data, "data");
  // A known field number with another wire type is an unknown field, not an error.
  back = {};
  ASSERT_TRUE(decode_publication("\x20\x05"s + field(4, "d"), back));
  EXPECT_EQ(back.data, "d");
  // A repeated message field merges; a repeated scalar field: the last wins.
  back = {};
  ASSERT_TRUE(decode_publication(
      field(5, field(1, "u")) + field(5, field(2, "c")) + field(4, "x") + field(4, "y"), back));
  EXPECT_EQ(back.info, (client_info{"u", "c", "", ""}));
  EXPECT_EQ(back.data, "y");
  // A tag in 5 bytes (not minimal) is a tag; invalid UTF-8 in a string field is read as
  // bytes, as Centrifugo's Go reader does.
  back = {};
  ASSERT_TRUE(decode_publication("\xa2\x80\x80\x80\x00\x01z"s, back));
  EXPECT_EQ(back.data, "z");
  client_info i;
  ASSERT_TRUE(decode_client_info(field(1, "\xff\xfe"), i));
  EXPECT_EQ(i.user, "\xff\xfe");
}

TEST(pb_wire, malformed_bytes_are_refused) {
  std::string d;
  for (const std::string& bad : {
           "\x22\x05"
           "ab"s,                                                // truncated bytes
           "\xff"s,                                              // truncated tag
           "\x30"s,                                              // no value
           "\x30\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s,  // 11-byte varint
           "\x00\x01"s,                                          // field number 0
           "\x0c"s,                                              // end-group without start
           "\x0b\x10\x01"s,                                      // group without end
           "\x0b\x14"s,                                          // group ended by another
           "\x0e\x00"s, "\x0f\x00"s,                             // wire types 6, 7
           "\xa2\x80\x80\x80\x80\x00\x01z"s,                     // 6-byte tag
           "\x22\x81\x80\x80\x80\x80\x00z"s,                     // 6-byte length
       }) {
    publication p;
    EXPECT_FALSE(decode_publication(bad, p)) << testing::PrintToString(bad);
    EXPECT_FALSE(decode_publication_data(bad, d)) << testing::PrintToString(bad);
    client_info i;
    EXPECT_FALSE(decode_client_info(bad, i)) << testing::PrintToString(bad);
  }
  // A publication's nested info and tag entries are parsed too.
  for (const std::string& bad : {"\x2a\x02\x0a\x05"s, "\x3a\x03\x0a\x05x"s}) {
    publication p;
    EXPECT_FALSE(decode_publication(bad, p)) << testing::PrintToString(bad);
  }
  // Groups nest at most 100 deep, as libprotobuf's recursion limit.
  std::string nested;
  for (int i = 0; i < 101; ++i) nested += "\x0b";
  for (int i = 0; i < 101; ++i) nested += "\x0c";
  publication p;
  EXPECT_FALSE(decode_publication(nested, p));
  EXPECT_TRUE(decode_publication(nested.substr(1, 200), p));
  // The limit is shared with message nesting: in the info of a publication, 99 levels.
  auto in_info = [](int levels) {
    std::string groups = std::string(levels, '\x0b') + std::string(levels, '\x0c');
    return "\x2a"s + static_cast<char>(0x80 | (groups.size() & 0x7f)) +
           static_cast<char>(groups.size() >> 7) + groups;
  };
  EXPECT_TRUE(decode_publication(in_info(99), p));
  EXPECT_FALSE(decode_publication(in_info(100), p));
  client_info i;
  EXPECT_TRUE(decode_client_info(in_info(100).substr(3), i));
}

TEST(pb_wire, many_groups_in_a_row_do_not_recurse) {
  std::string groups;
  for (int i = 0; i < 200000; ++i) groups += "\x0b\x0c";
  publication p;
  EXPECT_TRUE(decode_publication(groups + field(4, "end"), p));
  EXPECT_EQ(p.data, "end");
}

TEST(pb_wire, round_trips_keep_values_and_bytes) {
  publication p;
  p.data = std::string("\0\xff{}", 4);
  p.info = client_info{"user", "client", "", std::string(300, 'i')};  // 2-byte length
  p.offset = ~uint64_t{0};
  p.tags = {{"b", ""}, {"a", "x"}, {"b", "y"}};
  p.time = -1;  // int64 on the wire: 10 bytes
  for (bool delta : {false, true}) {
    const std::string bytes = encode_publication(p, delta);
    EXPECT_EQ(encoded_publication_size(p, delta), bytes.size());
    publication back;
    ASSERT_TRUE(decode_publication(bytes, back));
    publication want = p;
    want.delta = delta;
    EXPECT_EQ(back, want);
    EXPECT_EQ(encode_publication(back, delta), bytes);
  }
}

}  // namespace
}  // namespace gyre::pb_wire
