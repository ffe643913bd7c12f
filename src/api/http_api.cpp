// http_api implementation; see http_api.hpp.
#include "api/http_api.hpp"

#include <openssl/crypto.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "api/api_tracing.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "protocol/json_object.hpp"
#include "tracing/tracer.hpp"

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

enum class split_result { ok, malformed, too_many };

// Splits a stream of whitespace-separated JSON objects into their texts, at most
// `max_items` of them.
split_result split_json_stream(std::string_view body, size_t max_items,
                               std::vector<std::string_view>& out) {
  size_t i = 0;
  while (true) {
    while (i < body.size() &&
           (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
      ++i;
    if (i >= body.size()) return split_result::ok;
    if (body[i] != '{') return split_result::malformed;
    if (out.size() == max_items) return split_result::too_many;
    size_t start = i;
    int depth = 0;
    bool in_string = false;
    for (; i < body.size(); ++i) {
      char c = body[i];
      if (in_string) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          in_string = false;
        continue;
      }
      if (c == '"')
        in_string = true;
      else if (c == '{' || c == '[')
        ++depth;
      else if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++i;
          break;
        }
      }
    }
    if (depth != 0) return split_result::malformed;
    out.push_back(body.substr(start, i - start));
  }
}

}  // namespace

unsigned http_status_for_api_error(uint32_t code) {
  switch (code) {
    case 100:
      return 500;
    case 102:
      return 404;
    case 104:
      return 404;
    case 107:
      return 400;
    case 108:
      return 400;
    case 112:
      return 416;
    case 113:
      return 409;
    default:
      return 500;
  }
}

http_api::http_api(api_executor& exec, http_api_options opts, api_metrics& metrics)
    : exec_(exec), opts_(std::move(opts)), metrics_(metrics) {
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
      for (size_t i = 0; apikey && i < 6; ++i)
        apikey = std::tolower(static_cast<unsigned char>(scheme[i])) == "apikey"[i];
      if (apikey && key.find_first_of(" \t") == std::string_view::npos &&
          constant_time_equal(key, opts_.key))
        return true;
    }
  }
  if (!req.query.empty()) {
    std::string q = req.query_param("api_key");
    if (!q.empty() && constant_time_equal(q, opts_.key)) return true;
  }
  return false;
}

std::optional<const api_method*> http_api::route_of(std::string_view path) const {
  if (path == opts_.prefix) return nullptr;  // the legacy endpoint
  std::string_view name = path.substr(opts_.prefix.size() + (opts_.prefix == "/" ? 0 : 1));
  const api_method* m = api_executor::find(name);
  if (!m || !m->route) return std::nullopt;
  return m;
}

http_admission http_api::admit(const http_request& head) {
  if (head.method != "POST") {
    http_response r;
    r.status = 405;
    r.headers.emplace_back("Allow", "POST");
    return http_admission::refuse(std::move(r));
  }
  if (!authorized(head)) {
    static log::limiter refusals;
    log::limited(refusals, spdlog::level::info,
                 "API request from {} to {} refused with 401: {} API key", head.remote_address,
                 head.path,
                 head.has_header("x-api-key") || head.has_header("authorization") ||
                         !head.query_param("api_key").empty()
                     ? "a wrong"
                     : "no");
    http_response r;
    r.status = 401;
    return http_admission::refuse(std::move(r));
  }
  if (!route_of(head.path))
    return http_admission::refuse(http_response::text(404, "404 page not found\n"));
  return http_admission::accept(opts_.max_request_body_size);
}

void http_api::handle(http_request req, http_reply reply) {
  // The transport called admit() and read at most the admitted body already; a direct
  // caller gets the same checks.
  if (auto a = admit(req); a.refusal) return reply(std::move(*a.refusal));
  if (req.body.size() > opts_.max_request_body_size)
    return reply(http_response::text(413, "request body too large\n"));
  const api_method* m = *route_of(req.path);
  tracing::span* trace = nullptr;
  if (opts_.tracer) {
    // The span ends when the response is handed to the transport; the reply function owns it.
    tracing::tracer* tracer = opts_.tracer;
    auto parent = tracing::parse_traceparent(req.header("traceparent"));
    auto sp = std::make_shared<tracing::span>(
        tracer->start(req.path, tracing::span_kind::server, parent ? &*parent : nullptr,
                      parent ? std::string(req.header("tracestate")) : std::string()));
    sp->set("http.request.method", req.method);
    sp->set("url.path", req.path);
    trace = sp.get();
    reply = [tracer, sp, reply = std::move(reply)](http_response r) {
      sp->set_int("http.response.status_code", r.status);
      if (r.status >= 400 && sp->status != tracing::status_code::error)
        sp->fail("HTTP " + std::to_string(r.status));
      r.headers.emplace_back("traceresponse", tracing::format_traceparent(sp->context));
      tracer->end(std::move(*sp));
      reply(std::move(r));
    };
  }
  if (!m) return run_legacy_api(exec_, std::move(req), std::move(reply), opts_.tracer, trace);
  handle_method(*m, std::move(req), std::move(reply), trace);
}

void http_api::handle_method(const api_method& m, http_request req, http_reply reply,
                             tracing::span* trace) {
  std::string method(m.name);
  if (req.body.empty()) {
    metrics_.error(api_protocol::http, method, "unmarshal");
    return reply(http_response::text(400, "Bad Request\n"));
  }
  const bool transport_mode =
      opts_.transport_error_mode || req.header("x-centrifugo-error-mode") == "transport";
  const bool batch = m.name == "batch";  // its reply is the replies object, no envelope
  auto started = std::chrono::steady_clock::now();
  auto& hist = metrics_.duration(api_protocol::http, m);
  if (trace) {
    if (batch)
      trace->set("centrifugo.method", "batch");
    else
      api_tracing::describe_command(*trace, m.name, req.body);
  }
  auto done = [this, method, batch, transport_mode, started, &hist, trace,
               reply = std::move(reply)](api_outcome r) {
    hist.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (trace) api_tracing::record_outcome(*trace, r);
    if (r.malformed) {
      metrics_.error(api_protocol::http, method, "unmarshal");
      return reply(http_response::text(400, "Bad Request\n"));
    }
    if (r.ok && batch) return reply(http_response::json(std::move(r.result)));
    if (r.ok) {
      std::string body;
      body.reserve(r.result.size() + 11);
      body.append("{\"result\":").append(r.result).push_back('}');
      return reply(http_response::json(std::move(body)));
    }
    metrics_.error(api_protocol::http, method, std::to_string(r.error.code));
    if (transport_mode && !batch)
      return reply(
          http_response::json(error_object(r.error), http_status_for_api_error(r.error.code)));
    reply(http_response::json("{\"error\":" + error_object(r.error) + "}"));
  };
  if (trace && batch)
    exec_.execute_batch(req.body, *opts_.tracer, *trace, std::move(done));
  else
    exec_.execute(m, req.body, std::move(done));
}

// The legacy endpoint: one reply line per command, in order, each command run when the
// previous one finished, all within max_response_size (read results that do not fit get
// 106, as in a batch).
void run_legacy_api(api_executor& exec, http_request req, http_reply reply, tracing::tracer* tracer,
                    tracing::span* trace) {
  const size_t max_commands = exec.limits().max_batch_commands;
  std::vector<std::string_view> items;
  split_result split =
      req.body.empty() ? split_result::malformed : split_json_stream(req.body, max_commands, items);
  if (split == split_result::too_many) {
    static log::limiter refusals;
    log::limited(refusals, spdlog::level::warn,
                 "API request from {} refused with 413: more than {} commands "
                 "(gyre.http_api.max_batch_commands)",
                 req.remote_address, max_commands);
    return reply(http_response::text(
        413, "more than " + std::to_string(max_commands) +
                 " commands in one request (gyre.http_api.max_batch_commands)\n"));
  }
  if (split != split_result::ok || items.empty())
    return reply(http_response::text(400, "Bad Request\n"));
  struct command {
    uint32_t id = 0;
    const api_method* method = nullptr;
    std::string params;
    bool decode_error = false;
  };
  struct state {
    std::vector<command> commands;
    std::string body;  // the reply lines so far
    size_t next = 0;
    std::atomic<int> pending{0};
    std::function<void()> step;
    http_reply reply;
  };
  auto st = std::make_shared<state>();
  st->commands.reserve(items.size());
  for (std::string_view text : items) {
    auto o = protocol::json_object::parse(text);
    if (!o) return reply(http_response::text(400, "Bad Request\n"));
    command c;
    if (!o->get("id", c.id)) c.decode_error = true;
    auto m = o->raw("method");
    if (!m || *m == "null") {
      c.method = api_executor::find_legacy(0);  // a command without method decodes as method 0
    } else if (!m->empty() && (*m)[0] == '"') {
      std::string name;
      o->get("method", name);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      c.method = api_executor::find(name);
      if (!c.method || c.method->legacy_number < 0)
        return reply(http_response::text(400, "Bad Request\n"));
    } else {
      int64_t n = -1;
      if (!o->get("method", n) || !(c.method = api_executor::find_legacy(n)))
        return reply(http_response::text(400, "Bad Request\n"));
    }
    auto p = o->raw("params");
    c.params = p && *p != "null" ? std::string(*p) : "{}";
    st->commands.push_back(std::move(c));
  }
  st->reply = std::move(reply);
  const size_t budget = exec.limits().max_response_size;
  // The counter is a trampoline, as in api_executor::batch.
  st->step = [&exec, st, budget, tracer, trace] {
    if (st->pending.fetch_add(1) != 0) return;
    do {
      size_t i = st->next++;
      if (i >= st->commands.size()) {
        auto reply = std::move(st->reply);
        auto body = std::move(st->body);
        st->step = nullptr;  // breaks the self-reference; no call follows
        return reply(http_response::json(std::move(body)));
      }
      const command& c = st->commands[i];
      // With tracing, each command's span is a child of the request's (which outlives the
      // loop: it ends with the reply).
      std::shared_ptr<tracing::span> child;
      if (trace) {
        child = std::make_shared<tracing::span>(
            tracer->start_child(std::string(c.method->name), tracing::span_kind::internal, *trace));
        api_tracing::describe_command(*child, c.method->name, c.params);
      }
      auto finish = [st, i, id = c.id, child, tracer](api_outcome r) {
        if (child) {
          api_tracing::record_outcome(*child, r);
          tracer->end(std::move(*child));
        }
        if (i) st->body += '\n';
        json_writer w(st->body);
        w.begin_object();
        if (id) w.member("id", id);
        if (r.ok)
          w.member_raw("result", r.result);
        else
          w.member_raw("error", error_object(r.error));
        w.end_object();
        auto step = st->step;  // copy: the loop may reset st->step
        if (step) step();
      };
      const size_t left = st->body.size() < budget ? budget - st->body.size() : 0;
      if (c.decode_error)
        finish(api_outcome::failure(errors::bad_request));
      else if (!c.method->run || !c.method->in_batch)
        finish(api_outcome::failure(errors::method_not_found));
      else if (c.method->read_only && left == 0)
        finish(reply_too_large(budget));
      else
        exec.execute(*c.method, c.params, c.method->read_only ? left : budget, finish);
    } while (st->pending.fetch_sub(1) != 1);
  };
  auto start = st->step;
  start();
}

}  // namespace gyre
