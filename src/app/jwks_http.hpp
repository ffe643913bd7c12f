// jwks_http: the HTTP GET that fetches a JSON Web Key Set for auth::jwks_cache (on the
// cache's own thread, never on an event loop), with libcurl.
//
// Bounds: jwks_fetch_timeout for the whole request (Centrifugo's 1 s), a body of at most
// jwks_max_body bytes (the transfer is aborted beyond), only http:// and https://, no
// redirects (a redirect could lead to another host), status 200 required.
#pragma once

#include <chrono>
#include <cstddef>

#include "auth/jwks_cache.hpp"

namespace gyre {

inline constexpr std::chrono::milliseconds jwks_fetch_timeout{1000};
inline constexpr size_t jwks_max_body = 1 << 20;

auth::jwks_fetch make_jwks_http_fetch(std::chrono::milliseconds timeout = jwks_fetch_timeout,
                                      size_t max_body = jwks_max_body);

}  // namespace gyre
