// Fossil delta encoder and strict decoder; see fossil.hpp and client-protocol.md §4.13.
//
// Encoder outline. Every 16-byte block of the source that starts at a multiple of 16 (and
// is not the source's last 16 bytes) is filed under its rolling hash in one of
// |source|/16 buckets; blocks that share a bucket form a chain, newest first. A cursor
// walks the target: at each probe position the 16 target bytes there are hashed, up to
// 250 blocks of the bucket are tried, and each is extended forward as far as the bytes
// agree and backward over target bytes that are still pending (not yet emitted). The
// longest extension that is at least as long as the text needed to encode it wins: the
// pending bytes before it go out as an insert, the match as a copy, and the walk restarts
// after it. Without a winner the hash rolls one byte on. Fewer than 16 bytes left: they
// are emitted as the final insert. The checksum command ends the delta.
#include "protocol/fossil.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <vector>

#include "core/utf8.hpp"

namespace gyre::protocol {
namespace {

constexpr size_t block_size = 16;    // hashed window; also the source indexing step
constexpr int max_candidates = 250;  // chain entries tried per probe (bounds the work)
constexpr uint32_t no_block = std::numeric_limits<uint32_t>::max();
// Scratch kept per thread between calls; larger buffers are released after use so one
// huge publication does not pin memory for the life of the thread.
constexpr size_t max_retained_scratch = size_t{4} << 20;

constexpr char digit_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~";

// Value of a digit character, -1 for anything else.
constexpr auto digit_values = [] {
  struct table {
    int8_t v[256];
  } t{};
  for (int c = 0; c < 256; ++c) t.v[c] = -1;
  for (int d = 0; d < 64; ++d) {
    t.v[static_cast<unsigned char>(digit_chars[d])] = static_cast<int8_t>(d);
  }
  return t;
}();

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

size_t int_digits(uint64_t v) {
  size_t n = 1;
  while (v >>= 6) ++n;
  return n;
}

void put_int(std::string& out, uint64_t v) {
  char buf[11];  // ceil(64 / 6)
  size_t i = sizeof buf;
  do {
    buf[--i] = digit_chars[v & 63];
    v >>= 6;
  } while (v != 0);
  out.append(buf + i, sizeof buf - i);
}

void put_insert(std::string& out, const unsigned char* p, size_t n) {
  put_int(out, n);
  out.push_back(':');
  out.append(reinterpret_cast<const char*>(p), n);
}

void put_copy(std::string& out, size_t n, size_t offset) {
  put_int(out, n);
  out.push_back('@');
  put_int(out, offset);
  out.push_back(',');
}

// Rolling hash of a 16-byte window: a = Σ byte, b = Σ (16 - k)·byte_k, both mod 2^16.
class rolling_hash {
 public:
  void init(const unsigned char* p) {
    // Both sums fit 16 bits exactly (b <= 136 * 255), which lets the compiler use 16-bit
    // vector lanes.
    uint16_t a = 0, b = 0;
    for (size_t k = 0; k < block_size; ++k) {
      a = static_cast<uint16_t>(a + p[k]);
      b = static_cast<uint16_t>(b + static_cast<uint16_t>(block_size - k) * p[k]);
    }
    a_ = a;
    b_ = b;
  }
  // Slides the window one byte: `out` leaves at the front, `in` enters at the back.
  void roll(unsigned char out, unsigned char in) {
    a_ = (a_ - out + in) & 0xFFFF;
    b_ = (b_ - block_size * out + a_) & 0xFFFF;
  }
  uint32_t value() const { return a_ | (b_ << 16); }

 private:
  uint32_t a_ = 0;
  uint32_t b_ = 0;
};

// x % d without a division instruction (Lemire's "fastmod"; exact for 32-bit x and d):
// the index build and every probe reduce a hash to a bucket, and `div` dominated both.
class bucket_mod {
 public:
  explicit bucket_mod(uint32_t d) : d_(d), m_(~uint64_t{0} / d + 1) {}
  uint32_t operator()(uint32_t x) const {
    const uint64_t low = m_ * x;
    return static_cast<uint32_t>((static_cast<uint128>(low) * d_) >> 64);
  }

 private:
  __extension__ using uint128 = unsigned __int128;
  uint64_t d_;
  uint64_t m_;
};

// Number of equal leading bytes of a[0..n) and b[0..n).
size_t match_forward(const unsigned char* a, const unsigned char* b, size_t n) {
  size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    while (i + 8 <= n) {
      uint64_t x, y;
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) return i + static_cast<size_t>(std::countr_zero(x ^ y) >> 3);
      i += 8;
    }
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

uint32_t load_be32(const unsigned char* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap32(w);
  return w;
}

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

struct scratch {
  std::vector<uint32_t> landmark;  // bucket -> newest block index, or no_block
  std::vector<uint32_t> collide;   // block index -> next older block in the same bucket
  std::string out;
};

scratch& thread_scratch() {
  thread_local scratch s;
  return s;
}

void trim_scratch(scratch& s) {
  if (s.out.capacity() > max_retained_scratch) std::string().swap(s.out);
  if (s.landmark.capacity() * sizeof(uint32_t) > max_retained_scratch) {
    std::vector<uint32_t>().swap(s.landmark);
    std::vector<uint32_t>().swap(s.collide);
  }
}

// The match chosen at one probe position.
struct match {
  size_t literal = 0;  // pending target bytes emitted as an insert before the copy
  size_t count = 0;    // bytes copied (0 = no match)
  size_t offset = 0;   // where the copy starts in the source
};

void encode(std::string_view source, std::string_view target, delta_alignment alignment,
            scratch& s) {
  std::string& out = s.out;
  const unsigned char* src = bytes_of(source);
  const unsigned char* tgt = bytes_of(target);
  const size_t src_len = source.size();
  const size_t tgt_len = target.size();

  put_int(out, tgt_len);
  out.push_back('\n');

  // A source without a complete block to index cannot contribute copies. (Sources of
  // 64 GiB and more, beyond 32-bit block numbers, are not indexed either.)
  if (src_len <= block_size || src_len / block_size >= no_block) {
    if (tgt_len > 0) put_insert(out, tgt, tgt_len);
    put_int(out, fossil_checksum(target));
    out.push_back(';');
    return;
  }

  // Index the source blocks.
  const size_t n_buckets = src_len / block_size;
  const bucket_mod to_bucket(static_cast<uint32_t>(n_buckets));
  s.landmark.assign(n_buckets, no_block);
  s.collide.resize(n_buckets);
  uint32_t* landmark = s.landmark.data();
  uint32_t* collide = s.collide.data();
  rolling_hash hash;
  for (size_t i = 0; i + block_size < src_len; i += block_size) {
    hash.init(src + i);
    const uint32_t bucket = to_bucket(hash.value());
    const auto blk = static_cast<uint32_t>(i / block_size);
    collide[blk] = landmark[bucket];
    landmark[bucket] = blk;
  }

  const bool utf8 = alignment == delta_alignment::utf8;
  size_t base = 0;  // first target byte not yet emitted
  while (base + block_size < tgt_len) {
    hash.init(tgt + base);
    size_t probe = 0;  // offset of the hashed window from base
    for (;;) {
      const size_t at = base + probe;
      const size_t best_possible = tgt_len - base;  // a match cannot cover more than this
      match best;
      int budget = max_candidates;
      for (uint32_t blk = landmark[to_bucket(hash.value())]; blk != no_block && budget-- > 0;
           blk = collide[blk]) {
        const size_t src_at = size_t{blk} * block_size;
        const size_t fwd =
            match_forward(src + src_at, tgt + at, std::min(src_len - src_at, tgt_len - at));
        const size_t back_limit = std::min(probe, src_at);
        size_t back = 0;
        while (back < back_limit && src[src_at - back - 1] == tgt[at - back - 1]) ++back;

        match m{probe - back, fwd + back, src_at - back};
        if (utf8) {
          // Move both ends of the copy onto character boundaries of the target, so the
          // inserts around it never hold part of a multi-byte character.
          while (m.count > 0 && is_continuation(tgt[base + m.literal])) {
            ++m.literal;
            ++m.offset;
            --m.count;
          }
          while (m.count > 0 && base + m.literal + m.count < tgt_len &&
                 is_continuation(tgt[base + m.literal + m.count])) {
            --m.count;
          }
        }
        const size_t cost = int_digits(m.literal) + int_digits(m.count) + int_digits(m.offset) + 3;
        if (m.count >= cost && m.count > best.count) {
          best = m;
          if (best.count + best.literal == best_possible) break;  // reaches the end
        }
      }

      if (best.count > 0) {
        if (best.literal > 0) put_insert(out, tgt + base, best.literal);
        put_copy(out, best.count, best.offset);
        base += best.literal + best.count;
        break;
      }
      if (at + block_size >= tgt_len) {
        // No copy found before the last window: everything pending is literal.
        put_insert(out, tgt + base, tgt_len - base);
        base = tgt_len;
        break;
      }
      hash.roll(tgt[at], tgt[at + block_size]);
      ++probe;
    }
  }
  if (base < tgt_len) put_insert(out, tgt + base, tgt_len - base);
  put_int(out, fossil_checksum(target));
  out.push_back(';');
}

// Cursor over a delta for the decoder.
class delta_reader {
 public:
  explicit delta_reader(std::string_view d) : d_(d) {}

  bool done() const { return pos_ >= d_.size(); }
  size_t remaining() const { return d_.size() - pos_; }

  // One or more digits; nullopt when there is none or the value exceeds 64 bits.
  std::optional<uint64_t> read_int() {
    uint64_t v = 0;
    const size_t start = pos_;
    while (pos_ < d_.size()) {
      const int8_t d = digit_values.v[static_cast<unsigned char>(d_[pos_])];
      if (d < 0) break;
      if (v > (std::numeric_limits<uint64_t>::max() >> 6)) return std::nullopt;
      v = (v << 6) | static_cast<uint64_t>(d);
      ++pos_;
    }
    if (pos_ == start) return std::nullopt;
    return v;
  }

  // The next byte, or '\0' at the end (never a valid operator).
  char read_char() { return pos_ < d_.size() ? d_[pos_++] : '\0'; }

  std::string_view take(size_t n) {
    std::string_view r = d_.substr(pos_, n);
    pos_ += n;
    return r;
  }

 private:
  std::string_view d_;
  size_t pos_ = 0;
};

}  // namespace

uint32_t fossil_checksum(std::string_view bytes) {
  const unsigned char* p = bytes_of(bytes);
  size_t n = bytes.size();
  // Four independent accumulators over whole words (~3x faster than summing bytes).
  uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  while (n >= 16) {
    s0 += load_be32(p);
    s1 += load_be32(p + 4);
    s2 += load_be32(p + 8);
    s3 += load_be32(p + 12);
    p += 16;
    n -= 16;
  }
  uint32_t sum = s0 + s1 + s2 + s3;
  for (; n >= 4; p += 4, n -= 4) sum += load_be32(p);
  // The final partial word, padded with zero bytes on the right.
  if (n >= 1) sum += uint32_t{p[0]} << 24;
  if (n >= 2) sum += uint32_t{p[1]} << 16;
  if (n >= 3) sum += uint32_t{p[2]} << 8;
  return sum;
}

std::string fossil_delta(std::string_view source, std::string_view target,
                         delta_alignment alignment) {
  scratch& s = thread_scratch();
  s.out.clear();
  // Inserts never carry more than the target, so this is enough for the whole delta.
  s.out.reserve(target.size() + 64);
  encode(source, target, alignment, s);
  std::string result(s.out);
  trim_scratch(s);
  return result;
}

std::optional<std::string> fossil_apply(std::string_view source, std::string_view delta,
                                        size_t max_output) {
  delta_reader r(delta);
  const auto limit = r.read_int();
  if (!limit || *limit > max_output || r.read_char() != '\n') return std::nullopt;

  std::string out;
  out.reserve(static_cast<size_t>(*limit));
  while (!r.done()) {
    const auto n = r.read_int();
    if (!n) return std::nullopt;
    switch (r.read_char()) {
      case '@': {
        const auto offset = r.read_int();
        if (!offset || r.read_char() != ',') return std::nullopt;
        if (*n > *limit - out.size()) return std::nullopt;  // longer than announced
        if (*offset > source.size() || *n > source.size() - *offset) return std::nullopt;
        out.append(source.substr(static_cast<size_t>(*offset), static_cast<size_t>(*n)));
        break;
      }
      case ':': {
        if (*n > *limit - out.size() || *n > r.remaining()) return std::nullopt;
        out.append(r.take(static_cast<size_t>(*n)));
        break;
      }
      case ';': {
        if (!r.done() || out.size() != *limit) return std::nullopt;
        if (*n != fossil_checksum(out)) return std::nullopt;
        return out;
      }
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;  // no checksum command
}

bool json_delta_sendable(std::string_view patch, size_t full_size) {
  return delta_worth_sending(patch.size(), full_size) && is_valid_utf8(patch);
}

}  // namespace gyre::protocol
