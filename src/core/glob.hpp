// glob: the pattern language Centrifugo uses for `client.allowed_origins` and the `channels`
// API pattern (gobwas/glob without separators): `*` any run of characters (including none),
// `?` one character, `[abc]` / `[a-z]` / `[!abc]` one character of (not of) a class,
// `{a,b}` any of the alternatives, `\` escapes the next character.
// Matching is byte-wise; the caller lower-cases where the spec says so.
#pragma once

#include <string_view>

namespace gyre {

// Returns false for malformed patterns (unclosed class or brace) as well as for mismatches.
bool glob_match(std::string_view pattern, std::string_view text);

// Whether `pattern` is well formed.
bool glob_valid(std::string_view pattern);

}  // namespace gyre
