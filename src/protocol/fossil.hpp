// Fossil delta encoding (client-protocol.md §4.13): the patch format the JS SDK's
// `applyDelta` understands, an encoder that follows the reference algorithm (16-byte
// blocks, rolling hash, bucket chains, at most 250 candidates per probe, forward and
// backward extension, cost check), a strict decoder and the send-or-not helpers.
//
// Invariants:
// - fossil_apply(s, fossil_delta(s, t)) == t for every byte string s, t (both alignments).
// - With delta_alignment::utf8 every insert starts and ends on a character boundary of
//   the target, so the patch is valid UTF-8 whenever the target is; with ::bytes (the
//   reference behaviour) a patch of a non-ASCII target may split a character.
// - Work is linear in |source| + |target| (times the 250-candidate bound); the encoder
//   keeps its hash tables and scratch output in thread-local buffers, so a call makes one
//   allocation: the returned string, sized exactly.
// - Nothing here throws on input or crashes on malformed deltas.
//
// Pure functions, no shared state: callable from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gyre::protocol {

// Where an encoder may cut the target between a literal insert and a copy.
enum class delta_alignment : uint8_t {
  bytes,  // anywhere: the reference encoder's output (fine for Protobuf clients)
  utf8,   // only at UTF-8 character boundaries of the target: a valid-UTF-8 target gives a
          // valid-UTF-8 patch, which JSON clients need; costs a few bytes at most per edit.
};

// Returns a delta that turns `source` into `target`. Always valid (never fails); it may be
// larger than `target` (check delta_worth_sending before using it).
// The server computes it once per publication and shares it between all delta subscribers;
// use delta_alignment::utf8 when any of them speaks JSON (Protobuf accepts either form).
std::string fossil_delta(std::string_view source, std::string_view target,
                         delta_alignment alignment = delta_alignment::bytes);

// Largest output fossil_apply produces by default: bounds the memory a tiny hostile delta
// can make the decoder allocate (its header states the output length up front).
inline constexpr size_t fossil_default_max_output = size_t{64} << 20;

// Applies `delta` to `source`. Strict: the delta must be exactly `header cmd* checksum;`
// (no trailing bytes, every copy terminated by ','), copies must lie inside `source`, the
// output must have the announced length (<= max_output) and the checksum must match.
// Returns nullopt otherwise. Used by tests and fuzzing; the server never decodes deltas.
std::optional<std::string> fossil_apply(std::string_view source, std::string_view delta,
                                        size_t max_output = fossil_default_max_output);

// The format's checksum: the sum, modulo 2^32, of `bytes` read as big-endian 32-bit words
// (the last partial word padded with zero bytes on the right).
uint32_t fossil_checksum(std::string_view bytes);

// Spec rule "send full data when the patch is not shorter than the payload".
constexpr bool delta_worth_sending(size_t patch_size, size_t full_size) {
  return patch_size < full_size;
}

// The whole decision for a JSON subscriber: worth sending AND valid UTF-8. A JSON patch
// travels inside a JSON string; the SDK re-encodes the parsed string with TextEncoder, so
// a patch that splits a character arrives altered and fails its checksum, which stops the
// client. Protobuf callers need only delta_worth_sending.
bool json_delta_sendable(std::string_view patch, size_t full_size);

}  // namespace gyre::protocol
