// reload_plan: key-level diff of two configs and the reloadable allow-list; see
// reload_plan.hpp and docs/design/config-reload.md.
#include "config/reload_plan.hpp"

#include <algorithm>
#include <iterator>

#include "config/detail/mapping.hpp"

namespace gyre::config {

namespace {

namespace json = boost::json;

// Keys (and whole sections, matched as a prefix up to a '.' or '[') that take effect
// without a restart: they are read from the configuration snapshot for each new
// operation. Everything else is refused. Keep docs/design/config-reload.md in step.
constexpr std::string_view reloadable[] = {
    "log.level",
    // Token keys and rules: new verifiers serve new connects, refreshes and subscribes.
    "client.token",
    "client.subscription_token",
    "client.insecure_skip_token_signature_verify",
    "client.allow_anonymous_connect_without_token",
    "client.disallow_anonymous_connection_tokens",
    "client.insecure",
    "client.allowed_origins",
    "client.subscribe_to_user_personal_channel",
    "client.connect_include_server_time",
    // Limits and server-side timers (client.user_connection_limit: see the special rule).
    "client.channel_limit",
    "client.queue_max_size",
    "client.user_connection_limit",
    "client.history_max_publication_limit",
    "client.recovery_max_publication_limit",
    "client.pong_timeout",
    "client.expired_close_delay",
    "client.expired_sub_close_delay",
    "client.stale_close_delay",
    "client.presence_update_interval",
    "client.channel_position_check_delay",
    // Not implemented by Gyre yet (a warning says so); reloadable by design: whoever
    // implements them reads them from the snapshot.
    "client.connection_limit",
    "client.connection_rate_limit",
    "client.concurrency",
    "client.channel_position_max_time_lag",
    "client.connect_code_to_unidirectional_disconnect",
    "shared_poll",
    // Backend proxies: read from the snapshot for each call (docs/proxy.md).
    "client.proxy",
    "proxies",
    // Channel rules and namespaces, RPC namespaces.
    "channel",
    "rpc",
    // Flow control.
    "websocket.write_timeout",
    "gyre.read_budget_commands",
    "gyre.read_budget_bytes",
    "gyre.event_loop_inbox_size",
    "gyre.position_check_batch_size",
    "shutdown.timeout",
    // TLS certificates (no TLS termination yet: they join the snapshot with it).
    "http_server.tls.cert_pem",
    "http_server.tls.key_pem",
    "http_server.tls.client_ca_pem",
};

bool under(std::string_view key, std::string_view prefix) {
  if (key.size() < prefix.size() || key.compare(0, prefix.size(), prefix) != 0) return false;
  return key.size() == prefix.size() || key[prefix.size()] == '.' || key[prefix.size()] == '[';
}

// Arrays whose items have a unique `name`: diffed item by item.
bool named_array(std::string_view key) {
  return key == "channel.namespaces" || key == "rpc.namespaces" || key == "proxies" ||
         key == "consumers";
}

std::string item_name(const json::value& item) {
  const json::object* o = item.if_object();
  const json::value* n = o ? o->if_contains("name") : nullptr;
  return n && n->is_string() ? std::string(n->get_string()) : std::string();
}

void diff_named(const std::string& key, const json::array& a, const json::array& b,
                std::vector<std::string>& out) {
  auto find = [](const json::array& arr, const std::string& name) -> const json::value* {
    for (const auto& item : arr)
      if (item_name(item) == name) return &item;
    return nullptr;
  };
  std::vector<std::string> names;
  for (const auto* arr : {&a, &b})
    for (const auto& item : *arr)
      if (std::string n = item_name(item); std::find(names.begin(), names.end(), n) == names.end())
        names.push_back(n);
  for (const auto& n : names) {
    const json::value* x = find(a, n);
    const json::value* y = find(b, n);
    if (!x || !y || *x != *y) out.push_back(key + "[" + n + "]");
  }
}

void diff(const std::string& key, const json::value& a, const json::value& b,
          std::vector<std::string>& out) {
  if (a == b) return;
  if (a.is_object() && b.is_object()) {
    const auto& oa = a.get_object();
    const auto& ob = b.get_object();
    static const json::value null_value;
    for (const auto& kv : oa) {
      const json::value* other = ob.if_contains(kv.key());
      diff(detail::join_key(key, kv.key()), kv.value(), other ? *other : null_value, out);
    }
    for (const auto& kv : ob)
      if (!oa.contains(kv.key()))
        diff(detail::join_key(key, kv.key()), null_value, kv.value(), out);
    return;
  }
  if (a.is_array() && b.is_array() && named_array(key)) {
    size_t before = out.size();
    diff_named(key, a.get_array(), b.get_array(), out);
    if (out.size() == before) out.push_back(key);  // the same items in another order
    return;
  }
  out.push_back(key);
}

}  // namespace

bool reloadable_key(std::string_view key_path) {
  return std::any_of(std::begin(reloadable), std::end(reloadable),
                     [&](std::string_view p) { return under(key_path, p); });
}

reload_plan plan_reload(const config& current, const config& next) {
  reload_plan plan;
  diff("", detail::encode_config(current), detail::encode_config(next), plan.changed);
  for (const auto& key : plan.changed) {
    if (!reloadable_key(key)) {
      plan.refused.push_back(key + " (needs a restart)");
    } else if (key == "client.user_connection_limit" &&
               (current.client_.user_connection_limit_ == 0) !=
                   (next.client_.user_connection_limit_ == 0)) {
      // Connections per user are counted only while a limit is set: turning the limit on
      // would start from counts that miss every connected user.
      plan.refused.push_back(key + " (turning the limit on or off needs a restart)");
    }
  }
  return plan;
}

}  // namespace gyre::config
