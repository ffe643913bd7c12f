// UTF-8 validation; see utf8.hpp.
#include "core/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace gyre {

size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = s.size() - i;
  auto cont = [&](size_t k) { return (b(k) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return n >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // ASCII fast path, eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t len = utf8_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

namespace {
// Expected total length of a sequence from its lead byte (0 = invalid lead).
size_t lead_length(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}
}  // namespace

bool utf8_validator::feed(std::string_view chunk) {
  size_t i = 0;
  // Complete a sequence left over from the previous chunk.
  while (pending_len_ > 0 && i < chunk.size()) {
    pending_[pending_len_++] = static_cast<unsigned char>(chunk[i++]);
    size_t need = lead_length(pending_[0]);
    std::string_view seq(reinterpret_cast<const char*>(pending_), pending_len_);
    if (pending_len_ == need) {
      if (utf8_sequence_length(seq, 0) != need) return false;
      pending_len_ = 0;
    } else if ((pending_[pending_len_ - 1] & 0xC0) != 0x80) {
      return false;
    } else {
      // Check the partial prefix for early rejection (overlongs, surrogates).
      unsigned char c0 = pending_[0], c1 = pending_[1];
      if ((c0 == 0xE0 && c1 < 0xA0) || (c0 == 0xED && c1 >= 0xA0) || (c0 == 0xF0 && c1 < 0x90) ||
          (c0 == 0xF4 && c1 >= 0x90))
        return false;
    }
  }
  std::string_view rest = chunk.substr(i);
  // Find where a trailing incomplete sequence would begin (at most 3 bytes back).
  size_t tail = rest.size();
  for (size_t back = 1; back <= 3 && back <= rest.size(); ++back) {
    unsigned char c = static_cast<unsigned char>(rest[rest.size() - back]);
    if ((c & 0xC0) != 0x80) {
      size_t need = lead_length(c);
      if (need > back) tail = rest.size() - back;
      break;
    }
  }
  if (!is_valid_utf8(rest.substr(0, tail))) return false;
  for (size_t k = tail; k < rest.size(); ++k)
    pending_[pending_len_++] = static_cast<unsigned char>(rest[k]);
  if (pending_len_ >= 2) {
    unsigned char c0 = pending_[0], c1 = pending_[1];
    if ((c1 & 0xC0) != 0x80) return false;
    if ((c0 == 0xE0 && c1 < 0xA0) || (c0 == 0xED && c1 >= 0xA0) || (c0 == 0xF0 && c1 < 0x90) ||
        (c0 == 0xF4 && c1 >= 0x90))
      return false;
  }
  if (pending_len_ == 3 && (pending_[2] & 0xC0) != 0x80) return false;
  return true;
}

}  // namespace gyre
