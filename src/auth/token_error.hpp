// Why a JWT was rejected, and what the client is told.
// Three outcomes must stay distinguishable because they map to different client codes:
//   expired  -> client error 109 "token expired" (connection and subscription tokens);
//   invalid  -> disconnect 3500 "invalid token" (connection) / error 103 "permission denied"
//               (subscription);
//   internal -> error 100 "internal server error" (e.g. a key source that is not available).
// `reason` is for server logs only; it is never sent to clients.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/expected.hpp"
#include "core/result.hpp"

namespace gyre::auth {

enum class token_error_code : uint8_t { invalid, expired, internal };

struct token_error {
  token_error_code code = token_error_code::invalid;
  std::string reason;
};

template <typename T>
using token_result = expected<T, token_error>;

inline unexpected<token_error> token_invalid(std::string reason) {
  return unexpected{token_error{token_error_code::invalid, std::move(reason)}};
}
inline unexpected<token_error> token_expired(std::string reason) {
  return unexpected{token_error{token_error_code::expired, std::move(reason)}};
}
inline unexpected<token_error> token_internal(std::string reason) {
  return unexpected{token_error{token_error_code::internal, std::move(reason)}};
}

constexpr std::string_view to_string(token_error_code c) {
  switch (c) {
    case token_error_code::invalid:
      return "invalid token";
    case token_error_code::expired:
      return "token expired";
    case token_error_code::internal:
      return "internal error";
  }
  return "invalid token";
}

// What a client gets for a rejected connection token (or refresh token).
inline status connection_token_failure(const token_error& e) {
  switch (e.code) {
    case token_error_code::expired:
      return errors::token_expired;
    case token_error_code::invalid:
      return disconnects::invalid_token;
    case token_error_code::internal:
      break;
  }
  return errors::internal;
}

// What a client gets for a rejected subscription token.
inline status subscription_token_failure(const token_error& e) {
  switch (e.code) {
    case token_error_code::expired:
      return errors::token_expired;
    case token_error_code::invalid:
      return errors::permission_denied;
    case token_error_code::internal:
      break;
  }
  return errors::internal;
}

}  // namespace gyre::auth
