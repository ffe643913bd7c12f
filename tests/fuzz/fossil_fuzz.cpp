// libFuzzer target for the fossil delta encoder and decoder (src/protocol/fossil.hpp).
// The first byte picks a mode; the rest is split into a source and a target (or a delta):
//   0  unrelated source and target      1  target = source with fuzz-driven edits
//   2  the rest applied as a delta       3  a valid delta with one fuzz-chosen byte changed
// Encoding must round-trip through the strict decoder in both alignments, stay within
// |target| + 32 bytes, and (utf8 alignment) give a valid-UTF-8 patch for a valid-UTF-8
// target. Decoding arbitrary bytes must never crash.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/utf8.hpp"
#include "protocol/fossil.hpp"

namespace {

using gyre::protocol::delta_alignment;
using gyre::protocol::fossil_apply;
using gyre::protocol::fossil_delta;

void check_round_trip(const std::string& source, const std::string& target) {
  for (auto a : {delta_alignment::bytes, delta_alignment::utf8}) {
    const std::string delta = fossil_delta(source, target, a);
    if (delta.size() > target.size() + 32) __builtin_trap();
    const auto out = fossil_apply(source, delta);
    if (!out || *out != target) __builtin_trap();
    if (a == delta_alignment::utf8 && gyre::is_valid_utf8(target) && !gyre::is_valid_utf8(delta)) {
      __builtin_trap();
    }
  }
}

std::string edited(const std::string& source, FuzzedDataProvider& p) {
  std::string t = source;
  const int edits = p.ConsumeIntegralInRange(0, 8);
  for (int e = 0; e < edits && p.remaining_bytes() > 0; ++e) {
    const size_t at = p.ConsumeIntegralInRange<size_t>(0, t.size());
    const size_t len = p.ConsumeIntegralInRange<size_t>(0, 64);
    switch (p.ConsumeIntegralInRange(0, 3)) {
      case 0:
        t.erase(at, len);
        break;
      case 1:
        t.insert(at, p.ConsumeBytesAsString(len));
        break;
      case 2:
        t.replace(at, len, p.ConsumeBytesAsString(len));
        break;
      default:  // repeat existing content
        t.insert(at, t.substr(0, len));
        break;
    }
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  const int mode = p.ConsumeIntegral<uint8_t>() & 3;
  const std::string source = p.ConsumeRandomLengthString(size);
  switch (mode) {
    case 0:
      check_round_trip(source, p.ConsumeRemainingBytesAsString());
      break;
    case 1:
      check_round_trip(source, edited(source, p));
      break;
    case 2:
      (void)fossil_apply(source, p.ConsumeRemainingBytesAsString(), size_t{1} << 20);
      break;
    default: {
      const size_t at = p.ConsumeIntegral<uint16_t>();
      const auto flip = p.ConsumeIntegral<uint8_t>();
      const std::string target = p.ConsumeRemainingBytesAsString();
      std::string delta = fossil_delta(source, target);
      if (!delta.empty()) {
        char& c = delta[at % delta.size()];
        c = static_cast<char>(c ^ flip);
      }
      (void)fossil_apply(source, delta);
      break;
    }
  }
  return 0;
}
