// dispatch: message → API command → executor; see dispatch.hpp.
#include "consumers/dispatch.hpp"

#include <simdjson.h>

#include <array>
#include <charconv>
#include <random>

#include "api/executor.hpp"
#include "core/base64.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "protocol/json_object.hpp"

namespace gyre::consumers {

namespace {

decoded skip(std::string reason) {
  decoded d;
  d.skip_reason = std::move(reason);
  return d;
}

bool is_json(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string copy(text);
  return !parser.parse(copy).error();
}

// Go's strconv.ParseBool.
std::optional<bool> parse_bool(std::string_view s) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"})
    if (s == t) return true;
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"})
    if (s == f) return false;
  return std::nullopt;
}

}  // namespace

const api_method* consumable_method(std::string_view name) {
  static constexpr std::array<std::string_view, 7> allowed = {
      "publish",    "broadcast",      "subscribe", "unsubscribe",
      "disconnect", "history_remove", "refresh"};
  for (auto a : allowed)
    if (a == name) return api_executor::find(name);
  return nullptr;
}

decoded decode_command(std::string_view method, std::string_view body) {
  std::string params;
  if (method.empty()) {
    auto envelope = protocol::json_object::parse(body);
    if (!envelope) return skip("invalid JSON: the body is not a {method, payload} object");
    std::string name;
    if (!envelope->get("method", name)) return skip("invalid JSON: \"method\" is not a string");
    if (name.empty()) return skip("no method in the message");
    method = name;
    const api_method* m = consumable_method(name);
    if (!m) return skip("unsupported method \"" + name + "\"");
    auto raw = envelope->raw("payload");
    if (!raw || *raw == "null") return skip("no payload in the message");
    if (!raw->empty() && raw->front() == '"') {
      // A JSON string holding the request (Debezium-style JSONB columns).
      if (!envelope->get("payload", params)) return skip("invalid JSON string in \"payload\"");
    } else {
      params = std::string(*raw);
    }
    if (!protocol::json_object::parse(params))
      return skip("invalid JSON: payload is not an object");
    decoded d;
    d.method = m;
    d.params = std::move(params);
    return d;
  }
  const api_method* m = consumable_method(method);
  if (!m) return skip("unsupported method \"" + std::string(method) + "\"");
  if (!protocol::json_object::parse(body)) return skip("invalid JSON: the body is not an object");
  decoded d;
  d.method = m;
  d.params = std::string(body);
  return d;
}

std::optional<std::string_view> message_meta::get(std::string_view name) const {
  if (name.empty()) return std::nullopt;
  for (const auto& [k, v] : items)
    if (k == name) return v;
  return std::nullopt;
}

decoded decode_publication(const config::publication_data_mode_config& mode,
                           const message_meta& meta, std::string_view data) {
  std::string_view channels_text = meta.get(mode.channels_).value_or("");
  if (channels_text.empty()) return skip("no channels in \"" + mode.channels_ + "\"");
  std::vector<std::string_view> channels;
  for (size_t start = 0;;) {
    size_t comma = channels_text.find(',', start);
    channels.push_back(channels_text.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  bool delta = false;
  if (auto d = meta.get(mode.delta_)) {
    auto b = parse_bool(*d);
    if (!b) return skip("invalid boolean in \"" + mode.delta_ + "\"");
    delta = *b;
  }
  uint64_t version = 0;
  if (auto v = meta.get(mode.version_)) {
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), version);
    if (ec != std::errc() || end != v->data() + v->size() || v->empty())
      return skip("invalid unsigned integer in \"" + mode.version_ + "\"");
  }
  std::string params;
  json_writer w(params);
  w.begin_object();
  if (channels.size() == 1) {
    w.member("channel", channels[0]);
  } else {
    w.key("channels").begin_array();
    for (auto c : channels) w.string(c);
    w.end_array();
  }
  if (is_json(data))
    w.member_raw("data", data);
  else
    w.member("b64data", base64_encode(data));
  if (auto k = meta.get(mode.idempotency_key_); k && !k->empty()) w.member("idempotency_key", *k);
  if (delta) w.member("delta", true);
  if (version) w.member("version", version);
  if (auto e = meta.get(mode.version_epoch_); e && !e->empty()) w.member("version_epoch", *e);
  if (!mode.tags_prefix_.empty()) {
    bool any = false;
    for (const auto& [k, v] : meta.items) {
      if (k.size() <= mode.tags_prefix_.size() || !k.starts_with(mode.tags_prefix_)) continue;
      if (!any) w.key("tags").begin_object();
      any = true;
      w.member(k.substr(mode.tags_prefix_.size()), v);
    }
    if (any) w.end_object();
  }
  w.end_object();
  decoded d;
  d.method = api_executor::find(channels.size() == 1 ? "publish" : "broadcast");
  d.params = std::move(params);
  return d;
}

bool is_retryable(bool ok, uint32_t error_code, std::string_view result_json) {
  if (!ok) return error_code == errors::internal.code;
  if (result_json.find("\"responses\"") == std::string_view::npos) return false;
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string copy(result_json);
  simdjson::dom::element root;
  if (parser.parse(copy).get(root)) return false;
  simdjson::dom::array responses;
  if (root["responses"].get_array().get(responses)) return false;
  for (auto r : responses) {
    uint64_t code = 0;
    if (!r["error"]["code"].get_uint64().get(code) && code == errors::internal.code) return true;
  }
  return false;
}

consumer_metrics::consumer_metrics(metrics::registry& r)
    : processed(r.add_counter("centrifugo_consumers_messages_processed_total",
                              "Messages a consumer acknowledged (run or skipped).",
                              {"consumer_name"})),
      errors(r.add_counter("centrifugo_consumers_errors_total",
                           "Consumer failures: bad messages skipped and attempts to be retried.",
                           {"consumer_name"})),
      duration(*[&r] {
        const char* name = "centrifugo_api_command_duration_seconds_histogram";
        if (auto* f = r.find_histogram(name)) return f;
        return &r.add_histogram(name, "Server API command duration.", {"protocol", "method"},
                                metrics::default_latency_buckets());
      }()) {}

dispatcher::dispatcher(api_executor& exec, std::string consumer_name, consumer_metrics& m)
    : exec_(exec),
      name_(std::move(consumer_name)),
      processed_(m.processed.with({name_})),
      errors_(m.errors.with({name_})),
      duration_(m.duration) {}

void dispatcher::run(const decoded& d, const std::string& message_id,
                     std::function<void(result)> done) {
  if (!d.method) {
    log::write(spdlog::level::err, "consumer: bad message skipped",
               {{"consumer", name_}, {"message_id", message_id}, {"error", d.skip_reason}});
    errors_.inc();
    processed_.inc();
    return done({outcome::skipped, d.skip_reason});
  }
  const api_method* m = d.method;
  metrics::histogram& hist = duration_.with({"consuming", std::string(m->name)});
  auto started = std::chrono::steady_clock::now();
  // The reply may come after the consumer stopped: it captures nothing of `this` (the
  // counters live in the server's registry, which outlives the executor).
  exec_.execute(
      *m, d.params,
      [name_ = name_, &processed_ = processed_, &errors_ = errors_, &hist, started, m, message_id,
       done = std::move(done)](api_outcome o) {
        hist.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        if (is_retryable(o.ok, o.error.code, o.result)) {
          errors_.inc();
          std::string why = o.ok ? "internal error in a broadcast response" : o.error.message;
          log::write(spdlog::level::err, "consumer: internal error, message will be retried",
                     {{"consumer", name_},
                      {"message_id", message_id},
                      {"method", std::string(m->name)},
                      {"error", why}});
          return done({outcome::retry, why});
        }
        processed_.inc();
        if (!o.ok) {
          errors_.inc();
          std::string why = std::to_string(o.error.code) + " " + o.error.message;
          log::write(spdlog::level::err, "consumer: command failed, message skipped",
                     {{"consumer", name_},
                      {"message_id", message_id},
                      {"method", std::string(m->name)},
                      {"error", why}});
          return done({outcome::skipped, why});
        }
        done({outcome::done, {}});
      });
}

std::chrono::milliseconds retry_backoff(unsigned retries) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  int64_t jitter = std::uniform_int_distribution<int64_t>(0, 9)(rng);
  int64_t ms = (10 + jitter) << std::min(retries, 16u);
  return std::chrono::milliseconds(std::min<int64_t>(ms, 5000));
}

}  // namespace gyre::consumers
