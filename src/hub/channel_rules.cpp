// channel_rules implementation; see channel_rules.hpp.
#include "hub/channel_rules.hpp"

#include "config/config.hpp"

namespace gyre {

channel_rules resolve_channel(const config::config& cfg, std::string_view channel) {
  channel_rules r;
  const auto& ch = cfg.channel_;
  std::string_view name = channel;
  if (!ch.private_prefix_.empty() && name.starts_with(ch.private_prefix_)) {
    r.is_private = true;
    name.remove_prefix(ch.private_prefix_.size());
  }
  r.rest = name;
  size_t b = ch.namespace_boundary_.empty() ? std::string_view::npos
                                            : name.find(ch.namespace_boundary_);
  if (b == std::string_view::npos) {
    r.ns = &ch.without_namespace_;
  } else {
    r.ns_name = name.substr(0, b);
    r.rest = name.substr(b + ch.namespace_boundary_.size());
    for (const auto& n : ch.namespaces_) {
      if (n.name_ == r.ns_name) {
        r.ns = &n;
        break;
      }
    }
  }
  if (r.ns && r.ns->allow_user_limited_channels_ && !ch.user_boundary_.empty() &&
      channel.find(ch.user_boundary_) != std::string_view::npos)
    r.user_limited = true;
  return r;
}

bool channel_rules::lists_user(const config::config& cfg, std::string_view channel,
                               std::string_view user) const {
  if (!user_limited || user.empty()) return false;
  const auto& ch = cfg.channel_;
  size_t pos = channel.rfind(ch.user_boundary_);
  if (pos == std::string_view::npos) return false;
  std::string_view users = channel.substr(pos + ch.user_boundary_.size());
  const std::string& sep = ch.user_separator_;
  while (true) {
    size_t s = sep.empty() ? std::string_view::npos : users.find(sep);
    std::string_view u = users.substr(0, s);
    if (u == user) return true;
    if (s == std::string_view::npos) return false;
    users.remove_prefix(s + sep.size());
  }
}

bool regex_cache::full_match(const std::string& pattern, std::string_view text) {
  std::shared_ptr<const std::regex> re;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(pattern);
    if (it != cache_.end()) {
      re = it->second;
    } else {
      try {
        re = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
      } catch (const std::regex_error&) {
        re = nullptr;
      }
      cache_.emplace(pattern, re);
    }
  }
  if (!re) return false;
  return std::regex_match(text.begin(), text.end(), *re);
}

protocol_error check_channel_name(const config::config& cfg, const channel_rules& rules,
                                  std::string_view channel, regex_cache& regexes) {
  if (channel.size() > static_cast<size_t>(cfg.channel_.max_length_)) return errors::bad_request;
  if (rules.ns && !rules.ns->channel_regex_.empty()) {
    if (!regexes.full_match(rules.ns->channel_regex_, rules.rest)) return errors::bad_request;
    return errors::none;
  }
  for (char c : channel)
    if (static_cast<unsigned char>(c) >= 0x80) return errors::bad_request;
  return errors::none;
}

}  // namespace gyre
