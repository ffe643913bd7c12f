// Helpers shared by the codec tests: decoding with the padding transports guarantee, and
// readable hex for Protobuf bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec.hpp"

// The build passes the absolute path; the default works from the repository root.
#ifndef GYRE_FUZZ_CORPUS_DIR
#define GYRE_FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

namespace gyre::protocol::test {

// Decodes `frame` from a buffer followed by `decode_padding` bytes of junk that would
// change the result if a decoder read past the frame's end.
inline decode_status decode_padded(const codec& c, std::string_view frame,
                                   std::vector<command>& out) {
  std::string buf(frame);
  for (size_t i = 0; i < decode_padding; ++i) buf.push_back("7}\"]\n,\x80{"[i % 8]);
  return c.decode_commands(std::string_view(buf.data(), frame.size()), out);
}

// "08 05 42 00" -> bytes.
inline std::string from_hex(std::string_view hex) {
  std::string out;
  int nibbles = 0;
  unsigned v = 0;
  for (char ch : hex) {
    unsigned d;
    if (ch >= '0' && ch <= '9')
      d = static_cast<unsigned>(ch - '0');
    else if (ch >= 'a' && ch <= 'f')
      d = static_cast<unsigned>(ch - 'a' + 10);
    else if (ch >= 'A' && ch <= 'F')
      d = static_cast<unsigned>(ch - 'A' + 10);
    else
      continue;
    v = v << 4 | d;
    if (++nibbles == 2) {
      out.push_back(static_cast<char>(v));
      nibbles = 0;
      v = 0;
    }
  }
  return out;
}

inline std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (char ch : bytes) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(digits[static_cast<uint8_t>(ch) >> 4]);
    out.push_back(digits[static_cast<uint8_t>(ch) & 0xF]);
  }
  return out;
}

// Contents of every file in the fuzz seed corpus of `target`, as (name, bytes).
inline std::vector<std::pair<std::string, std::string>> seed_corpus(std::string_view target) {
  std::vector<std::pair<std::string, std::string>> files;
  std::filesystem::path dir = std::filesystem::path(GYRE_FUZZ_CORPUS_DIR) / target;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    files.emplace_back(entry.path().filename().string(),
                       std::string(std::istreambuf_iterator<char>(in), {}));
  }
  return files;
}

}  // namespace gyre::protocol::test
