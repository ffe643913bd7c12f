// Base64 (RFC 4648) in the standard and the URL-safe alphabets. Decoders reject
// malformed input instead of guessing; the URL-safe decoder accepts missing padding
// (JWT segments have none).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gyre {

std::string base64_encode(std::string_view bytes);                   // standard, padded
std::string base64url_encode(std::string_view bytes);                // URL-safe, no padding
std::optional<std::string> base64_decode(std::string_view text);     // standard, padded
std::optional<std::string> base64url_decode(std::string_view text);  // URL-safe, padding optional

}  // namespace gyre
