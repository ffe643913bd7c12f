// cors: the CORS answer of the client connection endpoints (streaming transports and
// /emulation), as Centrifugo's middleware gives it: when the request's Origin is allowed
// (client.allowed_origins, http_server.hpp's origin_allowed), the response echoes it in
// Access-Control-Allow-Origin, allows credentials and echoes the requested headers.
// A request whose Origin is not allowed is refused with 403 by the endpoints.
//
// Threading: pure functions, any thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "transport/http_types.hpp"

namespace gyre::cors {

using header_list = std::vector<std::pair<std::string, std::string>>;

// The CORS fields for `req` (none when it has no Origin).
header_list headers_for(const http_request& req);

// The answer to a preflight (OPTIONS): 204 with the CORS fields, Access-Control-Max-Age 300
// and Access-Control-Allow-Methods `methods`.
http_response preflight(const http_request& req, std::string_view methods);

// 403 for a request whose Origin is not in `allowed`; nullopt when it may go on.
std::optional<http_response> check_origin(const http_request& req,
                                          const std::vector<std::string>& allowed);

}  // namespace gyre::cors
