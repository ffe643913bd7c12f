// admin_token: the token that /admin/auth hands out for a right admin.password and that
// /admin/api and /admin/init accept in `Authorization: token <T>`.
//
// Format (Gyre's own; the UI treats it as opaque): "v1.<issued unix seconds>.<mac>" where
// mac = base64url(HMAC-SHA256(admin.secret, "gyre admin token v1|<issued>")). A token is
// valid for max_admin_token_age after it was issued (Centrifugo's admin tokens also last
// 30 days), and not when issued in the future beyond a minute of clock skew. Changing
// admin.secret invalidates every token issued before.
//
// What must hold: the MAC is compared in constant time; malformed tokens of any size are
// refused without exceptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace gyre::admin {

inline constexpr std::chrono::seconds max_admin_token_age{30 * 24 * 3600};

// A token issued at `now_unix` (seconds). `secret` must not be empty.
std::string issue_admin_token(std::string_view secret, int64_t now_unix);
// Whether `token` was issued with `secret` and is still valid at `now_unix`.
bool verify_admin_token(std::string_view secret, std::string_view token, int64_t now_unix);

}  // namespace gyre::admin
