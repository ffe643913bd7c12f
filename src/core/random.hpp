// Randomness: fast non-cryptographic ids (client ids, epochs) and cryptographic bytes
// for secrets (genconfig). Thread-safe: each thread has its own generator.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace gyre {

// 64 random bits from a per-thread generator seeded from the OS.
uint64_t random_u64();
// A random integer in [0, bound).
uint64_t random_below(uint64_t bound);
// RFC 4122 version-4 UUID in its 36-character text form.
std::string uuid_v4();
// Binary UUIDv4 (16 bytes) and its text form; the text form is derived on demand.
using uuid_bytes = std::array<unsigned char, 16>;
uuid_bytes uuid_v4_bytes();
std::string uuid_to_string(const uuid_bytes& u);
// Stream epoch: 8 random ASCII letters (memory/Redis engines).
std::string random_epoch();
// `n` bytes from the OS CSPRNG (OpenSSL RAND_bytes).
std::string secure_random_bytes(size_t n);

}  // namespace gyre
