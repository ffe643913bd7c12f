// admin_handler: everything under {admin.handler_prefix}: the admin endpoints and the
// admin web UI (docs/admin.md).
//
//   {p}/admin/init  any method: {"insecure", "edition": "oss", "authenticated"}; when
//                   authenticated also "gyre": {"websocket_path", "websocket_port"} (where
//                   the UI's live channel view connects)
//   {p}/admin/auth  POST form field `password` → {"token": T}; 400 on a wrong password or
//                   when admin.password / admin.secret is empty; 405 for other methods
//   {p}/admin/api   POST, `Authorization: token T` (or admin.insecure), else 401: the legacy
//                   command stream of the server API (run_legacy_api), plus the admin-only
//                   actions below when the body is one command
//   {p}/...         GET: the web UI (embedded, the admin.web_path directory, or proxied to
//                   admin.web_proxy_address through the web_proxy hook)
//
// Admin-only actions ({"method": "<action>", "params": {...}}, replied in the same
// one-line format):
//   reload              runs the reload hook ("" = done); error 108 "not available" unset
//   connection_token    {user, ttl?, info?}: an HS256 connection JWT for testing
//   subscription_token  {user, channel, ttl?}: an HS256 subscription JWT for testing
// The tokens are signed by the sign_token hook with the current client.token /
// client.subscription_token HMAC key (108 when there is none).
//
// What must hold: the password and tokens are compared in constant time; a request
// without a valid token is answered 401 from its head, its body never read; refusals are
// logged through log::limited.
//
// Threading: as any http_handler. The hooks are called on the connection's thread (a
// requests thread or an event loop): they must not block for long.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "transport/http_types.hpp"
#include "web/asset_bundle.hpp"

namespace gyre {

class api_executor;

namespace web {
class static_files;
}

namespace admin {

struct admin_options {
  std::string prefix;  // admin.handler_prefix: "" or "/path" (no trailing '/')
  std::string password;
  std::string secret;
  bool insecure = false;
  std::string web_path;                               // serve this directory instead
  const web::asset_bundle* bundle = nullptr;          // the embedded UI
  uint64_t max_request_body_size = 16 * 1024 * 1024;  // gyre.http_api.max_request_body_size
  std::string websocket_path;                         // "" when the client WebSocket is off
  uint16_t websocket_port = 0;                        // the external listener's port
};

struct token_request {
  std::string user;
  std::string channel;  // non-empty: a subscription token
  int64_t ttl = 3600;   // seconds; <= 0: no expiry
  std::string info;     // raw JSON for the `info` claim, "" for none
};

struct admin_hooks {
  // The `reload` action: starts a reload and calls `done` with "" when the new
  // configuration took effect, else why not, from any thread (reading the file is blocking
  // work: the application runs it off the event loops). Unset: the action answers error
  // 108 "not available". The application serialises it with its other reloads (SIGHUP).
  std::function<void(std::function<void(std::string)> done)> reload;
  // Signs a test token; returns false with `error` set when it cannot. Unset: 108.
  std::function<bool(const token_request&, std::string& token, std::string& error)> sign_token;
  // Seconds since the epoch (tests set it).
  std::function<int64_t()> now;
  // admin.web_proxy_address: set, the UI's GET/HEAD requests go to it instead of the
  // embedded files, with the target below the prefix ("/app.js?x=1"); it replies later, from
  // any thread, and must not block (app/admin_web_proxy.hpp).
  std::function<void(std::string target, http_reply reply)> web_proxy;
};

class admin_handler final : public http_handler {
 public:
  admin_handler(api_executor& exec, admin_options opts, admin_hooks hooks);
  ~admin_handler() override;

  http_admission admit(const http_request& head) override;
  void handle(http_request req, http_reply reply) override;

  // Whether `req` carries a valid admin token (or admin.insecure is on).
  bool authenticated(const http_request& req) const;

 private:
  enum class route { init, auth, api, files };
  route route_of(std::string_view path) const;
  void handle_init(const http_request& req, http_reply reply);
  void handle_auth(const http_request& req, http_reply reply);
  void handle_api(http_request req, http_reply reply);
  // An admin-only action if `body` is one command naming one; false otherwise.
  bool try_action(std::string_view body, http_reply& reply);
  int64_t now() const;

  api_executor& exec_;
  admin_options opts_;
  admin_hooks hooks_;
  std::unique_ptr<web::static_files> files_;
};

}  // namespace admin
}  // namespace gyre
