// UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
// Used for WebSocket text frames, JSON strings and delta patches sent as JSON strings.
#pragma once

#include <cstddef>
#include <string_view>

namespace gyre {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid
// or truncated.
size_t utf8_sequence_length(std::string_view s, size_t i);

bool is_valid_utf8(std::string_view s);

// Incremental validator for data that arrives in pieces (fragmented WebSocket messages).
// feed() returns false as soon as the bytes seen so far cannot be valid UTF-8;
// complete() tells whether the input ended on a character boundary.
class utf8_validator {
 public:
  bool feed(std::string_view chunk);
  bool complete() const { return pending_len_ == 0; }
  void reset() { pending_len_ = 0; }

 private:
  unsigned char pending_[4] = {};
  size_t pending_len_ = 0;
};

}  // namespace gyre
