// Config validation rules; see validate.hpp.
#include "config/validate.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <set>

#include "config/channel_resolution.hpp"
#include "core/go_regex.hpp"

namespace gyre::config {

namespace {

std::string q(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

std::string list(std::initializer_list<std::string_view> allowed) {
  std::string out;
  for (auto a : allowed) {
    if (!out.empty()) out += ", ";
    out += q(a);
  }
  return out;
}

// "must be whole seconds" message; tiny values were almost surely bare numbers (= ns).
std::string whole_seconds_message(duration d) {
  std::string m = "must be whole seconds, got " + format_go_duration(d);
  if (d.count() != 0 && d.count() > -1'000'000 && d.count() < 1'000'000)
    m += " (a bare number means nanoseconds; write e.g. \"300s\")";
  return m;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c > 127) return false;
  return true;
}

class validator {
 public:
  std::vector<std::string> run(const config& c) {
    c_ = &c;
    check_process(c);
    check_http_server(c.http_server_);
    check_websocket_compression(c.websocket_);
    check_engines(c);
    check_client(c.client_);
    check_channel(c.channel_);
    check_rpc(c.rpc_);
    check_proxies(c.proxies_);
    check_apis(c);
    check_consumers(c.consumers_);
    return std::move(errors_);
  }

 private:
  void error(const std::string& key, const std::string& message) {
    errors_.push_back(key + ": " + message);
  }

  void check_enum(const std::string& key, std::string_view v,
                  std::initializer_list<std::string_view> allowed) {
    if (!one_of(v, allowed))
      error(key, "unknown value " + q(v) + ", expected one of " + list(allowed));
  }

  void check_regex(const std::string& key, const std::string& pattern) {
    if (pattern.empty()) return;
    // The same compile as the code that uses the pattern (token verifier, channel rules).
    go_regex re(pattern);
    if (!re.ok()) error(key, re.error());
  }

  void check_non_negative(const std::string& key, int64_t v) {
    if (v < 0) error(key, "must not be negative, got " + std::to_string(v));
  }
  void check_non_negative(const std::string& key, duration d) {
    if (d.count() < 0) error(key, "must not be negative, got " + format_go_duration(d));
  }

  // ---------------------------------------------------------------- process, listeners

  void check_process(const config& c) {
    check_enum("log.level", c.log_.level_, {"none", "trace", "debug", "info", "warn", "error"});
    check_non_negative("gyre.num_event_loops", c.gyre_.num_event_loops_);
    if (c.gyre_.position_check_batch_size_ < 1)
      error("gyre.position_check_batch_size",
            "must be at least 1, got " + std::to_string(c.gyre_.position_check_batch_size_));
    check_non_negative("gyre.http_server.max_header_size", c.gyre_.http_server_.max_header_size_);
    if (c.gyre_.http_server_.max_header_size_ > 0xffffffffLL)
      error("gyre.http_server.max_header_size", "must be at most 4294967295");
    check_non_negative("gyre.http_api.max_request_body_size",
                       c.gyre_.http_api_.max_request_body_size_);
    check_non_negative("gyre.http_api.max_batch_commands", c.gyre_.http_api_.max_batch_commands_);
    check_non_negative("gyre.http_api.max_response_size", c.gyre_.http_api_.max_response_size_);
    // A turn's command count lives in 16 bits of every connection.
    if (c.gyre_.read_budget_commands_ <= 0 || c.gyre_.read_budget_commands_ > UINT16_MAX)
      error("gyre.read_budget_commands",
            "must be between 1 and 65535, got " + std::to_string(c.gyre_.read_budget_commands_));
    for (auto [k, v] : {std::pair{"gyre.read_budget_bytes", c.gyre_.read_budget_bytes_},
                        {"gyre.event_loop_inbox_size", c.gyre_.event_loop_inbox_size_}})
      if (v <= 0 || v > UINT32_MAX)
        error(k, "must be between 1 and 4294967295, got " + std::to_string(v));
    check_non_negative("shutdown.timeout", c.shutdown_.timeout_);
    check_enum("gyre.log_format", c.gyre_.log_format_, {"auto", "text", "json"});
    if (c.graphite_.enabled_) {
      if (c.graphite_.port_ < 1 || c.graphite_.port_ > 65535)
        error("graphite.port", "port out of range: " + std::to_string(c.graphite_.port_));
      if (c.graphite_.interval_.count() <= 0)
        error("graphite.interval",
              "must be positive, got " + format_go_duration(c.graphite_.interval_));
    }
  }

  void check_port(const std::string& key, int64_t port) {
    if (port < 0 || port > 65535) error(key, "port out of range: " + std::to_string(port));
  }

  void check_http_server(const http_server_config& s) {
    check_port("http_server.port", s.port_);
    if (!s.internal_port_.empty()) {
      bool numeric = std::all_of(s.internal_port_.begin(), s.internal_port_.end(), [](char ch) {
        return std::isdigit(static_cast<unsigned char>(ch));
      });
      if (!numeric || s.internal_port_.size() > 5 || std::stol(s.internal_port_) > 65535)
        error("http_server.internal_port", "invalid port " + q(s.internal_port_));
    }
    if (s.h2c_external_) {
      if (s.effective_internal_port() == std::to_string(s.port_))
        error("http_server.h2c_external", "requires a separate http_server.internal_port");
      if (s.tls_.enabled_ || s.tls_autocert_.enabled_)
        error("http_server.h2c_external", "cannot be used with TLS on the external listener");
    }
    if (s.http3_.enabled_ && !s.tls_.enabled_)
      error("http_server.http3.enabled", "requires http_server.tls (autocert is not supported)");
  }

  // permessage-deflate (docs/compression.md): zlib's levels plus -2 (Huffman only).
  void check_websocket_compression(const websocket_config& w) {
    if (w.compression_level_ < -2 || w.compression_level_ > 9)
      error("websocket.compression_level",
            "must be between -2 and 9, got " + std::to_string(w.compression_level_));
    check_non_negative("websocket.compression_min_size", w.compression_min_size_);
    check_non_negative("websocket.decompressed_message_size_limit",
                       w.decompressed_message_size_limit_);
  }

  // ---------------------------------------------------------------- engines

  void check_engines(const config& c) {
    check_enum("engine.type", c.engine_.type_, {"memory", "redis"});
    check_enum("broker.type", c.broker_.type_,
               {"memory", "nats", "redis", "redisnats", "postgres"});
    if (c.broker_.enabled_ && c.broker_.type_ == "redisnats" && !c.enable_unreleased_features_)
      error("broker.type", "\"redisnats\" requires enable_unreleased_features");
    check_enum("presence_manager.type", c.presence_manager_.type_, {"memory", "redis"});
    check_enum("map_broker.type", c.map_broker_.type_, {"memory", "redis", "postgres"});
    if (c.controller_.enabled_) check_enum("controller.type", c.controller_.type_, {"postgres"});
    check_non_negative("engine.redis.db", c.engine_.redis_.db_);
  }

  // ---------------------------------------------------------------- proxies

  void check_status_transforms(const std::string& key,
                               const std::vector<http_status_transform>& ts) {
    for (size_t i = 0; i < ts.size(); ++i) {
      const auto& t = ts[i];
      std::string k = key + "[" + std::to_string(i) + "]";
      if (t.status_code_ <= 0) error(k + ".status_code", "must be set");
      bool has_error = t.to_error_.code_ != 0 || !t.to_error_.message_.empty();
      bool has_disconnect = t.to_disconnect_.code_ != 0 || !t.to_disconnect_.reason_.empty();
      if (has_error == has_disconnect)
        error(k, "exactly one of to_error and to_disconnect must be set");
      if (has_error && t.to_error_.code_ == 0) error(k + ".to_error.code", "must be set");
      if (has_disconnect && t.to_disconnect_.code_ == 0)
        error(k + ".to_disconnect.code", "must be set");
      if (!is_ascii(t.to_error_.message_) || t.to_error_.message_.size() > 123)
        error(k + ".to_error.message", "must be ASCII and at most 123 characters");
      if (!is_ascii(t.to_disconnect_.reason_) || t.to_disconnect_.reason_.size() > 123)
        error(k + ".to_disconnect.reason", "must be ASCII and at most 123 characters");
    }
  }

  // A proxy that is used: endpoint and a positive timeout are required.
  void check_proxy(const std::string& key, const proxy_config& p) {
    if (p.endpoint_.empty()) error(key + ".endpoint", "must be set");
    if (p.timeout_.count() <= 0) error(key + ".timeout", "must be positive");
    check_status_transforms(key + ".http.status_to_code_transforms",
                            p.http_.status_to_code_transforms_);
  }

  // A `<kind>_proxy_name` reference: `default` → the given default block, which must be
  // configured; any other name → an entry of proxies[].
  void check_proxy_ref(const std::string& key, std::string_view name,
                       const std::string& default_key, const proxy_config& default_proxy) {
    if (name.empty() || name == "default") {
      if (default_proxy.endpoint_.empty())
        error(key, "uses the default proxy but " + default_key + ".endpoint is not set");
      else if (default_proxy.timeout_.count() <= 0)
        error(key, "uses the default proxy but " + default_key + ".timeout is not positive");
      return;
    }
    for (const auto& p : c_->proxies_)
      if (p.name_ == name) return;
    error(key, "proxy " + q(name) + " is not defined in proxies");
  }

  void check_proxies(const std::vector<named_proxy_config>& proxies) {
    std::set<std::string> seen;
    for (size_t i = 0; i < proxies.size(); ++i) {
      const auto& p = proxies[i];
      std::string k = "proxies[" + std::to_string(i) + "]";
      if (!is_valid_namespace_name(p.name_))
        error(k + ".name",
              "invalid proxy name " + q(p.name_) + ", must match ^[-a-zA-Z0-9_.]{2,}$");
      else if (p.name_ == "default")
        error(k + ".name",
              "\"default\" is reserved for the proxies under channel.proxy / rpc.proxy");
      else if (!seen.insert(p.name_).second)
        error(k + ".name", "duplicate proxy name " + q(p.name_));
      check_proxy(k, p);
    }
  }

  // ---------------------------------------------------------------- client

  void check_token(const std::string& key, const token_config& t) {
    if (!t.user_id_claim_.empty()) {
      bool ok = std::all_of(t.user_id_claim_.begin(), t.user_id_claim_.end(), [](char ch) {
        return std::isalpha(static_cast<unsigned char>(ch)) || ch == '_';
      });
      if (!ok) error(key + ".user_id_claim", "must match ^[a-zA-Z_]+$, got " + q(t.user_id_claim_));
    }
    if (!t.audience_.empty() && !t.audience_regex_.empty())
      error(key + ".audience_regex", "cannot be used together with " + key + ".audience");
    if (!t.issuer_.empty() && !t.issuer_regex_.empty())
      error(key + ".issuer_regex", "cannot be used together with " + key + ".issuer");
    check_regex(key + ".audience_regex", t.audience_regex_);
    check_regex(key + ".issuer_regex", t.issuer_regex_);
    check_non_negative(key + ".hmac_previous_secret_key_valid_until",
                       t.hmac_previous_secret_key_valid_until_);
    if (!t.jwks_public_endpoint_.empty()) check_jwks_endpoint(key, t);
  }

  // The body of named group `name` in `pattern` ((?P<name>...) or (?<name>...)), or nullopt.
  static std::optional<std::string> named_group_body(const std::string& pattern,
                                                     const std::string& name) {
    for (std::string open : {"(?P<" + name + ">", "(?<" + name + ">"}) {
      size_t pos = pattern.find(open);
      if (pos == std::string::npos) continue;
      size_t start = pos + open.size();
      int depth = 1;
      for (size_t i = start; i < pattern.size(); ++i) {
        if (pattern[i] == '\\') {
          ++i;
          continue;
        }
        if (pattern[i] == '(') ++depth;
        if (pattern[i] == ')' && --depth == 0) return pattern.substr(start, i - start);
      }
      return std::nullopt;
    }
    return std::nullopt;
  }

  // A "literal alternation": a|b|c of plain characters (escaped dots allowed).
  static bool is_literal_alternation(std::string_view body) {
    if (body.empty()) return false;
    for (size_t i = 0; i < body.size(); ++i) {
      char ch = body[i];
      if (ch == '\\' && i + 1 < body.size() && (body[i + 1] == '.' || body[i + 1] == '-')) {
        ++i;
        continue;
      }
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '|'))
        return false;
    }
    return true;
  }

  void check_jwks_endpoint(const std::string& key, const token_config& t) {
    const std::string k = key + ".jwks_public_endpoint";
    const std::string& url = t.jwks_public_endpoint_;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      error(k, "must be an http:// or https:// URL");
    // A token must never choose the host keys are fetched from (docs/tokens.md, "JWKS").
    const size_t authority = url.find("://");
    size_t path_start =
        authority == std::string::npos ? 0 : url.find_first_of("/?#", authority + 3);
    if (path_start == std::string::npos) path_start = url.size();
    size_t pos = 0;
    while ((pos = url.find("{{", pos)) != std::string::npos) {
      size_t end = url.find("}}", pos + 2);
      if (end == std::string::npos) {
        error(k, "unterminated {{ placeholder");
        return;
      }
      if (pos < path_start) {
        error(k,
              "placeholders are only allowed in the path or query, not in the scheme, host or "
              "port");
        return;
      }
      std::string name = url.substr(pos + 2, end - pos - 2);
      name.erase(0, name.find_first_not_of(' '));
      name.erase(name.find_last_not_of(' ') + 1);
      pos = end + 2;
      auto body = named_group_body(t.issuer_regex_, name);
      if (!body) body = named_group_body(t.audience_regex_, name);
      if (!body) {
        error(k,
              "placeholder {{" + name + "}} has no named group in issuer_regex or audience_regex");
        continue;
      }
      if (!t.insecure_skip_jwks_endpoint_safety_check_ && !is_literal_alternation(*body))
        error(k, "placeholder {{" + name + "}} uses group (" + *body +
                     ") which is not a literal alternation like a|b|c (set "
                     "insecure_skip_jwks_endpoint_safety_check to allow it)");
    }
  }

  void check_client(const client_config& cl) {
    if (cl.ping_interval_ <= cl.pong_timeout_)
      error("client.ping_interval", "must be greater than client.pong_timeout (" +
                                        format_go_duration(cl.ping_interval_) +
                                        " <= " + format_go_duration(cl.pong_timeout_) + ")");
    check_token("client.token", cl.token_);
    if (cl.subscription_token_.enabled_)
      check_token("client.subscription_token", cl.subscription_token_);
    if (cl.proxy_.connect_.enabled_) check_proxy("client.proxy.connect", cl.proxy_.connect_);
    if (cl.proxy_.refresh_.enabled_) check_proxy("client.proxy.refresh", cl.proxy_.refresh_);
    for (auto [k, v] : {std::pair{"channel_limit", cl.channel_limit_},
                        {"queue_max_size", cl.queue_max_size_},
                        {"concurrency", cl.concurrency_},
                        {"connection_limit", cl.connection_limit_},
                        {"user_connection_limit", cl.user_connection_limit_},
                        {"connection_rate_limit", cl.connection_rate_limit_},
                        {"history_max_publication_limit", cl.history_max_publication_limit_},
                        {"recovery_max_publication_limit", cl.recovery_max_publication_limit_}})
      check_non_negative(std::string("client.") + k, v);

    const auto& pc = cl.subscribe_to_user_personal_channel_;
    if (pc.enabled_) {
      const std::string k = "client.subscribe_to_user_personal_channel.personal_channel_namespace";
      const channel_options* opts = find_channel_options(*c_, pc.personal_channel_namespace_);
      if (opts == nullptr)
        error(k, "namespace " + q(pc.personal_channel_namespace_) +
                     " is not defined in channel.namespaces");
      else if (pc.single_connection_ && !opts->presence_)
        error("client.subscribe_to_user_personal_channel.single_connection",
              "requires presence enabled on " +
                  (pc.personal_channel_namespace_.empty()
                       ? std::string("channel.without_namespace")
                       : "namespace " + q(pc.personal_channel_namespace_)));
    }
  }

  // ---------------------------------------------------------------- channel

  void check_channel(const channel_config& ch) {
    if (!is_whole_seconds(ch.history_meta_ttl_))
      error("channel.history_meta_ttl", whole_seconds_message(ch.history_meta_ttl_));
    check_non_negative("channel.history_meta_ttl", ch.history_meta_ttl_);
    check_enum("channel.publication_data_format", ch.publication_data_format_,
               {"", "json", "json_object", "binary"});
    if (ch.max_length_ <= 0) error("channel.max_length", "must be positive");
    for (auto [name, proxy] : {std::pair{"subscribe", &ch.proxy_.subscribe_},
                               {"publish", &ch.proxy_.publish_},
                               {"sub_refresh", &ch.proxy_.sub_refresh_},
                               {"subscribe_stream", &ch.proxy_.subscribe_stream_},
                               {"map_publish", &ch.proxy_.map_publish_},
                               {"map_remove", &ch.proxy_.map_remove_},
                               {"shared_poll_refresh", &ch.proxy_.shared_poll_refresh_}})
      check_status_transforms(
          std::string("channel.proxy.") + name + ".http.status_to_code_transforms",
          proxy->http_.status_to_code_transforms_);
    check_options("channel.without_namespace", ch, ch.without_namespace_);
    std::set<std::string> seen;
    for (size_t i = 0; i < ch.namespaces_.size(); ++i) {
      const auto& ns = ch.namespaces_[i];
      std::string k = "channel.namespaces[" + std::to_string(i) + "]";
      if (!is_valid_namespace_name(ns.name_))
        error(k + ".name",
              "invalid namespace name " + q(ns.name_) + ", must match ^[-a-zA-Z0-9_.]{2,}$");
      else if (!seen.insert(ns.name_).second)
        error(k + ".name", "duplicate namespace name " + q(ns.name_));
      check_options(k, ch, ns);
    }
  }

  void check_options(const std::string& k, const channel_config& ch, const channel_options& o) {
    // History.
    check_non_negative(k + ".history_size", o.history_size_);
    check_non_negative(k + ".history_ttl", o.history_ttl_);
    check_non_negative(k + ".history_meta_ttl", o.history_meta_ttl_);
    if (!is_whole_seconds(o.history_ttl_))
      error(k + ".history_ttl", whole_seconds_message(o.history_ttl_));
    if (!is_whole_seconds(o.history_meta_ttl_))
      error(k + ".history_meta_ttl", whole_seconds_message(o.history_meta_ttl_));
    if (o.history_size_ > 0 && o.history_ttl_.count() <= 0)
      error(k + ".history_ttl", "must be set when history_size is set (both or neither)");
    if (o.history_ttl_.count() > 0 && o.history_size_ <= 0)
      error(k + ".history_size", "must be set when history_ttl is set (both or neither)");
    if (o.history_ttl_.count() > 0 && effective_history_meta_ttl(ch, o) < o.history_ttl_) {
      if (o.history_meta_ttl_.count() != 0)
        error(k + ".history_meta_ttl", "must be >= history_ttl (" +
                                           format_go_duration(o.history_meta_ttl_) + " < " +
                                           format_go_duration(o.history_ttl_) + ")");
      else
        error(k + ".history_ttl", "exceeds channel.history_meta_ttl (" +
                                      format_go_duration(ch.history_meta_ttl_) +
                                      "); set history_meta_ttl >= history_ttl");
    }
    if (o.force_recovery_ && !o.history_enabled())
      error(k + ".force_recovery", "requires history (history_size and history_ttl)");
    if (o.gyre_conflation_ && !o.history_enabled())
      error(k + ".gyre_conflation",
            "requires history (history_size and history_ttl): the offsets show a subscriber "
            "what it skipped");
    check_enum(k + ".force_recovery_mode", o.force_recovery_mode_, {"", "stream", "cache"});
    if (o.auto_cache_recover_ && !(o.force_recovery_ && o.force_recovery_mode_ == "cache"))
      error(k + ".auto_cache_recover", "requires force_recovery and force_recovery_mode \"cache\"");
    for (size_t i = 0; i < o.allowed_delta_types_.size(); ++i)
      if (o.allowed_delta_types_[i] != "fossil")
        error(k + ".allowed_delta_types[" + std::to_string(i) + "]",
              "unknown delta type " + q(o.allowed_delta_types_[i]) +
                  ", only \"fossil\" is supported");
    check_enum(k + ".publication_data_format", o.publication_data_format_,
               {"", "json", "json_object", "binary"});
    check_regex(k + ".channel_regex", o.channel_regex_);

    // Proxies.
    const auto& dp = ch.proxy_;
    if (o.subscribe_proxy_enabled_)
      check_proxy_ref(k + ".subscribe_proxy_name", o.subscribe_proxy_name_,
                      "channel.proxy.subscribe", dp.subscribe_);
    if (o.publish_proxy_enabled_)
      check_proxy_ref(k + ".publish_proxy_name", o.publish_proxy_name_, "channel.proxy.publish",
                      dp.publish_);
    if (o.sub_refresh_proxy_enabled_)
      check_proxy_ref(k + ".sub_refresh_proxy_name", o.sub_refresh_proxy_name_,
                      "channel.proxy.sub_refresh", dp.sub_refresh_);
    if (o.subscribe_stream_proxy_enabled_) {
      check_proxy_ref(k + ".subscribe_stream_proxy_name", o.subscribe_stream_proxy_name_,
                      "channel.proxy.subscribe_stream", dp.subscribe_stream_);
      if (o.subscribe_proxy_enabled_ || o.publish_proxy_enabled_ || o.sub_refresh_proxy_enabled_)
        error(k + ".subscribe_stream_proxy_enabled",
              "cannot be combined with subscribe, publish or sub_refresh proxies");
    }

    // Subscription types.
    check_enum(k + ".subscription_type", o.subscription_type_,
               {"", "stream", "map", "map_clients", "map_users", "shared_poll"});
    bool map_type = one_of(o.subscription_type_, {"map", "map_clients", "map_users"});
    if (map_type) check_map(k + ".map", ch, o);
    if (o.subscription_type_ == "shared_poll") check_shared_poll(k + ".shared_poll", ch, o);
    check_presence_prefix(k + ".map_clients_presence_channel_prefix",
                          o.map_clients_presence_channel_prefix_, "map_clients");
    check_presence_prefix(k + ".map_users_presence_channel_prefix",
                          o.map_users_presence_channel_prefix_, "map_users");
  }

  void check_presence_prefix(const std::string& key, const std::string& prefix,
                             std::string_view required_type) {
    if (prefix.empty()) return;
    auto r = resolve_channel(*c_, prefix);
    if (!r)
      error(key, "namespace of " + q(prefix) + " is not defined in channel.namespaces");
    else if (r->options_->subscription_type_ != required_type)
      error(key, "channels with prefix " + q(prefix) +
                     " must be in a namespace with subscription_type " + q(required_type));
  }

  void check_map(const std::string& k, const channel_config& ch, const channel_options& o) {
    const map_options& m = o.map_;
    if (m.mode_.empty()) {
      error(k + ".mode", "is required for subscription_type " + q(o.subscription_type_));
      return;
    }
    check_enum(k + ".mode", m.mode_, {"ephemeral", "recoverable", "persistent"});
    if ((m.mode_ == "ephemeral" || m.mode_ == "recoverable") && m.key_ttl_.count() <= 0)
      error(k + ".key_ttl", "must be positive in " + q(m.mode_) + " mode");
    if (m.mode_ == "persistent" && m.key_ttl_.count() != 0)
      error(k + ".key_ttl", "must be 0 in \"persistent\" mode");
    if (m.mode_ == "ephemeral") {
      if (m.stream_size_ != 0) error(k + ".stream_size", "must be 0 in \"ephemeral\" mode");
      if (m.stream_ttl_.count() != 0) error(k + ".stream_ttl", "must be 0 in \"ephemeral\" mode");
    }
    if (m.mode_ == "persistent" && o.subscription_type_ != "map")
      error(k + ".mode",
            "\"persistent\" is not allowed with subscription_type " + q(o.subscription_type_));
    if (m.meta_ttl_.count() > 0 && m.stream_ttl_.count() > 0 && m.meta_ttl_ < m.stream_ttl_)
      error(k + ".meta_ttl", "must be >= stream_ttl");
    check_enum(k + ".client_key", m.client_key_, {"", "client_id", "user_id"});
    if (!m.client_key_.empty() && (m.publish_proxy_enabled_ || m.remove_proxy_enabled_))
      error(k + ".client_key", "cannot be used with map publish/remove proxies");
    if (m.publish_proxy_enabled_)
      check_proxy_ref(k + ".publish_proxy_name", m.publish_proxy_name_, "channel.proxy.map_publish",
                      ch.proxy_.map_publish_);
    if (m.remove_proxy_enabled_)
      check_proxy_ref(k + ".remove_proxy_name", m.remove_proxy_name_, "channel.proxy.map_remove",
                      ch.proxy_.map_remove_);
    if (m.min_page_size_ > m.max_page_size_)
      error(k + ".min_page_size", "must not exceed max_page_size");
  }

  void check_shared_poll(const std::string& k, const channel_config& ch, const channel_options& o) {
    const shared_poll_options& sp = o.shared_poll_;
    check_enum(k + ".mode", sp.mode_, {"", "versionless", "versioned"});
    if (sp.publish_enabled_ && sp.mode_ != "versioned")
      error(k + ".publish_enabled", "requires mode \"versioned\"");
    if (c_->shared_poll_.hmac_secret_key_.empty())
      error("shared_poll.hmac_secret_key",
            "is required when a namespace uses shared_poll (" + k + ")");
    check_proxy_ref(k + ".proxy_name", sp.proxy_name_, "channel.proxy.shared_poll_refresh",
                    ch.proxy_.shared_poll_refresh_);
  }

  // ---------------------------------------------------------------- rpc

  void check_rpc(const rpc_config& rpc) {
    check_status_transforms("rpc.proxy.http.status_to_code_transforms",
                            rpc.proxy_.http_.status_to_code_transforms_);
    if (rpc.without_namespace_.proxy_enabled_)
      check_proxy_ref("rpc.without_namespace.proxy_name", rpc.without_namespace_.proxy_name_,
                      "rpc.proxy", rpc.proxy_);
    std::set<std::string> seen;
    for (size_t i = 0; i < rpc.namespaces_.size(); ++i) {
      const auto& ns = rpc.namespaces_[i];
      std::string k = "rpc.namespaces[" + std::to_string(i) + "]";
      if (!is_valid_namespace_name(ns.name_))
        error(k + ".name",
              "invalid rpc namespace name " + q(ns.name_) + ", must match ^[-a-zA-Z0-9_.]{2,}$");
      else if (!seen.insert(ns.name_).second)
        error(k + ".name", "duplicate rpc namespace name " + q(ns.name_));
      if (ns.proxy_enabled_)
        check_proxy_ref(k + ".proxy_name", ns.proxy_name_, "rpc.proxy", rpc.proxy_);
    }
  }

  // ---------------------------------------------------------------- APIs, consumers

  void check_apis(const config& c) {
    check_enum("http_api.error_mode", c.http_api_.error_mode_, {"", "transport"});
    check_enum("grpc_api.error_mode", c.grpc_api_.error_mode_, {"", "transport"});
    check_port("grpc_api.port", c.grpc_api_.port_);
    check_grpc_api(c.grpc_api_);
    check_port("uni_grpc.port", c.uni_grpc_.port_);
  }

  // The GRPC API (docs/grpc-api.md): what its server cannot be built without.
  void check_grpc_api(const grpc_api_config& g) {
    if (g.max_receive_message_size_ < 0 || g.max_receive_message_size_ > 2147483647)
      error("grpc_api.max_receive_message_size",
            "out of range: " + std::to_string(g.max_receive_message_size_) +
                " (bytes, 0 = gRPC's default of 4 MiB, at most 2147483647)");
    if (g.enabled_ && g.tls_.enabled_) {
      if (g.tls_.cert_pem_.empty())
        error("grpc_api.tls.cert_pem", "required when grpc_api.tls.enabled is on");
      if (g.tls_.key_pem_.empty())
        error("grpc_api.tls.key_pem", "required when grpc_api.tls.enabled is on");
    }
  }

  void check_consumers(const std::vector<consumer_config>& consumers) {
    std::set<std::string> seen;
    for (size_t i = 0; i < consumers.size(); ++i) {
      const auto& cs = consumers[i];
      std::string k = "consumers[" + std::to_string(i) + "]";
      bool name_ok =
          cs.name_.size() >= 2 && std::all_of(cs.name_.begin(), cs.name_.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
          });
      if (!name_ok)
        error(k + ".name",
              "invalid consumer name " + q(cs.name_) + ", must match ^[a-zA-Z0-9_]{2,}$");
      else if (!seen.insert(cs.name_).second)
        error(k + ".name", "duplicate consumer name " + q(cs.name_));
      check_enum(k + ".type", cs.type_,
                 {"postgresql", "kafka", "nats_jetstream", "redis_stream", "google_pub_sub",
                  "aws_sqs", "azure_service_bus"});
      if (!cs.enabled_) continue;  // a disabled consumer: name and type only (as Centrifugo)
      consumer_problems problems;
      if (cs.type_ == "redis_stream")
        check_redis_stream_consumer(cs.redis_stream_, k + ".redis_stream", problems);
      else if (cs.type_ == "nats_jetstream")
        check_nats_jetstream_consumer(cs.nats_jetstream_, k + ".nats_jetstream", problems);
      else if (cs.type_ == "postgresql")
        check_postgresql_consumer(cs.postgresql_, k + ".postgresql", problems);
      for (auto& [key, message] : problems) error(key, message);
    }
  }

  const config* c_ = nullptr;
  std::vector<std::string> errors_;
};

}  // namespace

bool is_valid_namespace_name(std::string_view name) {
  if (name.size() < 2) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
  });
}

std::vector<std::string> validate(const config& c) {
  return validator{}.run(c);
}

}  // namespace gyre::config
