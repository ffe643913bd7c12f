// libFuzzer target for the node-to-node control messages (hub/control.hpp): what a node
// reads from the control channel of the broker, where any client of that Redis or NATS can
// write. The input is [mode][rest]:
//   mode bit 0 = 0: `rest` is a received payload, given to decode_control();
//   mode bit 0 = 1: `rest` drives a FuzzedDataProvider that builds a control_message of any
//     kind with arbitrary field values, which is encoded and decoded.
// Oracles beyond "no crash, no sanitizer report":
//   - a decoded message encodes to a payload that decodes again, and encoding is stable
//     (encode(decode(encode(m))) == encode(m));
//   - every message a node can send decodes on the other nodes (the encoder never writes
//     what the decoder refuses), to the same message when its strings are valid UTF-8.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/utf8.hpp"
#include "hub/control.hpp"

using gyre::control_message;

namespace {

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

// Strings go through JSON: invalid UTF-8 is replaced (as Go's encoding/json does), so only
// messages whose strings are all valid compare equal after a round trip.
struct utf8_tracker {
  bool all_valid = true;
  std::string take(FuzzedDataProvider& p, size_t max = 24) {
    std::string s = p.ConsumeRandomLengthString(max);
    all_valid = all_valid && gyre::is_valid_utf8(s);
    return s;
  }
};

std::optional<bool> opt_bool(FuzzedDataProvider& p) {
  switch (p.ConsumeIntegralInRange(0, 2)) {
    case 0:
      return std::nullopt;
    case 1:
      return false;
    default:
      return true;
  }
}

control_message build(FuzzedDataProvider& p, utf8_tracker& u) {
  control_message m;
  m.type = static_cast<control_message::kind>(p.ConsumeIntegralInRange(0, 6));
  m.filter.user = u.take(p);
  m.filter.client = u.take(p);
  m.filter.session = u.take(p);
  for (size_t n = p.ConsumeIntegralInRange(0, 3); n > 0; --n)
    m.filter.whitelist.push_back(u.take(p));
  switch (m.type) {
    case control_message::kind::info:
      m.info.uid = u.take(p);
      if (m.info.uid.empty()) m.info.uid = "uid";  // every node has one
      m.info.name = u.take(p);
      m.info.version = u.take(p);
      m.info.num_clients = p.ConsumeIntegral<uint32_t>();
      m.info.num_users = p.ConsumeIntegral<uint32_t>();
      m.info.num_subs = p.ConsumeIntegral<uint32_t>();
      m.info.num_channels = p.ConsumeIntegral<uint32_t>();
      m.info.uptime_seconds = p.ConsumeIntegral<int64_t>();
      break;
    case control_message::kind::disconnect:
      m.code = p.ConsumeIntegral<uint32_t>();
      m.reason = u.take(p);
      break;
    case control_message::kind::unsubscribe:
      m.channel = u.take(p);
      break;
    case control_message::kind::subscribe: {
      auto& s = m.subscribe;
      s.channel = u.take(p);
      s.expire_at = p.ConsumeIntegral<int64_t>();
      s.info = p.ConsumeRandomLengthString(32);  // bytes: base64 on the wire
      s.data = p.ConsumeRandomLengthString(32);
      if (p.ConsumeBool())
        s.recover_since = gyre::stream_position{p.ConsumeIntegral<uint64_t>(), u.take(p)};
      s.presence = opt_bool(p);
      s.join_leave = opt_bool(p);
      s.force_push_join_leave = opt_bool(p);
      s.force_recovery = opt_bool(p);
      s.force_positioning = opt_bool(p);
      break;
    }
    case control_message::kind::refresh:
      m.expired = p.ConsumeBool();
      m.expire_at = p.ConsumeIntegral<int64_t>();
      if (p.ConsumeBool()) m.conn_info = p.ConsumeRandomLengthString(32);
      break;
    case control_message::kind::survey:
      m.survey_id = p.ConsumeIntegral<uint64_t>();
      m.from = u.take(p);
      m.op = u.take(p);
      break;
    case control_message::kind::survey_reply:
      m.survey_id = p.ConsumeIntegral<uint64_t>();
      m.from = u.take(p);
      for (size_t n = p.ConsumeIntegralInRange(0, 4); n > 0; --n)
        m.channels[u.take(p)] = p.ConsumeIntegral<uint32_t>();
      break;
  }
  return m;
}

void check_stable(const control_message& m, const std::string& encoded) {
  auto back = gyre::decode_control(encoded);
  CHECK(back.has_value());
  CHECK(back->type == m.type);
  CHECK(gyre::encode_control(*back) == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    auto m = gyre::decode_control(rest);
    if (!m) return 0;
    const std::string encoded = gyre::encode_control(*m);
    auto again = gyre::decode_control(encoded);
    CHECK(again.has_value());
    CHECK(gyre::encode_control(*again) == encoded);
    return 0;
  }
  FuzzedDataProvider p(data + 1, size - 1);
  utf8_tracker u;
  const control_message m = build(p, u);
  const std::string encoded = gyre::encode_control(m);
  auto back = gyre::decode_control(encoded);
  CHECK(back.has_value());
  const std::string again = gyre::encode_control(*back);
  if (u.all_valid) CHECK(again == encoded);
  check_stable(*back, again);
  return 0;
}
