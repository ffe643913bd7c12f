// Random ids and secrets; see random.hpp.
#include "core/random.hpp"

#include <openssl/rand.h>

#include <random>
#include <stdexcept>

namespace gyre {

namespace {
// xoshiro256** seeded from std::random_device: fast, good enough for ids.
struct xoshiro {
  uint64_t s[4];
  xoshiro() {
    std::random_device rd;
    for (auto& v : s) v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};
thread_local xoshiro generator;
}  // namespace

uint64_t random_u64() {
  return generator.next();
}

uint64_t random_below(uint64_t bound) {
  return bound == 0 ? 0 : random_u64() % bound;
}

uuid_bytes uuid_v4_bytes() {
  uuid_bytes u;
  uint64_t a = random_u64(), b = random_u64();
  for (int i = 0; i < 8; ++i) {
    u[i] = static_cast<unsigned char>(a >> (i * 8));
    u[8 + i] = static_cast<unsigned char>(b >> (i * 8));
  }
  u[6] = static_cast<unsigned char>((u[6] & 0x0F) | 0x40);
  u[8] = static_cast<unsigned char>((u[8] & 0x3F) | 0x80);
  return u;
}

std::string uuid_to_string(const uuid_bytes& u) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(hex[u[i] >> 4]);
    s.push_back(hex[u[i] & 0xF]);
  }
  return s;
}

std::string uuid_v4() {
  return uuid_to_string(uuid_v4_bytes());
}

std::string random_epoch() {
  static constexpr char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string e(8, ' ');
  for (auto& c : e) c = letters[random_below(52)];
  return e;
}

std::string secure_random_bytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

}  // namespace gyre
