// http_api implementation; see http_api.hpp.
#include "api/http_api.hpp"

#include <openssl/crypto.h>

#include <chrono>
#include <memory>

#include "protocol/json_object.hpp"
#include "core/json_writer.hpp"

namespace gyre {

namespace {

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string error_object(const api_error& e) {
  std::string out;
  json_writer w(out);
  w.begin_object().member("code", e.code).member("message", e.message).end_object();
  return out;
}

// Method names of the legacy endpoint by number (server-api.md §9).
const char* const legacy_numbers[] = {
    "publish", "broadcast", "unsubscribe", "disconnect", "presence", "presence_stats", "history",
    "history_remove", "channels", "info", "rpc", "subscribe", "refresh", nullptr, "connections",
    "update_user_status", "get_user_status", "delete_user_status", "block_user", "unblock_user",
    "revoke_token", "invalidate_user_tokens", "device_register", "device_update", "device_remove",
    "device_list", "device_topic_list", "device_topic_update", "user_topic_list", "user_topic_update",
    "send_push_notification", "update_push_status", "cancel_push", "map_publish", "map_remove",
    "map_read_state", "map_read_stream", "map_stats", "map_clear", "shared_poll_publish"};

// Splits a stream of whitespace-separated JSON values into their texts.
// Returns false on anything that is not such a stream.
bool split_json_stream(std::string_view body, std::vector<std::string_view>& out) {
  size_t i = 0;
  while (true) {
    while (i < body.size() && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) ++i;
    if (i >= body.size()) return true;
    if (body[i] != '{') return false;
    size_t start = i;
    int depth = 0;
    bool in_string = false;
    for (; i < body.size(); ++i) {
      char c = body[i];
      if (in_string) {
        if (c == '\\') ++i;
        else if (c == '"') in_string = false;
        continue;
      }
      if (c == '"') in_string = true;
      else if (c == '{' || c == '[') ++depth;
      else if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++i;
          break;
        }
      }
    }
    if (depth != 0) return false;
    out.push_back(body.substr(start, i - start));
  }
}

}  // namespace

unsigned http_status_for_api_error(uint32_t code) {
  switch (code) {
    case 100: return 500;
    case 102: return 404;
    case 104: return 404;
    case 107: return 400;
    case 108: return 400;
    case 112: return 416;
    case 113: return 409;
    default: return 500;
  }
}

http_api::http_api(api_executor& exec, http_api_options opts, metrics::registry& metrics)
    : exec_(exec),
      opts_(std::move(opts)),
      duration_(metrics.add_histogram("centrifugo_api_command_duration_seconds_histogram",
                                      "Server API command duration.", {"protocol", "method"},
                                      metrics::default_latency_buckets())),
      errors_(metrics.add_counter("centrifugo_api_command_errors_total", "Server API command errors.",
                                  {"protocol", "method", "error"})) {
  if (opts_.prefix.size() > 1 && opts_.prefix.back() == '/') opts_.prefix.pop_back();
}

bool http_api::authorized(const http_request& req) const {
  if (opts_.insecure) return true;
  if (opts_.key.empty()) return false;
  std::string_view x = req.header("x-api-key");
  if (!x.empty()) return constant_time_equal(x, opts_.key);
  std::string_view auth = req.header("authorization");
  if (!auth.empty()) {
    // Exactly two whitespace-separated parts: "apikey <key>".
    size_t sp = auth.find_first_of(" \t");
    if (sp != std::string_view::npos) {
      std::string_view scheme = auth.substr(0, sp);
      std::string_view rest = auth.substr(sp);
      size_t k = rest.find_first_not_of(" \t");
      std::string_view key = k == std::string_view::npos ? std::string_view{} : rest.substr(k);
      bool apikey = scheme.size() == 6;
      for (size_t i = 0; apikey && i < 6; ++i) apikey = std::tolower(static_cast<unsigned char>(scheme[i])) == "apikey"[i];
      if (apikey && key.find_first_of(" \t") == std::string_view::npos && constant_time_equal(key, opts_.key))
        return true;
    }
  }
  if (!req.query.empty()) {
    std::string q = req.query_param("api_key");
    if (!q.empty() && constant_time_equal(q, opts_.key)) return true;
  }
  return false;
}

void http_api::handle(http_request req, http_reply reply) {
  if (req.method != "POST") {
    http_response r;
    r.status = 405;
    return reply(std::move(r));
  }
  if (!authorized(req)) {
    http_response r;
    r.status = 401;
    return reply(std::move(r));
  }
  std::string_view path = req.path;
  if (path == opts_.prefix) return handle_legacy(std::move(req), std::move(reply));
  std::string method(path.substr(opts_.prefix.size() + (opts_.prefix == "/" ? 0 : 1)));
  if (!api_executor::is_route(method)) return reply(http_response::text(404, "404 page not found\n"));
  handle_method(method, std::move(req), std::move(reply));
}

void http_api::handle_method(const std::string& method, http_request req, http_reply reply) {
  if (req.body.empty()) {
    errors_.with({"http", method, "unmarshal"}).inc();
    return reply(http_response::text(400, "Bad Request\n"));
  }
  bool transport_mode = opts_.transport_error_mode || req.header("x-centrifugo-error-mode") == "transport";
  auto started = std::chrono::steady_clock::now();
  auto& hist = duration_.with({"http", method});
  exec_.execute(method, req.body, [this, method, transport_mode, started, &hist, reply = std::move(reply)](api_outcome r) {
    hist.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!r.ok && r.result == "malformed") {
      errors_.with({"http", method, "unmarshal"}).inc();
      return reply(http_response::text(400, "Bad Request\n"));
    }
    if (method == "batch") return reply(http_response::json(std::move(r.result)));
    if (r.ok) return reply(http_response::json("{\"result\":" + r.result + "}"));
    errors_.with({"http", method, std::to_string(r.error.code)}).inc();
    if (transport_mode && method != "batch")
      return reply(http_response::json(error_object(r.error), http_status_for_api_error(r.error.code)));
    reply(http_response::json("{\"error\":" + error_object(r.error) + "}"));
  });
}

void http_api::handle_legacy(http_request req, http_reply reply) {
  std::vector<std::string_view> items;
  if (req.body.empty() || !split_json_stream(req.body, items) || items.empty())
    return reply(http_response::text(400, "Bad Request\n"));
  struct command {
    uint32_t id = 0;
    std::string method;
    std::string params;
    bool decode_error = false;
  };
  auto cmds = std::make_shared<std::vector<command>>();
  for (std::string_view text : items) {
    auto o = protocol::json_object::parse(text);
    if (!o) return reply(http_response::text(400, "Bad Request\n"));
    command c;
    if (!o->get("id", c.id)) c.decode_error = true;
    auto m = o->raw("method");
    if (!m || *m == "null") {
      c.method = "publish";  // a command without method decodes as method 0
    } else if (!m->empty() && (*m)[0] == '"') {
      std::string name;
      o->get("method", name);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (!api_executor::is_known_legacy_method(name)) return reply(http_response::text(400, "Bad Request\n"));
      c.method = name;
    } else {
      int64_t n = -1;
      if (!o->get("method", n) || n < 0 || n >= static_cast<int64_t>(std::size(legacy_numbers)) ||
          !legacy_numbers[n])
        return reply(http_response::text(400, "Bad Request\n"));
      c.method = legacy_numbers[n];
    }
    auto p = o->raw("params");
    c.params = p && *p != "null" ? std::string(*p) : "{}";
    cmds->push_back(std::move(c));
  }
  struct state {
    std::vector<std::string> lines;
    size_t next = 0;
  };
  auto st = std::make_shared<state>();
  st->lines.resize(cmds->size());
  auto pending = std::make_shared<std::atomic<int>>(0);
  auto step = std::make_shared<std::function<void()>>();
  auto shared_reply = std::make_shared<http_reply>(std::move(reply));
  *step = [this, cmds, st, step, pending, shared_reply] {
    if (pending->fetch_add(1) != 0) return;
    do {
      size_t i = st->next++;
      if (i >= cmds->size()) {
        std::string body;
        for (size_t k = 0; k < st->lines.size(); ++k) {
          if (k) body += '\n';
          body += st->lines[k];
        }
        (*shared_reply)(http_response::json(std::move(body)));
        *step = nullptr;
        return;
      }
      const command& c = (*cmds)[i];
      auto finish = [st, i, step, id = c.id](api_outcome r) {
        std::string line;
        json_writer w(line);
        w.begin_object();
        if (id) w.member("id", id);
        if (r.ok) w.member_raw("result", r.result);
        else w.member_raw("error", error_object(r.error));
        w.end_object();
        st->lines[i] = std::move(line);
        auto s = *step;
        if (s) s();
      };
      const bool oss = api_executor::is_route(c.method) && c.method != "batch";
      if (c.decode_error) finish(api_outcome::failure(errors::bad_request));
      else if (!oss) finish(api_outcome::failure(errors::method_not_found));
      else exec_.execute(c.method, c.params, [finish](api_outcome r) {
        if (!r.ok && r.result == "malformed") r.result.clear();
        finish(std::move(r));
      });
    } while (pending->fetch_sub(1) != 1);
  };
  auto start = *step;
  start();
}

}  // namespace gyre
