// selection: see selection.hpp.
#include "proxy/selection.hpp"

#include <algorithm>

#include "config/config.hpp"

namespace gyre::proxy {

namespace {

template <typename F>
void for_each_proxy(const config::config& cfg, F&& f) {
  f("client.proxy.connect", static_cast<const config::proxy_config&>(cfg.client_.proxy_.connect_),
    cfg.client_.proxy_.connect_.enabled_);
  f("client.proxy.refresh", static_cast<const config::proxy_config&>(cfg.client_.proxy_.refresh_),
    cfg.client_.proxy_.refresh_.enabled_);
  const auto& cp = cfg.channel_.proxy_;
  f("channel.proxy.subscribe", cp.subscribe_, !cp.subscribe_.endpoint_.empty());
  f("channel.proxy.publish", cp.publish_, !cp.publish_.endpoint_.empty());
  f("channel.proxy.sub_refresh", cp.sub_refresh_, !cp.sub_refresh_.endpoint_.empty());
  f("rpc.proxy", cfg.rpc_.proxy_, !cfg.rpc_.proxy_.endpoint_.empty());
  for (size_t i = 0; i < cfg.proxies_.size(); ++i)
    f("proxies[" + std::to_string(i) + "]",
      static_cast<const config::proxy_config&>(cfg.proxies_[i]), true);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const config::proxy_config* find_proxy(const config::config& cfg, call_kind k,
                                       std::string_view name) {
  if (name.empty() || name == "default") {
    const auto& cp = cfg.channel_.proxy_;
    switch (k) {
      case call_kind::connect:
        return &cfg.client_.proxy_.connect_;
      case call_kind::refresh:
        return &cfg.client_.proxy_.refresh_;
      case call_kind::subscribe:
        return &cp.subscribe_;
      case call_kind::publish:
        return &cp.publish_;
      case call_kind::sub_refresh:
        return &cp.sub_refresh_;
      case call_kind::rpc:
        return &cfg.rpc_.proxy_;
    }
    return nullptr;
  }
  for (const auto& p : cfg.proxies_)
    if (p.name_ == name) return &p;
  return nullptr;
}

std::vector<std::string> forwarded_header_names(const config::config& cfg) {
  std::vector<std::string> out;
  for_each_proxy(cfg, [&](const std::string&, const config::proxy_config& p, bool used) {
    if (!used) return;
    for (const auto& h : p.http_headers_) out.push_back(lower(h));
  });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool uses_emulated_headers(const config::config& cfg) {
  bool any = false;
  for_each_proxy(cfg, [&](const std::string&, const config::proxy_config& p, bool used) {
    any = any || (used && !p.emulated_headers_.empty());
  });
  return any;
}

std::vector<std::string> unsupported_proxies(const config::config& cfg) {
  std::vector<std::string> out;
  for_each_proxy(cfg, [&](const std::string& key, const config::proxy_config& p, bool used) {
    if (!used || p.endpoint_.empty()) return;
    if (p.endpoint_.starts_with("https://"))
      out.push_back(key +
                    ".endpoint: https:// proxy endpoints are not supported by Gyre yet; "
                    "calls fail with error 100");
  });
  return out;
}

}  // namespace gyre::proxy
