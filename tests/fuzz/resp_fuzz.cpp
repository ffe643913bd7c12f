// libFuzzer target for the RESP reply reader (broker/redis/resp.hpp), i.e. what a Redis
// server (or anything in its place) can send to the engine. The input is
//   [chunking seed (2 bytes)][bytes as received from the socket]
// and is fed three ways: in one piece, one byte at a time, and in pseudo-random chunks,
// reading every complete reply after each feed, as the connection does. All three must
// give the same replies and end the same way (more bytes needed, or a protocol error).
// Oracles beyond "no crash, no sanitizer report" (a reply's size claims must never be
// trusted for memory: `*2147483647\r\n` is 13 bytes):
//   - whole, byte-wise and chunked feeding agree;
//   - every reply, written back in RESP by the encoder below, reads back the same;
//   - encode_command() of the bulk strings of a reply reads back as an array of exactly
//     those strings;
//   - after a protocol error, reset() gives a reader that reads a valid reply again.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "broker/redis/resp.hpp"

using gyre::redis::reply;
using gyre::redis::reply_reader;

namespace {

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

bool same(const reply& a, const reply& b) {
  if (a.type != b.type || a.integer != b.integer || a.str != b.str ||
      a.elements.size() != b.elements.size())
    return false;
  for (size_t i = 0; i < a.elements.size(); ++i)
    if (!same(a.elements[i], b.elements[i])) return false;
  return true;
}

struct outcome {
  std::vector<reply> replies;
  bool failed = false;

  bool operator==(const outcome& o) const {
    if (failed != o.failed || replies.size() != o.replies.size()) return false;
    for (size_t i = 0; i < replies.size(); ++i)
      if (!same(replies[i], o.replies[i])) return false;
    return true;
  }
};

// Reads every complete reply; false once the reader reports a protocol error.
bool drain(reply_reader& r, outcome& out) {
  std::string error;
  while (auto rep = r.next(error)) {
    CHECK(rep->type != reply::kind::failure);  // the reader never makes these
    out.replies.push_back(std::move(*rep));
  }
  if (!error.empty()) {
    out.failed = true;
    return false;
  }
  return true;
}

outcome feed(std::string_view wire, const std::vector<size_t>& chunks) {
  reply_reader r;
  outcome out;
  size_t pos = 0;
  size_t next = 0;
  while (pos < wire.size()) {
    size_t n = next < chunks.size() ? chunks[next++] : wire.size() - pos;
    n = std::min(n, wire.size() - pos);
    r.feed(wire.data() + pos, n);
    pos += n;
    if (!drain(r, out)) return out;
  }
  return out;
}

void encode(const reply& r, std::string& out) {
  switch (r.type) {
    case reply::kind::nil:
      out += "$-1\r\n";
      break;
    case reply::kind::integer:
      out += ':' + std::to_string(r.integer) + "\r\n";
      break;
    case reply::kind::string:
      out += '$' + std::to_string(r.str.size()) + "\r\n" + r.str + "\r\n";
      break;
    case reply::kind::status:
      out += '+' + r.str + "\r\n";
      break;
    case reply::kind::error:
      out += '-' + r.str + "\r\n";
      break;
    case reply::kind::array:
      out += '*' + std::to_string(r.elements.size()) + "\r\n";
      for (const reply& e : r.elements) encode(e, out);
      break;
    case reply::kind::failure:
      CHECK(false);
  }
}

void collect_strings(const reply& r, std::vector<std::string>& out) {
  if (r.type == reply::kind::string) out.push_back(r.str);
  for (const reply& e : r.elements) collect_strings(e, out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint32_t rng = 0x9E3779B9u ^ (uint32_t{data[0]} << 8 | data[1]);
  const std::string_view wire(reinterpret_cast<const char*>(data) + 2, size - 2);

  std::vector<size_t> random_chunks;
  for (size_t total = 0; total < wire.size();) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    const size_t n = 1 + rng % (size_t{1} << (rng >> 28) % 12);
    random_chunks.push_back(n);
    total += n;
  }

  const outcome whole = feed(wire, {});
  CHECK(feed(wire, random_chunks) == whole);
  if (wire.size() <= 4096) CHECK(feed(wire, std::vector<size_t>(wire.size(), 1)) == whole);

  std::string again;
  std::vector<std::string> strings;
  for (const reply& r : whole.replies) {
    encode(r, again);
    collect_strings(r, strings);
  }
  const outcome round_trip = feed(again, {});
  CHECK(!round_trip.failed);
  CHECK(round_trip.replies.size() == whole.replies.size());
  for (size_t i = 0; i < whole.replies.size(); ++i)
    CHECK(same(round_trip.replies[i], whole.replies[i]));

  const outcome command = feed(gyre::redis::encode_command(strings), {});
  CHECK(!command.failed && command.replies.size() == 1);
  const reply& arr = command.replies[0];
  CHECK(arr.type == reply::kind::array && arr.elements.size() == strings.size());
  for (size_t i = 0; i < strings.size(); ++i)
    CHECK(arr.elements[i].type == reply::kind::string && arr.elements[i].str == strings[i]);

  if (whole.failed) {
    reply_reader r;
    r.feed(wire.data(), wire.size());
    outcome ignored;
    drain(r, ignored);
    r.reset();
    r.feed("+OK\r\n", 5);
    std::string error;
    auto rep = r.next(error);
    CHECK(rep && rep->type == reply::kind::status && rep->str == "OK" && error.empty());
  }
  return 0;
}
