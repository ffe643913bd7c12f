// exporter_settings: see exporter_settings.hpp.
#include "tracing/exporter_settings.hpp"

#include <charconv>
#include <string_view>

namespace gyre::tracing {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// %XX decoding (W3C Baggage octets, as OTEL_EXPORTER_OTLP_HEADERS values use).
std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// "k1=v1,k2=v2" into `out` (later keys replace earlier ones of the same name).
bool parse_pairs(std::string_view text, std::vector<std::pair<std::string, std::string>>& out) {
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || trim(item.substr(0, eq)).empty()) return false;
    std::string key = percent_decode(trim(item.substr(0, eq)));
    std::string value = percent_decode(trim(item.substr(eq + 1)));
    bool replaced = false;
    for (auto& [k, v] : out)
      if (k == key) {
        v = value;
        replaced = true;
      }
    if (!replaced) out.emplace_back(std::move(key), std::move(value));
  }
  return true;
}

bool parse_count(const char* v, uint64_t& out) {
  std::string_view s = trim(v);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::optional<exporter_settings> settings_from_env(
    const std::function<const char*(const char*)>& env, std::string& error) {
  exporter_settings s;
  auto get = [&](const char* name) -> const char* {
    const char* v = env(name);
    return v && *v ? v : nullptr;
  };
  auto bad = [&](const char* name, const char* value, const std::string& why) {
    error = std::string(name) + "=\"" + value + "\": " + why;
    return std::nullopt;
  };

  for (const char* name : {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"}) {
    if (const char* v = get(name)) {
      if (trim(v) != "http/protobuf")
        return bad(name, v,
                   "Gyre exports spans with OTLP over HTTP only; the protocol must be "
                   "http/protobuf");
      break;  // the traces-specific variable wins
    }
  }
  if (const char* v = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
    s.endpoint = trim(v);
  } else if (const char* v = get("OTEL_EXPORTER_OTLP_ENDPOINT")) {
    std::string base(trim(v));
    if (!base.empty() && base.back() == '/') base.pop_back();
    s.endpoint = base + "/v1/traces";
  }
  if (s.endpoint.rfind("http://", 0) != 0 && s.endpoint.rfind("https://", 0) != 0)
    return bad(get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
                                                         : "OTEL_EXPORTER_OTLP_ENDPOINT",
               s.endpoint.c_str(), "the endpoint must be an http:// or https:// URL");
  for (const char* name : {"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"})
    if (const char* v = get(name))
      if (!parse_pairs(v, s.headers))
        return bad(name, v, "expected key=value pairs separated by ','");

  struct number {
    const char* name;
    uint64_t min;
    std::function<void(uint64_t)> set;
  };
  const number numbers[] = {
      {"OTEL_EXPORTER_OTLP_TIMEOUT", 1,
       [&](uint64_t n) { s.timeout = std::chrono::milliseconds(n); }},
      {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", 1,
       [&](uint64_t n) { s.timeout = std::chrono::milliseconds(n); }},
      {"OTEL_BSP_SCHEDULE_DELAY", 1,
       [&](uint64_t n) { s.schedule_delay = std::chrono::milliseconds(n); }},
      {"OTEL_BSP_MAX_QUEUE_SIZE", 1, [&](uint64_t n) { s.max_queue_size = n; }},
      {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1, [&](uint64_t n) { s.max_export_batch_size = n; }},
  };
  for (const auto& n : numbers) {
    const char* v = get(n.name);
    if (!v) continue;
    uint64_t value = 0;
    if (!parse_count(v, value) || value < n.min)
      return bad(n.name, v, "expected a positive integer");
    n.set(value);
  }
  if (s.max_export_batch_size > s.max_queue_size) s.max_export_batch_size = s.max_queue_size;

  if (const char* v = get("OTEL_RESOURCE_ATTRIBUTES"))
    if (!parse_pairs(v, s.resource_attributes))
      return bad("OTEL_RESOURCE_ATTRIBUTES", v, "expected key=value pairs separated by ','");
  for (const auto& [k, v] : s.resource_attributes)
    if (k == "service.name") s.service_name = v;
  if (const char* v = get("OTEL_SERVICE_NAME")) s.service_name = trim(v);
  return s;
}

}  // namespace gyre::tracing
