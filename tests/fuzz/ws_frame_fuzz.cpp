// Fuzz target for ws::frame_parser. The input is
//   [max-size selector][chunking seed][wire bytes...]
// The wire bytes are fed three ways: in one piece, in pseudo-random chunks (the caller
// keeping the unconsumed tail, as a connection does), and in one piece with the handler
// pausing after every event. All three must give the same events and the same ending.
// Each run checks the parser contract: consumed <= size, bytes after `consumed` are never
// modified, `need` exceeds the tail and is bounded, payloads point into consumed bytes,
// events form a valid message sequence (fragments in order, sizes within the limit, text
// is UTF-8, close codes valid, close is last), and a closed/failed parser stays so.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/utf8.hpp"
#include "transport/ws_frame.hpp"

using namespace gyre::ws;

namespace {

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

struct recorded {
  event_type type;
  opcode op;
  bool fin;
  uint16_t code;
  std::string payload;
  bool operator==(const recorded&) const = default;
};

struct outcome {
  std::vector<recorded> events;
  parse_status status = parse_status::need_more;
  frame_error error = frame_error::none;
  bool operator==(const outcome&) const = default;
};

// Checks the message-level meaning of each event as it arrives.
class sequence_checker {
 public:
  explicit sequence_checker(uint32_t max) : max_(max) {}

  void on(const frame_event& e) {
    CHECK(!ended_);
    switch (e.type) {
      case event_type::message:
        CHECK(!open_);
        CHECK(e.fin);
        CHECK(e.op == opcode::text || e.op == opcode::binary);
        check_message(e.op, e.payload);
        break;
      case event_type::fragment:
        CHECK(e.op == opcode::text || e.op == opcode::binary);
        if (!open_) {
          CHECK(!e.fin);  // a one-frame message is a `message` event
          open_ = true;
          op_ = e.op;
          assembled_.clear();
        }
        CHECK(e.op == op_);
        assembled_.append(e.payload);
        CHECK(assembled_.size() <= max_);
        if (e.fin) {
          check_message(op_, assembled_);
          open_ = false;
        }
        break;
      case event_type::ping:
      case event_type::pong:
        CHECK(e.payload.size() <= max_control_payload);
        break;
      case event_type::close:
        CHECK(e.payload.size() <= max_close_reason);
        CHECK(gyre::is_valid_utf8(e.payload));
        if (e.code == close_code::no_status)
          CHECK(e.payload.empty());
        else
          CHECK(is_valid_close_code(e.code));
        ended_ = true;
        break;
    }
  }

 private:
  void check_message(opcode op, std::string_view payload) {
    CHECK(payload.size() <= max_);
    if (op == opcode::text) CHECK(gyre::is_valid_utf8(payload));
  }

  uint32_t max_;
  bool open_ = false;
  bool ended_ = false;
  opcode op_ = opcode::binary;
  std::string assembled_;
};

// Feeds `wire` cut into chunks of the given sizes (the last chunk takes the rest).
outcome run(std::string_view wire, const std::vector<size_t>& chunks, uint32_t max, bool pause) {
  frame_parser parser(max);
  sequence_checker seq(max);
  outcome out;
  std::string buf;
  size_t pos = 0;
  size_t next_chunk = 0;
  while (true) {
    size_t n = next_chunk < chunks.size() ? chunks[next_chunk++] : wire.size() - pos;
    n = std::min(n, wire.size() - pos);
    buf.append(wire.substr(pos, n));
    pos += n;
    const bool last_input = pos == wire.size();
    // Parse until the parser wants more bytes (a pausing handler needs several calls).
    while (true) {
      const std::string before = buf;
      std::span<char> span(buf.data(), buf.size());
      parse_result r = parser.parse(span, [&](const frame_event& e) {
        CHECK(e.payload.empty() ||
              (e.payload.data() >= buf.data() &&
               e.payload.data() + e.payload.size() <= buf.data() + buf.size()));
        seq.on(e);
        out.events.push_back({e.type, e.op, e.fin, e.code, std::string(e.payload)});
        return !pause;
      });
      CHECK(r.consumed <= buf.size());
      CHECK(std::memcmp(buf.data() + r.consumed, before.data() + r.consumed,
                        buf.size() - r.consumed) == 0);
      out.status = r.status;
      out.error = r.error;
      switch (r.status) {
        case parse_status::need_more:
          CHECK(r.error == frame_error::none);
          if (r.consumed == buf.size()) {
            CHECK(r.need == 0);
          } else {
            CHECK(r.need > buf.size() - r.consumed);
            CHECK(r.need <= parser.max_frame_size());
          }
          break;
        case parse_status::paused:
          CHECK(pause);
          CHECK(r.consumed > 0);
          break;
        case parse_status::closed:
          CHECK(parser.closed());
          CHECK(!out.events.empty() && out.events.back().type == event_type::close);
          break;
        case parse_status::failed: {
          CHECK(parser.failed());
          uint16_t code = r.close_code();
          CHECK(code == 1002 || code == 1007 || code == 1009);
          break;
        }
      }
      buf.erase(0, r.consumed);
      if (r.status == parse_status::closed || r.status == parse_status::failed) {
        // Terminal states stick and consume nothing.
        parse_result again = parser.parse(std::span<char>(buf.data(), buf.size()),
                                          [](const frame_event&) { CHECK(false); });
        CHECK(again.status == r.status && again.consumed == 0 && again.error == r.error);
        return out;
      }
      if (r.status != parse_status::paused) break;
    }
    if (last_input) return out;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static constexpr uint32_t limits[8] = {0, 1, 10, 125, 126, 300, 65535, default_max_message_size};
  const uint32_t max = limits[data[0] & 7];
  uint32_t rng = 0x9E3779B9u ^ (uint32_t{data[1]} << 8 | data[0]);
  std::string_view wire(reinterpret_cast<const char*>(data) + 2, size - 2);

  std::vector<size_t> chunks;
  for (size_t total = 0; total < wire.size();) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    size_t n = 1 + rng % (size_t{1} << (rng >> 28) % 12);
    chunks.push_back(n);
    total += n;
  }

  outcome whole = run(wire, {}, max, false);
  outcome chunked = run(wire, chunks, max, false);
  CHECK(chunked == whole);
  outcome paused = run(wire, {}, max, true);
  CHECK(paused == whole);

  // Whatever was decoded re-encodes with the client writer and parses back the same.
  std::string again;
  const masking_key key = {data[0], data[1], 0x5A, 0xA5};
  bool open = false;
  for (const recorded& e : whole.events) {
    switch (e.type) {
      case event_type::message:
        append_client_frame(again, e.op, e.payload, key);
        break;
      case event_type::fragment:
        append_client_frame(again, open ? opcode::continuation : e.op, e.payload, key, e.fin);
        open = !e.fin;
        break;
      case event_type::ping:
        append_client_frame(again, opcode::ping, e.payload, key);
        break;
      case event_type::pong:
        append_client_frame(again, opcode::pong, e.payload, key);
        break;
      case event_type::close: {
        std::string body;
        if (e.code != close_code::no_status) {
          body.push_back(static_cast<char>(e.code >> 8));
          body.push_back(static_cast<char>(e.code));
          body.append(e.payload);
        }
        append_client_frame(again, opcode::close, body, key);
        break;
      }
    }
  }
  outcome round_trip = run(again, {}, max, false);
  CHECK(round_trip.events == whole.events);
  CHECK(round_trip.error == frame_error::none);
  return 0;
}
