// admin_token: the token that /admin/auth hands out for a right admin.password and that
// /admin/api and /admin/init accept in `Authorization: token <T>`.
//
// Format: Centrifugo's, so that a token an existing Centrifugo admin session holds (same
// admin.secret) works with Gyre and the other way round. Centrifugo encodes the cookie
// value "authorized" under the name "token" with gorilla/securecookie (hash key =
// admin.secret, no encryption):
//   T    = base64url_padded(issued "|" value "|" mac)
//   value = base64url_padded(gob encoding of the Go string "authorized")
//   mac  = HMAC-SHA256(admin.secret, "token|" issued "|" value)   (32 raw bytes)
// where `issued` is decimal Unix seconds. A token is valid for max_admin_token_age after
// it was issued (securecookie's default maximum age, 30 days), and not when issued in the
// future beyond a minute of clock skew. Changing admin.secret invalidates every token
// issued before.
//
// What must hold: the MAC is compared in constant time; malformed tokens of any size are
// refused without exceptions; tokens longer than securecookie's 4096 bytes are refused.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace gyre::admin {

inline constexpr std::chrono::seconds max_admin_token_age{30 * 24 * 3600};
inline constexpr size_t max_admin_token_size = 4096;

// A token issued at `now_unix` (seconds). `secret` must not be empty.
std::string issue_admin_token(std::string_view secret, int64_t now_unix);
// Whether `token` was issued with `secret` and is still valid at `now_unix`.
bool verify_admin_token(std::string_view secret, std::string_view token, int64_t now_unix);

}  // namespace gyre::admin
