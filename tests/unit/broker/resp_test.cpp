// resp: the reply reader and the command encoder of the Redis engine, without a server:
// every reply type, input split at every position, protocol errors and reset, and memory
// that follows the bytes received rather than the sizes a reply claims.
#include "broker/redis/resp.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <functional>
#include <string>
#include <vector>

namespace gyre::redis {
namespace {

using namespace std::string_literals;

// Every reply readable from `wire` fed in the given pieces; "ERR" appended on an error.
std::vector<std::string> read_all(const std::vector<std::string_view>& pieces) {
  reply_reader r;
  std::vector<std::string> out;
  std::function<std::string(const reply&)> show = [&](const reply& x) -> std::string {
    switch (x.type) {
      case reply::kind::nil:
        return "nil";
      case reply::kind::integer:
        return "i" + std::to_string(x.integer);
      case reply::kind::string:
        return "s" + x.str;
      case reply::kind::status:
        return "+" + x.str;
      case reply::kind::error:
        return "-" + x.str;
      case reply::kind::array: {
        std::string s = "[";
        for (const reply& e : x.elements) s += show(e) + ",";
        return s + "]";
      }
      case reply::kind::failure:
        return "failure";
    }
    return "?";
  };
  for (std::string_view p : pieces) {
    r.feed(p.data(), p.size());
    std::string error;
    while (auto rep = r.next(error)) out.push_back(show(*rep));
    if (!error.empty()) {
      out.push_back("ERR");
      break;
    }
  }
  return out;
}

const std::string wire =
    "+OK\r\n-ERR wrong\r\n:-42\r\n$5\r\nhe\r\no\r\n$-1\r\n*-1\r\n*0\r\n"
    "*3\r\n$7\r\nmessage\r\n*2\r\n:1\r\n$0\r\n\r\n$-1\r\n";
const std::vector<std::string> expected = {"+OK", "-ERR wrong", "i-42", "she\r\no",
                                           "nil", "nil",        "[]",   "[smessage,[i1,s,],nil,]"};

TEST(resp_reader, every_reply_type) {
  EXPECT_EQ(read_all({wire}), expected);
}

TEST(resp_reader, split_at_every_position_and_pair_of_positions) {
  const std::string_view w = wire;
  for (size_t i = 0; i <= w.size(); ++i) {
    EXPECT_EQ(read_all({w.substr(0, i), w.substr(i)}), expected) << i;
    for (size_t j = i; j <= w.size(); j += 7)
      EXPECT_EQ(read_all({w.substr(0, i), w.substr(i, j - i), w.substr(j)}), expected) << i << j;
  }
}

TEST(resp_reader, protocol_errors_and_reset) {
  EXPECT_EQ(read_all({"+OK\r\n?what\r\n:1\r\n"}), (std::vector<std::string>{"+OK", "ERR"}));
  // hiredis reads arrays nested at most 7 deep.
  std::string deep;
  for (int i = 0; i < 9; ++i) deep += "*1\r\n";
  EXPECT_EQ(read_all({deep + ":1\r\n"}), (std::vector<std::string>{"ERR"}));

  reply_reader r;
  std::string error;
  r.feed("!\r\n", 3);
  EXPECT_FALSE(r.next(error).has_value());
  EXPECT_FALSE(error.empty());
  r.reset();
  r.feed("+PONG\r\n", 7);
  error.clear();
  auto rep = r.next(error);
  ASSERT_TRUE(rep.has_value()) << error;
  EXPECT_EQ(rep->text(), "PONG");
}

size_t heap_bytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// A reply's header is a claim of the sender: `*2147483647\r\n` (13 bytes) made hiredis'
// default reply objects allocate 16 GiB of element pointers up front (found by
// tests/fuzz/resp_fuzz.cpp). Memory must follow the bytes actually received.
TEST(resp_reader, a_claimed_array_size_is_not_allocated_up_front) {
  reply_reader r;
  const size_t before = heap_bytes();
  const std::string claims = "*2147483647\r\n:1\r\n*2\r\n*2147483647\r\n$3\r\nabc\r\n";
  r.feed(claims.data(), claims.size());
  std::string error;
  EXPECT_FALSE(r.next(error).has_value());
  EXPECT_TRUE(error.empty()) << error;
  const size_t grown = heap_bytes() - before;
  EXPECT_LT(grown, size_t{1} << 20) << "bytes allocated for a 45-byte input";
}

TEST(resp_reader, a_large_array_grows_as_it_arrives) {
  reply_reader r;
  const int n = 100000;
  std::string w = "*" + std::to_string(n) + "\r\n";
  for (int i = 0; i < n; ++i) w += ":" + std::to_string(i) + "\r\n";
  r.feed(w.data(), w.size());
  std::string error;
  auto rep = r.next(error);
  ASSERT_TRUE(rep.has_value()) << error;
  ASSERT_EQ(rep->elements.size(), static_cast<size_t>(n));
  EXPECT_EQ(rep->elements[n - 1].integer, n - 1);
}

TEST(resp_encode, commands_read_back_as_arrays_of_bulk_strings) {
  const std::vector<std::string> args = {"XADD", "", std::string("\0\r\n", 3), "x"};
  const std::string cmd = encode_command(args);
  EXPECT_EQ(cmd, "*4\r\n$4\r\nXADD\r\n$0\r\n\r\n$3\r\n\0\r\n\r\n$1\r\nx\r\n"s);
  std::string views;
  encode_command(views, {"XADD", "", std::string_view("\0\r\n", 3), "x"});
  EXPECT_EQ(views, cmd);
  EXPECT_EQ(read_all({cmd}), (std::vector<std::string>{"[sXADD,s,s\0\r\n,sx,]"s}));
}

}  // namespace
}  // namespace gyre::redis
