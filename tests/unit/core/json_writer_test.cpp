#include "core/json_writer.hpp"

#include <gtest/gtest.h>

namespace gyre {
namespace {

TEST(json_writer, writes_nested_objects_with_commas) {
  std::string out;
  json_writer w(out);
  w.begin_object().member("a", uint64_t{1}).key("b").begin_array().value(true).null().end_array();
  w.member("c", "x").key("d").begin_object().end_object().end_object();
  EXPECT_EQ(out, R"({"a":1,"b":[true,null],"c":"x","d":{}})");
}

TEST(json_writer, escapes_strings) {
  std::string out;
  json_writer w(out);
  w.string("q\"b\\n\n\t\x01");
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\n\\t\\u0001\"");
}

TEST(json_writer, replaces_invalid_utf8_and_escapes_line_separators) {
  std::string out;
  json_writer w(out);
  w.string(
      "a\xff"
      "b\xe2\x80\xa8"
      "c\xc3\xa9");
  EXPECT_EQ(out, "\"a\\ufffdb\\u2028c\xc3\xa9\"");
}

TEST(json_writer, raw_strips_newlines_and_empty_becomes_null) {
  std::string out;
  json_writer w(out);
  w.begin_array().raw("{\n \"a\": 1\r\n}").raw("").end_array();
  EXPECT_EQ(out, "[{ \"a\": 1},null]");
}

TEST(json_writer, numbers) {
  std::string out;
  json_writer w(out);
  w.begin_array()
      .value(int64_t{-5})
      .value(uint64_t{18446744073709551615ull})
      .value(1.5)
      .end_array();
  EXPECT_EQ(out, "[-5,18446744073709551615,1.5]");
}

}  // namespace
}  // namespace gyre
