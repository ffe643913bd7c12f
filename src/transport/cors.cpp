// cors: CORS fields of the connection endpoints; see cors.hpp.
#include "transport/cors.hpp"

#include "core/log.hpp"
#include "transport/http_server.hpp"

namespace gyre::cors {

header_list headers_for(const http_request& req) {
  header_list out;
  std::string_view origin = req.header("origin");
  if (origin.empty()) return out;
  out.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  out.emplace_back("Access-Control-Allow-Credentials", "true");
  if (std::string_view h = req.header("access-control-request-headers"); !h.empty())
    out.emplace_back("Access-Control-Allow-Headers", std::string(h));
  return out;
}

http_response preflight(const http_request& req, std::string_view methods) {
  http_response r;
  r.status = 204;
  r.headers = headers_for(req);
  r.headers.emplace_back("Access-Control-Max-Age", "300");
  r.headers.emplace_back("Access-Control-Allow-Methods", std::string(methods));
  return r;
}

std::optional<http_response> check_origin(const http_request& req,
                                          const std::vector<std::string>& allowed) {
  std::string_view origin = req.header("origin");
  if (origin.empty() || origin_allowed(allowed, origin)) return std::nullopt;
  static log::limiter origins;
  log::limited(origins, spdlog::level::info, "request Origin is not allowed: {}", origin);
  return http_response::text(403, "request Origin is not allowed\n");
}

}  // namespace gyre::cors
