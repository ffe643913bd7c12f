// admin_handler implementation; see admin_handler.hpp.
#include "admin/admin_handler.hpp"

#include <openssl/crypto.h>

#include <chrono>

#include "admin/admin_token.hpp"
#include "api/executor.hpp"
#include "api/http_api.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "protocol/json_object.hpp"
#include "web/static_files.hpp"

namespace gyre::admin {

namespace {

constexpr uint64_t max_auth_body = 4096;

// The T of "Authorization: token T" (scheme case-insensitive), "" when absent.
std::string_view bearer_of(const http_request& req) {
  std::string_view auth = req.header("authorization");
  size_t sp = auth.find_first_of(" \t");
  if (sp == std::string_view::npos || !iequals_ascii(auth.substr(0, sp), "token")) return {};
  std::string_view rest = auth.substr(sp);
  size_t k = rest.find_first_not_of(" \t");
  if (k == std::string_view::npos) return {};
  rest = rest.substr(k);
  if (rest.find_first_of(" \t") != std::string_view::npos) return {};
  return rest;
}

http_response method_not_allowed(std::string_view allow) {
  http_response r = http_response::text(405, "Method Not Allowed\n");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

// One reply line of the legacy format.
std::string result_line(std::string_view id_raw, std::string_view result_json) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  if (!id_raw.empty() && id_raw != "0") w.member_raw("id", id_raw);
  w.member_raw("result", result_json).end_object();
  return out;
}

std::string error_line(std::string_view id_raw, uint32_t code, std::string_view message) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  if (!id_raw.empty() && id_raw != "0") w.member_raw("id", id_raw);
  w.key("error").begin_object().member("code", code).member("message", message).end_object();
  w.end_object();
  return out;
}

}  // namespace

admin_handler::admin_handler(api_executor& exec, admin_options opts, admin_hooks hooks)
    : exec_(exec), opts_(std::move(opts)), hooks_(std::move(hooks)) {
  if (opts_.prefix.size() == 1 && opts_.prefix[0] == '/') opts_.prefix.clear();
  if (!opts_.prefix.empty() && opts_.prefix.back() == '/') opts_.prefix.pop_back();
  web::static_files_options fo;
  fo.mount = opts_.prefix;
  fo.bundle = opts_.bundle;
  fo.directory = opts_.web_path;
  // The UI loads nothing from another host; its WebSocket may go to the client port.
  fo.headers = {
      {"Content-Security-Policy",
       "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
       "style-src 'self'; script-src 'self'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
  };
  files_ = std::make_unique<web::static_files>(std::move(fo));
}

admin_handler::~admin_handler() = default;

int64_t admin_handler::now() const {
  if (hooks_.now) return hooks_.now();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

admin_handler::route admin_handler::route_of(std::string_view path) const {
  if (!path.starts_with(opts_.prefix)) return route::files;
  std::string_view rel = path.substr(opts_.prefix.size());
  if (rel == "/admin/init") return route::init;
  if (rel == "/admin/auth") return route::auth;
  if (rel == "/admin/api") return route::api;
  return route::files;
}

bool admin_handler::authenticated(const http_request& req) const {
  if (opts_.insecure) return true;
  std::string_view token = bearer_of(req);
  return !token.empty() && verify_admin_token(opts_.secret, token, now());
}

http_admission admin_handler::admit(const http_request& head) {
  switch (route_of(head.path)) {
    case route::init:
      return http_admission::accept(0);
    case route::auth:
      if (head.method != "POST") return http_admission::refuse(method_not_allowed("POST"));
      return http_admission::accept(max_auth_body);
    case route::api:
      if (head.method != "POST") return http_admission::refuse(method_not_allowed("POST"));
      if (!authenticated(head)) {
        static log::limiter refusals;
        log::limited(refusals, spdlog::level::info,
                     "admin API request from {} refused with 401: {} admin token",
                     head.remote_address, head.has_header("authorization") ? "a wrong" : "no");
        return http_admission::refuse(http_response::text(401, "Unauthorized\n"));
      }
      return http_admission::accept(opts_.max_request_body_size);
    case route::files:
      if (hooks_.web_proxy && head.method != "GET" && head.method != "HEAD")
        return http_admission::refuse(method_not_allowed("GET, HEAD"));
      return http_admission::accept(0);
  }
  return http_admission::accept(0);
}

void admin_handler::handle(http_request req, http_reply reply) {
  if (auto a = admit(req); a.refusal) return reply(std::move(*a.refusal));
  switch (route_of(req.path)) {
    case route::init:
      return handle_init(req, std::move(reply));
    case route::auth:
      return handle_auth(req, std::move(reply));
    case route::api:
      return handle_api(std::move(req), std::move(reply));
    case route::files:
      if (hooks_.web_proxy) {
        std::string_view rel = req.path;
        rel.remove_prefix(std::min(rel.size(), opts_.prefix.size()));
        std::string target(rel.empty() ? std::string_view("/") : rel);
        if (!req.query.empty()) {
          target.push_back('?');
          target.append(req.query);
        }
        return hooks_.web_proxy(std::move(target), std::move(reply));
      }
      return files_->handle(std::move(req), std::move(reply));
  }
}

void admin_handler::handle_init(const http_request& req, http_reply reply) {
  const bool ok = authenticated(req);
  std::string body;
  json_writer w(body);
  w.begin_object()
      .member("insecure", opts_.insecure)
      .member("edition", std::string_view("oss"))
      .member("authenticated", ok);
  if (ok) {
    w.key("gyre").begin_object().member("websocket_path", opts_.websocket_path);
    w.member("websocket_port", static_cast<uint32_t>(opts_.websocket_port)).end_object();
  }
  w.end_object();
  reply(http_response::json(std::move(body)));
}

void admin_handler::handle_auth(const http_request& req, http_reply reply) {
  if (opts_.password.empty() || opts_.secret.empty())
    return reply(
        http_response::text(400, "admin.password and admin.secret must be set to log in\n"));
  http_request form;
  form.query = req.body;
  std::string password = form.query_param("password");
  const bool match = password.size() == opts_.password.size() &&
                     CRYPTO_memcmp(password.data(), opts_.password.data(), password.size()) == 0;
  if (!match) {
    static log::limiter refusals;
    log::limited(refusals, spdlog::level::warn, "admin login from {} refused: wrong password",
                 req.remote_address);
    return reply(http_response::text(400, "Bad Request\n"));
  }
  log::info("admin login from {}", req.remote_address);
  std::string body;
  json_writer w(body);
  w.begin_object().member("token", issue_admin_token(opts_.secret, now())).end_object();
  reply(http_response::json(std::move(body)));
}

void admin_handler::handle_api(http_request req, http_reply reply) {
  if (try_action(req.body, reply)) return;
  run_legacy_api(exec_, std::move(req), std::move(reply));
}

bool admin_handler::try_action(std::string_view body, http_reply& reply) {
  auto cmd = protocol::json_object::parse(body);
  if (!cmd) return false;
  std::string method;
  if (!cmd->get("method", method)) return false;
  if (method != "reload" && method != "connection_token" && method != "subscription_token")
    return false;
  std::string id = std::string(cmd->raw("id").value_or(""));
  auto answer = [&](std::string line) { reply(http_response::json(std::move(line))); };
  std::optional<protocol::json_object> params;
  if (cmd->has("params") && cmd->raw("params") != "null" && !cmd->get("params", params)) {
    answer(error_line(id, 107, "bad request"));
    return true;
  }
  if (method == "reload") {
    if (!hooks_.reload) {
      answer(error_line(id, 108, "not available"));
      return true;
    }
    hooks_.reload([id, reply = std::move(reply)](std::string err) {
      if (!err.empty()) {
        log::warn("admin reload failed: {}", err);
        return reply(http_response::json(error_line(id, 100, err)));
      }
      log::info("configuration reloaded from the admin API");
      reply(http_response::json(result_line(id, "{}")));
    });
    return true;
  }
  token_request tr;
  bool ok = true;
  if (params) {
    ok = params->get("user", tr.user) && params->get("channel", tr.channel) &&
         params->get("ttl", tr.ttl);
    if (auto info = params->raw("info"); ok && info && *info != "null") {
      if (info->empty() || (*info)[0] != '{')
        ok = false;
      else
        tr.info = std::string(*info);
    }
  }
  if (!ok) {
    answer(error_line(id, 107, "bad request"));
    return true;
  }
  const bool sub = method == "subscription_token";
  if (sub && tr.channel.empty()) {
    answer(error_line(id, 107, "channel required"));
    return true;
  }
  if (!sub) tr.channel.clear();
  if (!hooks_.sign_token) {
    answer(error_line(id, 108, "not available"));
    return true;
  }
  std::string token, error;
  if (!hooks_.sign_token(tr, token, error)) {
    answer(error_line(id, 108, error));
    return true;
  }
  std::string result;
  json_writer w(result);
  w.begin_object().member("token", token).end_object();
  answer(result_line(id, result));
  return true;
}

}  // namespace gyre::admin
