// channel_rules implementation; see channel_rules.hpp.
#include "hub/channel_rules.hpp"

#include "config/channel_resolution.hpp"
#include "config/config.hpp"
#include "core/go_regex.hpp"

namespace gyre {

channel_rules resolve_channel_rules(const config::config& cfg, std::string_view channel) {
  channel_rules r;
  const auto& ch = cfg.channel_;
  r.is_private = config::is_private_channel(ch, channel);
  auto res = config::resolve_channel(cfg, channel);
  if (!res) return r;
  r.ns = res->options_;
  r.ns_name = res->namespace_name_;
  // The part the channel_regex applies to: the name after "ns:" (or the whole name).
  std::string_view name = channel;
  if (r.is_private) name.remove_prefix(ch.private_prefix_.size());
  r.rest = r.ns_name.empty() ? name : name.substr(r.ns_name.size() + ch.namespace_boundary_.size());
  if (r.ns->allow_user_limited_channels_ && !ch.user_boundary_.empty() &&
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

bool regex_cache::matches(const std::string& pattern, std::string_view text) {
  std::shared_ptr<const go_regex> re;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(pattern);
    if (it != cache_.end()) {
      re = it->second;
    } else {
      auto compiled = std::make_shared<const go_regex>(pattern);
      if (compiled->ok()) re = compiled;
      cache_.emplace(pattern, re);
    }
  }
  // Go's MatchString: the pattern may match anywhere unless it anchors itself.
  return re && re->matches(text);
}

protocol_error check_channel_name(const config::config& cfg, const channel_rules& rules,
                                  std::string_view channel, regex_cache& regexes) {
  if (channel.size() > static_cast<size_t>(cfg.channel_.max_length_)) return errors::bad_request;
  return check_channel_chars(rules, channel, regexes);
}

protocol_error check_channel_chars(const channel_rules& rules, std::string_view channel,
                                   regex_cache& regexes) {
  if (rules.ns && !rules.ns->channel_regex_.empty()) {
    if (!regexes.matches(rules.ns->channel_regex_, rules.rest)) return errors::bad_request;
    return errors::none;
  }
  for (char c : channel)
    if (static_cast<unsigned char>(c) >= 0x80) return errors::bad_request;
  return errors::none;
}

}  // namespace gyre
