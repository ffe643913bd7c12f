// publication_data_format rules as Centrifugo applies them to client publishes and the
// server API: "" needs data, json needs one valid JSON value, json_object a JSON value
// that starts with '{' and ends with '}' after whitespace, binary accepts anything.
#include "protocol/data_format.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gyre::protocol {
namespace {

TEST(data_format, default_format_needs_non_empty_data) {
  EXPECT_FALSE(publication_data_valid("", ""));
  EXPECT_TRUE(publication_data_valid("", "{\"a\":"));  // not checked as JSON
  EXPECT_TRUE(publication_data_valid("", std::string("\0\1", 2)));
}

TEST(data_format, binary_accepts_anything) {
  EXPECT_TRUE(publication_data_valid("binary", ""));
  EXPECT_TRUE(publication_data_valid("binary", "\xff\xfe"));
}

TEST(data_format, json_needs_one_valid_value) {
  for (const char* ok : {"1", "\"s\"", "null", "[1,2]", "{}", " {\"a\":1} ", "\n[]\t", "true"})
    EXPECT_TRUE(publication_data_valid("json", ok)) << ok;
  for (const char* bad : {"", " ", "{\"a\":", "{\"a\":1}x", "{} {}", "nul", "'s'", "{a:1}", "[1,]"})
    EXPECT_FALSE(publication_data_valid("json", bad)) << bad;
  EXPECT_FALSE(publication_data_valid("json", "\"\xff\""));  // invalid UTF-8 in a string
}

TEST(data_format, json_numbers_follow_the_grammar_not_the_range_of_a_double) {
  // Go's json.Valid accepts any number the grammar allows; simdjson alone refuses these.
  for (const char* ok : {"1e400", "[123456789012345678901234567890]", "{\"a\":-1.5E+999}",
                         "[1e400, \"1e400\", 2]", "[\"\\\"\", 1e400]"})
    EXPECT_TRUE(publication_data_valid("json", ok)) << ok;
  for (const char* bad :
       {"0.", "01", "[-]", "1e", "[1e400,]", "1e400x", "[1.e5]", "+1", "[1e400 2]"})
    EXPECT_FALSE(publication_data_valid("json", bad)) << bad;
  EXPECT_TRUE(publication_data_valid("json_object", "{\"big\":1e400}"));
}

TEST(data_format, json_object_accepts_surrounding_whitespace_and_refuses_invalid_json) {
  for (const char* ok : {"{}", " {\"a\":1}", "\r\n\t{\"a\":[1]} \n"})
    EXPECT_TRUE(publication_data_valid("json_object", ok)) << ok;
  for (const char* bad : {"", "[]", "1", "\"{}\"", "{\"a\":", "{\"a\":1}}", "{ \"a\" }", " null"})
    EXPECT_FALSE(publication_data_valid("json_object", bad)) << bad;
}

TEST(data_format, repeated_checks_of_growing_and_shrinking_data_stay_correct) {
  // The per-thread parser reuses its buffers; a large value then a small one must not
  // see leftovers of the first.
  std::string big = "[";
  for (int i = 0; i < 5000; ++i) big += "1,";
  big += "1]";
  EXPECT_TRUE(publication_data_valid("json", big));
  EXPECT_FALSE(publication_data_valid("json", "[1"));
  EXPECT_TRUE(publication_data_valid("json", "[1]"));
  // Beyond the kept size the buffers are freed after the check: later checks still work.
  std::string huge = "[";
  for (int i = 0; i < 600000; ++i) huge += "1,";
  huge += "1e400]";
  EXPECT_TRUE(publication_data_valid("json", huge));
  huge.back() = ',';
  EXPECT_FALSE(publication_data_valid("json", huge));
  EXPECT_TRUE(publication_data_valid("json_object", " {\"a\":1e400} "));
}

}  // namespace
}  // namespace gyre::protocol
