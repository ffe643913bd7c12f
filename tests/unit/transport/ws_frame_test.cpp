#include "transport/ws_frame.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace gyre::ws {
namespace {

static_assert(sizeof(frame_parser) <= 32, "per-connection parser state must stay tiny");

constexpr masking_key key1 = {0x37, 0xfa, 0x21, 0x3d};  // the RFC 6455 §5.7 key

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

std::string client(opcode op, std::string_view payload, bool fin = true, masking_key key = key1) {
  std::string s;
  append_client_frame(s, op, payload, key, fin);
  return s;
}

// A frame header with arbitrary bits, masked with an all-zero key (so the payload
// bytes that follow are sent as is).
std::string raw_header(uint8_t b0, uint8_t len7, std::string_view ext = {}) {
  std::string s = bytes({b0, 0x80 | len7});
  s.append(ext);
  s.append(4, '\0');
  return s;
}

struct recorded {
  event_type type;
  opcode op;
  bool fin;
  uint16_t code;
  std::string payload;
  bool operator==(const recorded&) const = default;
};

std::ostream& operator<<(std::ostream& os, const recorded& r) {
  return os << "{type " << int(r.type) << " op " << int(r.op) << " fin " << r.fin << " code "
            << r.code << " payload '" << r.payload << "'}";
}

struct outcome {
  std::vector<recorded> events;
  parse_status status = parse_status::need_more;
  frame_error error = frame_error::none;
  size_t leftover = 0;  // bytes the caller still holds at the end
  bool operator==(const outcome&) const = default;
};

// Plays the connection: appends each chunk of `wire` (cut at `cuts`) to its read buffer,
// parses, records the events and keeps the unconsumed tail, checking the contract each
// time: consumed <= size, the tail is never modified, `need` exceeds the tail, payload
// views point into the consumed bytes.
outcome feed(std::string_view wire, const std::vector<size_t>& cuts,
             uint32_t max = default_max_message_size) {
  frame_parser parser(max);
  outcome out;
  std::string buf;
  size_t pos = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(wire.size());
  for (size_t end : ends) {
    if (end < pos) continue;
    buf.append(wire.substr(pos, end - pos));
    pos = end;
    const std::string before = buf;
    parse_result r =
        parser.parse(std::span<char>(buf.data(), buf.size()), [&](const frame_event& e) {
          EXPECT_GE(e.payload.data(), buf.data());
          EXPECT_LE(e.payload.data() + e.payload.size(), buf.data() + buf.size());
          out.events.push_back({e.type, e.op, e.fin, e.code, std::string(e.payload)});
        });
    EXPECT_LE(r.consumed, buf.size());
    EXPECT_EQ(std::string_view(buf).substr(r.consumed), std::string_view(before).substr(r.consumed))
        << "the parser modified the unconsumed tail";
    if (r.status == parse_status::need_more) {
      size_t tail = buf.size() - r.consumed;
      if (tail == 0) {
        EXPECT_EQ(r.need, 0u);
      } else {
        EXPECT_GT(r.need, tail);
        EXPECT_LE(r.need, parser.max_frame_size());
      }
    }
    out.status = r.status;
    out.error = r.error;
    buf.erase(0, r.consumed);
    if (r.status == parse_status::closed || r.status == parse_status::failed) break;
  }
  out.leftover = buf.size();
  return out;
}

outcome feed_all(std::string_view wire, uint32_t max = default_max_message_size) {
  return feed(wire, {}, max);
}

// The same events and ending for every way of cutting `wire` in two and byte by byte.
void expect_split_invariant(std::string_view wire, uint32_t max = default_max_message_size) {
  outcome whole = feed_all(wire, max);
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    outcome split = feed(wire, {cut}, max);
    // A close/failure stops the caller from feeding, so the leftover may differ.
    split.leftover = whole.leftover;
    ASSERT_EQ(split, whole) << "cut at " << cut;
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < wire.size(); ++i) every.push_back(i);
  outcome bytewise = feed(wire, every, max);
  bytewise.leftover = whole.leftover;
  EXPECT_EQ(bytewise, whole);
}

recorded msg(opcode op, std::string payload) {
  return {event_type::message, op, true, 0, payload};
}
recorded frag(opcode op, std::string payload, bool fin) {
  return {event_type::fragment, op, fin, 0, payload};
}
recorded ctl(event_type t, std::string payload, uint16_t code = 0) {
  return {t, opcode::binary, true, code, payload};
}

frame_error error_of(std::string_view wire, uint32_t max = default_max_message_size) {
  outcome o = feed_all(wire, max);
  EXPECT_EQ(o.status, o.error == frame_error::none ? o.status : parse_status::failed);
  return o.error;
}

// --- RFC 6455 §5.7 examples ------------------------------------------------------------

TEST(ws_frame, rfc_masked_hello) {
  std::string wire = bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  EXPECT_EQ(client(opcode::text, "Hello"), wire);
  outcome o = feed_all(wire);
  EXPECT_EQ(o.status, parse_status::need_more);
  EXPECT_EQ(o.leftover, 0u);
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0], msg(opcode::text, "Hello"));
}

TEST(ws_frame, rfc_unmasked_hello_is_a_protocol_error_from_a_client) {
  std::string wire = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  frame_parser p;
  parse_result r = p.parse(std::span<char>(wire.data(), wire.size()),
                           [](const frame_event&) { ADD_FAILURE() << "no event expected"; });
  EXPECT_EQ(r.status, parse_status::failed);
  EXPECT_EQ(r.error, frame_error::unmasked_frame);
  EXPECT_EQ(r.close_code(), close_code::protocol_error);
  EXPECT_EQ(r.consumed, 0u);
  // The server writes exactly this frame.
  char h[max_server_header_size];
  size_t n = write_frame_header(h, opcode::text, 5);
  EXPECT_EQ(std::string(h, n) + "Hello", wire);
}

TEST(ws_frame, rfc_fragmented_hello) {
  // Unmasked server form: 0x01 0x03 "Hel", 0x80 0x02 "lo".
  char h[max_server_header_size];
  std::string server(h, write_frame_header(h, opcode::text, 3, false));
  server += "Hel";
  server.append(h, write_frame_header(h, opcode::continuation, 2, true));
  server += "lo";
  EXPECT_EQ(server, bytes({0x01, 0x03, 'H', 'e', 'l', 0x80, 0x02, 'l', 'o'}));

  std::string wire = client(opcode::text, "Hel", false) + client(opcode::continuation, "lo");
  outcome o = feed_all(wire);
  EXPECT_EQ(o.status, parse_status::need_more);
  EXPECT_EQ(o.events, (std::vector<recorded>{frag(opcode::text, "Hel", false),
                                             frag(opcode::text, "lo", true)}));
  expect_split_invariant(wire);
}

TEST(ws_frame, rfc_ping_and_masked_pong) {
  char f[max_control_frame_size];
  EXPECT_EQ(std::string(f, write_ping_frame(f, "Hello")),
            bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  std::string pong = bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  EXPECT_EQ(feed_all(pong).events, (std::vector<recorded>{ctl(event_type::pong, "Hello")}));
}

TEST(ws_frame, rfc_256_and_64k_binary_headers) {
  char h[max_server_header_size];
  EXPECT_EQ(std::string(h, write_frame_header(h, opcode::binary, 256)),
            bytes({0x82, 0x7E, 0x01, 0x00}));
  EXPECT_EQ(std::string(h, write_frame_header(h, opcode::binary, 65536)),
            bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}));
}

// --- Lengths ---------------------------------------------------------------------------

TEST(ws_frame, every_length_encoding_round_trips) {
  for (size_t len : {0, 1, 125, 126, 127, 1000, 65535, 65536, 65537, 200000}) {
    std::string payload(len, '\0');
    for (size_t i = 0; i < len; ++i) payload[i] = static_cast<char>(i * 7 + 3);
    std::string wire = client(opcode::binary, payload, true, {1, 2, 3, 4});
    size_t header = len < 126 ? 2 : len < 65536 ? 4 : 10;
    EXPECT_EQ(frame_header_size(len), header);
    EXPECT_EQ(wire.size(), header + 4 + len) << len;
    outcome o = feed_all(wire, 1 << 20);
    ASSERT_EQ(o.events.size(), 1u) << len;
    EXPECT_EQ(o.events[0], msg(opcode::binary, payload)) << len;

    char h[max_server_header_size];
    size_t n = write_frame_header(h, opcode::binary, len);
    EXPECT_EQ(n, header);
    EXPECT_EQ(std::string(h, n),
              wire.substr(0, n).replace(1, 1, 1, static_cast<char>(wire[1] & 0x7F)));
  }
}

TEST(ws_frame, large_length_is_header_only_and_rejected_before_the_payload) {
  char h[max_server_header_size];
  EXPECT_EQ(std::string(h, write_frame_header(h, opcode::binary, uint64_t{1} << 40)),
            bytes({0x82, 0x7F, 0, 0, 1, 0, 0, 0, 0, 0}));
  // A client announcing 2^40 bytes fails with 1009 once its 14 header bytes are in.
  std::string wire = raw_header(0x82, 127, bytes({0, 0, 1, 0, 0, 0, 0, 0}));
  frame_parser p;
  std::string partial = wire.substr(0, 13);
  parse_result r =
      p.parse(std::span<char>(partial.data(), partial.size()), [](const frame_event&) {});
  EXPECT_EQ(r.status, parse_status::need_more);
  EXPECT_EQ(r.need, 14u);
  r = p.parse(std::span<char>(wire.data(), wire.size()), [](const frame_event&) {});
  EXPECT_EQ(r.status, parse_status::failed);
  EXPECT_EQ(r.error, frame_error::message_too_big);
  EXPECT_EQ(r.close_code(), 1009);
}

TEST(ws_frame, non_minimal_lengths_are_accepted) {
  std::string a = raw_header(0x82, 126, bytes({0, 5})) + "abcde";
  std::string b = raw_header(0x82, 127, bytes({0, 0, 0, 0, 0, 0, 0, 5})) + "abcde";
  EXPECT_EQ(feed_all(a).events, (std::vector<recorded>{msg(opcode::binary, "abcde")}));
  EXPECT_EQ(feed_all(b).events, (std::vector<recorded>{msg(opcode::binary, "abcde")}));
}

TEST(ws_frame, need_reports_the_pending_frame_size) {
  std::string wire = client(opcode::binary, std::string(300, 'x'));  // 4 + 4 + 300
  frame_parser p;
  auto need_after = [&](size_t n) {
    std::string part = wire.substr(0, n);
    frame_parser fresh;
    parse_result r =
        fresh.parse(std::span<char>(part.data(), part.size()), [](const frame_event&) {});
    EXPECT_EQ(r.status, parse_status::need_more);
    EXPECT_EQ(r.consumed, 0u);
    return r.need;
  };
  EXPECT_EQ(need_after(0), 0u);
  EXPECT_EQ(need_after(1), 2u);
  EXPECT_EQ(need_after(2), 8u);
  EXPECT_EQ(need_after(7), 8u);
  EXPECT_EQ(need_after(8), 308u);
  EXPECT_EQ(need_after(307), 308u);
}

// --- Protocol errors -------------------------------------------------------------------

TEST(ws_frame, header_errors) {
  EXPECT_EQ(error_of(bytes({0x81, 0x00})), frame_error::unmasked_frame);
  for (int rsv : {0x40, 0x20, 0x10})
    EXPECT_EQ(error_of(raw_header(0x81 | rsv, 0)), frame_error::reserved_bits) << rsv;
  for (int op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF})
    EXPECT_EQ(error_of(raw_header(0x80 | op, 0)), frame_error::unknown_opcode) << op;
  EXPECT_EQ(error_of(raw_header(0x09, 0)), frame_error::fragmented_control);  // ping, no FIN
  EXPECT_EQ(error_of(raw_header(0x08, 0)), frame_error::fragmented_control);
  EXPECT_EQ(error_of(raw_header(0x0A, 0)), frame_error::fragmented_control);
  EXPECT_EQ(error_of(raw_header(0x89, 126, bytes({0, 126})) + std::string(126, 'p')),
            frame_error::control_too_long);
  EXPECT_EQ(error_of(raw_header(0x8A, 127, bytes({0, 0, 0, 0, 0, 0, 0, 1})) + "p"),
            frame_error::control_too_long);
  EXPECT_EQ(error_of(raw_header(0x82, 127, bytes({0x80, 0, 0, 0, 0, 0, 0, 1}))),
            frame_error::bad_length);
  EXPECT_EQ(error_of(client(opcode::continuation, "x")), frame_error::unexpected_continuation);
  EXPECT_EQ(error_of(client(opcode::continuation, "x", false)),
            frame_error::unexpected_continuation);
  EXPECT_EQ(error_of(client(opcode::text, "a", false) + client(opcode::text, "b")),
            frame_error::expected_continuation);
  EXPECT_EQ(error_of(client(opcode::binary, "a", false) + client(opcode::binary, "b", false)),
            frame_error::expected_continuation);
  EXPECT_EQ(error_of(client(opcode::text, "a", false) + client(opcode::binary, "b")),
            frame_error::expected_continuation);
  // After a completed fragmented message, a continuation is unexpected again.
  EXPECT_EQ(error_of(client(opcode::text, "a", false) + client(opcode::continuation, "b") +
                     client(opcode::continuation, "c")),
            frame_error::unexpected_continuation);
  for (frame_error e :
       {frame_error::unmasked_frame, frame_error::reserved_bits, frame_error::unknown_opcode,
        frame_error::fragmented_control, frame_error::control_too_long, frame_error::bad_length,
        frame_error::unexpected_continuation, frame_error::expected_continuation,
        frame_error::bad_close_payload, frame_error::bad_close_code})
    EXPECT_EQ(close_code_for(e), 1002) << describe(e);
}

TEST(ws_frame, errors_are_reported_from_the_header_alone) {
  struct {
    std::string head;
    frame_error error;
  } cases[] = {
      {bytes({0x82, 0x7E}), frame_error::unmasked_frame},
      {bytes({0xC2, 0xFE}), frame_error::reserved_bits},
      {bytes({0x89, 0xFE}), frame_error::control_too_long},
      {bytes({0x88, 0x81}), frame_error::bad_close_payload},
      {bytes({0x80, 0xFE}), frame_error::unexpected_continuation},
      {raw_header(0x82, 126, bytes({0xFF, 0xFF})), frame_error::message_too_big},
  };
  for (auto& c : cases) {
    frame_parser p(1000);
    parse_result r = p.parse(std::span<char>(c.head.data(), c.head.size()),
                             [](const frame_event&) { ADD_FAILURE(); });
    EXPECT_EQ(r.status, parse_status::failed) << describe(c.error);
    EXPECT_EQ(r.error, c.error);
  }
}

TEST(ws_frame, invalid_utf8_text_is_1007) {
  EXPECT_EQ(error_of(client(opcode::text, "ok \xc3\x28")), frame_error::invalid_utf8);
  EXPECT_EQ(error_of(client(opcode::text, "\xed\xa0\x80")),
            frame_error::invalid_utf8);  // surrogate
  EXPECT_EQ(close_code_for(frame_error::invalid_utf8), 1007);
  // Binary frames are not validated.
  EXPECT_EQ(error_of(client(opcode::binary, "\xff\xfe")), frame_error::none);
  // Across fragments: bad byte in a later fragment, and a message ending mid-character.
  EXPECT_EQ(error_of(client(opcode::text, "\xe2\x82", false) + client(opcode::continuation, "x")),
            frame_error::invalid_utf8);
  EXPECT_EQ(error_of(client(opcode::text, "abc", false) + client(opcode::continuation, "\xe2\x82")),
            frame_error::invalid_utf8);
  // Rejected early: the first fragment already cannot start valid UTF-8.
  outcome o = feed_all(client(opcode::text, "a\xc0", false));
  EXPECT_EQ(o.error, frame_error::invalid_utf8);
  EXPECT_TRUE(o.events.empty());
}

TEST(ws_frame, utf8_split_across_fragments_at_every_position) {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80!";
  for (size_t a = 0; a <= text.size(); ++a) {
    for (size_t b = a; b <= text.size(); ++b) {
      std::string wire = client(opcode::text, text.substr(0, a), false) +
                         client(opcode::ping, "p") +
                         client(opcode::continuation, text.substr(a, b - a), false) +
                         client(opcode::continuation, text.substr(b), true);
      outcome o = feed_all(wire);
      ASSERT_EQ(o.error, frame_error::none) << a << " " << b;
      ASSERT_EQ(o.events.size(), 4u);
      EXPECT_EQ(o.events[0].payload + o.events[2].payload + o.events[3].payload, text);
    }
  }
}

TEST(ws_frame, message_size_limit) {
  EXPECT_EQ(error_of(client(opcode::binary, std::string(65536, 'x'))), frame_error::none);
  EXPECT_EQ(error_of(client(opcode::binary, std::string(65537, 'x'))),
            frame_error::message_too_big);
  EXPECT_EQ(close_code_for(frame_error::message_too_big), 1009);
  // Summed across fragments: 4 + 4 + 2 == 10 fits, one more byte does not.
  std::string ok =
      client(opcode::text, "aaaa", false) + client(opcode::continuation, "bbbb", false) +
      client(opcode::ping, "control frames do not count") + client(opcode::continuation, "cc");
  outcome o = feed_all(ok + client(opcode::binary, "0123456789"), 10);  // budget resets
  // A pending control frame may be larger than a tiny message limit: need <= max_frame_size().
  expect_split_invariant(ok, 10);
  EXPECT_EQ(frame_parser(10).max_frame_size(), 125u + 14);
  EXPECT_EQ(frame_parser().max_frame_size(), 65536u + 14);
  EXPECT_EQ(o.error, frame_error::none);
  EXPECT_EQ(o.events.size(), 5u);
  std::string too_big = client(opcode::text, "aaaa", false) +
                        client(opcode::continuation, "bbbb", false) +
                        client(opcode::continuation, "ccc");
  o = feed_all(too_big, 10);
  EXPECT_EQ(o.error, frame_error::message_too_big);
  EXPECT_EQ(o.events.size(), 2u);
  // Detected from the third header alone, before its payload.
  o = feed_all(too_big.substr(0, too_big.size() - 3), 10);
  EXPECT_EQ(o.error, frame_error::message_too_big);
  EXPECT_EQ(error_of(client(opcode::binary, "0123456789a"), 10), frame_error::message_too_big);
}

// --- Control frames and fragmentation ---------------------------------------------------

TEST(ws_frame, control_frames_interleave_with_fragments) {
  std::string wire = client(opcode::binary, "one", false) + client(opcode::ping, "p1") +
                     client(opcode::continuation, "two", false) + client(opcode::pong, "") +
                     client(opcode::continuation, "", false) +
                     client(opcode::continuation, "three") + client(opcode::text, "after");
  outcome o = feed_all(wire);
  EXPECT_EQ(o.error, frame_error::none);
  EXPECT_EQ(o.events, (std::vector<recorded>{
                          frag(opcode::binary, "one", false),
                          ctl(event_type::ping, "p1"),
                          frag(opcode::binary, "two", false),
                          ctl(event_type::pong, ""),
                          frag(opcode::binary, "", false),
                          frag(opcode::binary, "three", true),
                          msg(opcode::text, "after"),
                      }));
  expect_split_invariant(wire);
}

TEST(ws_frame, ping_payload_up_to_125_bytes) {
  std::string p125(125, 'z');
  EXPECT_EQ(feed_all(client(opcode::ping, p125)).events,
            (std::vector<recorded>{ctl(event_type::ping, p125)}));
  EXPECT_EQ(error_of(client(opcode::ping, std::string(126, 'z'))), frame_error::control_too_long);
}

TEST(ws_frame, close_frame_is_the_last_event) {
  std::string wire = client(opcode::text, "bye") +
                     client(opcode::close, bytes({0x03, 0xE8}) + "done") +
                     client(opcode::text, "ignored") + "garbage";
  frame_parser p;
  std::vector<recorded> events;
  parse_result r = p.parse(std::span<char>(wire.data(), wire.size()), [&](const frame_event& e) {
    events.push_back({e.type, e.op, e.fin, e.code, std::string(e.payload)});
  });
  EXPECT_EQ(r.status, parse_status::closed);
  EXPECT_EQ(r.consumed, client(opcode::text, "bye").size() + 2 + 4 + 6);
  EXPECT_EQ(events, (std::vector<recorded>{msg(opcode::text, "bye"),
                                           ctl(event_type::close, "done", 1000)}));
  EXPECT_TRUE(p.closed());
  r = p.parse(std::span<char>(wire.data(), wire.size()), [](const frame_event&) { ADD_FAILURE(); });
  EXPECT_EQ(r.status, parse_status::closed);
  EXPECT_EQ(r.consumed, 0u);
}

TEST(ws_frame, close_payload_validation) {
  EXPECT_EQ(feed_all(client(opcode::close, "")).events,
            (std::vector<recorded>{ctl(event_type::close, "", close_code::no_status)}));
  EXPECT_EQ(error_of(client(opcode::close, "x")), frame_error::bad_close_payload);
  auto with_code = [](int code, std::string reason = {}) {
    return client(opcode::close, bytes({code >> 8, code & 0xFF}) + reason);
  };
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                   3999, 4000, 4999}) {
    outcome o = feed_all(with_code(code, "r"));
    EXPECT_EQ(o.error, frame_error::none) << code;
    EXPECT_EQ(o.events, (std::vector<recorded>{ctl(event_type::close, "r", code)})) << code;
  }
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
    EXPECT_EQ(error_of(with_code(code)), frame_error::bad_close_code) << code;
  EXPECT_EQ(error_of(with_code(1000, "\xff")), frame_error::invalid_close_reason);
  EXPECT_EQ(close_code_for(frame_error::invalid_close_reason), 1007);
  std::string max_reason(123, 'r');
  EXPECT_EQ(feed_all(with_code(4000, max_reason)).events[0].payload, max_reason);

  close_info ci = parse_close_payload("");
  EXPECT_EQ(ci.code, close_code::no_status);
  EXPECT_EQ(ci.error, frame_error::none);
  EXPECT_EQ(parse_close_payload("\x03").error, frame_error::bad_close_payload);
  ci = parse_close_payload("\x0f\xa0slow");  // 4000
  EXPECT_EQ(ci.code, 4000);
  EXPECT_EQ(ci.reason, "slow");
}

TEST(ws_frame, paused_parse_resumes_where_it_stopped) {
  std::string wire =
      client(opcode::text, "a") + client(opcode::text, "b") + client(opcode::text, "c");
  frame_parser p;
  std::vector<std::string> seen;
  auto once = [&](const frame_event& e) {
    seen.emplace_back(e.payload);
    return false;
  };
  std::span<char> all(wire.data(), wire.size());
  parse_result r = p.parse(all, once);
  EXPECT_EQ(r.status, parse_status::paused);
  EXPECT_EQ(r.consumed, 7u);
  r = p.parse(all.subspan(7), once);
  EXPECT_EQ(r.status, parse_status::paused);
  r = p.parse(all.subspan(14), [&](const frame_event& e) {
    seen.emplace_back(e.payload);
    return true;
  });
  EXPECT_EQ(r.status, parse_status::need_more);
  EXPECT_EQ(r.consumed, 7u);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ws_frame, failure_is_sticky) {
  std::string wire = client(opcode::text, "ok") + bytes({0x81, 0x00});
  frame_parser p;
  int events = 0;
  parse_result r =
      p.parse(std::span<char>(wire.data(), wire.size()), [&](const frame_event&) { ++events; });
  EXPECT_EQ(events, 1);
  EXPECT_EQ(r.status, parse_status::failed);
  EXPECT_EQ(r.consumed, 8u);  // up to the offending frame
  std::string good = client(opcode::text, "more");
  r = p.parse(std::span<char>(good.data(), good.size()), [&](const frame_event&) { ++events; });
  EXPECT_EQ(r.status, parse_status::failed);
  EXPECT_EQ(r.error, frame_error::unmasked_frame);
  EXPECT_EQ(events, 1);
  EXPECT_TRUE(p.failed());
}

// --- Partial reads at every position -------------------------------------------------------

TEST(ws_frame, every_split_position_yields_the_same_events) {
  const std::string head = client(opcode::text, "hello") +
                           client(opcode::binary, std::string(200, 'b'), true, {9, 8, 7, 6}) +
                           client(opcode::text, "\xe2\x82", false) + client(opcode::ping, "ping!") +
                           client(opcode::continuation, "\xac and more", false) +
                           client(opcode::continuation, "") + client(opcode::pong, "");
  const std::string close = client(opcode::close, bytes({0x0B, 0xB8}) + "bye");
  std::string small = head + close;
  outcome whole = feed_all(small);
  ASSERT_EQ(whole.status, parse_status::closed);
  ASSERT_EQ(whole.events.size(), 8u);
  EXPECT_EQ(whole.events.back(), ctl(event_type::close, "bye", 3000));
  expect_split_invariant(small);

  // With a 64-bit-length frame in the middle; cut at a prime stride (every byte would
  // make the O(n^2) tail check of the driver slow).
  std::string big =
      head + client(opcode::binary, std::string(70000, 'L'), true, {0, 0, 0, 0}) + close;
  outcome big_whole = feed_all(big, 100000);
  ASSERT_EQ(big_whole.events.size(), 9u);
  std::vector<size_t> cuts;
  for (size_t i = 1; i < big.size(); i += 997) cuts.push_back(i);
  EXPECT_EQ(feed(big, cuts, 100000), big_whole);
  for (size_t i = head.size(); i < head.size() + 16; ++i)  // across the 14-byte header
    EXPECT_EQ(feed(big, {i}, 100000), big_whole) << i;
}

TEST(ws_frame, every_split_position_of_an_erroneous_stream) {
  for (std::string tail :
       {bytes({0x81, 0x05}) + "Hello", raw_header(0xC1, 0), client(opcode::text, "\xe2\x28\xa1"),
        client(opcode::close, bytes({0x03, 0xED}))}) {
    std::string wire = client(opcode::text, "first", false) + client(opcode::ping, "") +
                       client(opcode::continuation, "second") + tail;
    expect_split_invariant(wire);
    EXPECT_EQ(feed_all(wire).status, parse_status::failed);
  }
}

TEST(ws_frame, every_pair_of_split_positions) {
  std::string wire = client(opcode::text, "ab", false) + client(opcode::pong, "x") +
                     client(opcode::continuation, "c") +
                     client(opcode::binary, std::string(130, 'q'));
  outcome whole = feed_all(wire);
  for (size_t a = 0; a <= wire.size(); ++a)
    for (size_t b = a; b <= wire.size(); ++b) ASSERT_EQ(feed(wire, {a, b}), whole) << a << "," << b;
}

// --- Writers and helpers --------------------------------------------------------------

TEST(ws_frame, close_frame_writer) {
  char f[max_close_frame_size];
  EXPECT_EQ(std::string(f, write_close_frame(f, 1000)), bytes({0x88, 0x02, 0x03, 0xE8}));
  EXPECT_EQ(std::string(f, write_close_frame(f, close_code::no_status, "ignored")),
            bytes({0x88, 0x00}));
  EXPECT_EQ(std::string(f, write_close_frame(f, 3008, "slow")),
            bytes({0x88, 0x06, 0x0B, 0xC0}) + "slow");
  // 122 ASCII bytes + a 3-byte character: the character would end at 125 > 123, so it goes.
  std::string reason = std::string(122, 'r') + "\xe2\x82\xac";
  size_t n = write_close_frame(f, 4000, reason);
  EXPECT_EQ(n, 2u + 2 + 122);
  close_info ci = parse_close_payload(std::string_view(f + 2, n - 2));
  EXPECT_EQ(ci.error, frame_error::none);
  EXPECT_EQ(ci.code, 4000);
  EXPECT_EQ(ci.reason, std::string(122, 'r'));
  // Exactly 123 bytes fit; longer ASCII is cut to 123.
  n = write_close_frame(f, 4000, std::string(200, 'x'));
  EXPECT_EQ(n, 2u + 125);
  EXPECT_EQ(static_cast<uint8_t>(f[1]), 125);
  // An invalid reason is dropped rather than making the client fail with 1007.
  EXPECT_EQ(std::string(f, write_close_frame(f, 1009, "\xff")), bytes({0x88, 0x02, 0x03, 0xF1}));
}

TEST(ws_frame, pong_writer_echoes_the_payload) {
  char f[max_control_frame_size];
  EXPECT_EQ(std::string(f, write_pong_frame(f, "abc")), bytes({0x8A, 0x03}) + "abc");
  EXPECT_EQ(std::string(f, write_ping_frame(f)), bytes({0x89, 0x00}));
  std::string p125(125, 'x');
  EXPECT_EQ(write_pong_frame(f, p125), 127u);
}

TEST(ws_frame, utf8_prefix_cuts_on_character_boundaries) {
  std::string s =
      "ab\xe2\x82\xac"
      "cd";  // a b € c d
  EXPECT_EQ(utf8_prefix(s, 100), s);
  EXPECT_EQ(utf8_prefix(s, 5), "ab\xe2\x82\xac");
  EXPECT_EQ(utf8_prefix(s, 4), "ab");
  EXPECT_EQ(utf8_prefix(s, 3), "ab");
  EXPECT_EQ(utf8_prefix(s, 2), "ab");
  EXPECT_EQ(utf8_prefix("\xf0\x9f\x98\x80", 3), "");
  EXPECT_EQ(utf8_prefix("abc", 0), "");
}

TEST(ws_frame, apply_mask_matches_the_definition) {
  std::string data(300, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  masking_key key = {0xA1, 0xB2, 0xC3, 0xD4};
  for (size_t start = 0; start < 9; ++start) {  // unaligned starts
    for (size_t len : {0, 1, 3, 7, 8, 9, 31, 32, 33, 64, 100, 291}) {
      for (size_t offset = 0; offset < 5; ++offset) {
        std::string got = data;
        apply_mask(got.data() + start, len, key, offset);
        std::string want = data;
        for (size_t i = 0; i < len; ++i)
          want[start + i] ^= static_cast<char>(key[(offset + i) % 4]);
        ASSERT_EQ(got, want) << start << " " << len << " " << offset;
      }
    }
  }
}

TEST(ws_frame, client_frames_round_trip_through_the_parser) {
  for (opcode op : {opcode::text, opcode::binary}) {
    for (masking_key key :
         {masking_key{0, 0, 0, 0}, masking_key{0xFF, 0xFF, 0xFF, 0xFF}, masking_key{1, 2, 3, 4}}) {
      std::string payload = "round trip \xe2\x9c\x93";
      std::string wire;
      append_client_frame(wire, op, payload, key);
      EXPECT_EQ(wire.size(), 2 + 4 + payload.size());
      EXPECT_EQ(static_cast<uint8_t>(wire[1]) & 0x80, 0x80);
      EXPECT_EQ(feed_all(wire).events, (std::vector<recorded>{msg(op, payload)}));
    }
  }
}

}  // namespace
}  // namespace gyre::ws
