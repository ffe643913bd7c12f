// Channel and RPC namespace resolution; see channel_resolution.hpp.
#include "config/channel_resolution.hpp"

namespace gyre::config {

const channel_namespace* find_namespace(const config& c, std::string_view name) {
  for (const auto& ns : c.channel_.namespaces_)
    if (ns.name_ == name) return &ns;
  return nullptr;
}

const channel_options* find_channel_options(const config& c, std::string_view namespace_name) {
  if (namespace_name.empty()) return &c.channel_.without_namespace_;
  return find_namespace(c, namespace_name);
}

bool is_private_channel(const channel_config& ch, std::string_view channel) {
  return !ch.private_prefix_.empty() &&
         channel.substr(0, ch.private_prefix_.size()) == std::string_view(ch.private_prefix_);
}

std::string_view channel_namespace_name(const channel_config& ch, std::string_view channel) {
  if (is_private_channel(ch, channel)) channel.remove_prefix(ch.private_prefix_.size());
  if (ch.namespace_boundary_.empty()) return {};
  size_t pos = channel.find(ch.namespace_boundary_);
  if (pos == std::string_view::npos) return {};
  return channel.substr(0, pos);
}

std::optional<channel_resolution> resolve_channel(const config& c, std::string_view channel) {
  std::string_view ns = channel_namespace_name(c.channel_, channel);
  const channel_options* opts = find_channel_options(c, ns);
  if (opts == nullptr) return std::nullopt;
  return channel_resolution{ns, opts};
}

const std::string& effective_publication_data_format(const channel_config& ch,
                                                     const channel_options& opts) {
  return opts.publication_data_format_.empty() ? ch.publication_data_format_
                                               : opts.publication_data_format_;
}

duration effective_history_meta_ttl(const channel_config& ch, const channel_options& opts) {
  return opts.history_meta_ttl_.count() != 0 ? opts.history_meta_ttl_ : ch.history_meta_ttl_;
}

std::string personal_channel(const config& c, std::string_view user) {
  const auto& ns = c.client_.subscribe_to_user_personal_channel_.personal_channel_namespace_;
  std::string out;
  if (!ns.empty()) out = ns + c.channel_.namespace_boundary_;
  out += c.channel_.user_boundary_;
  out += user;
  return out;
}

const rpc_options* resolve_rpc_method(const rpc_config& rpc, std::string_view method) {
  if (rpc.namespace_boundary_.empty()) return &rpc.without_namespace_;
  size_t pos = method.find(rpc.namespace_boundary_);
  if (pos == std::string_view::npos) return &rpc.without_namespace_;
  std::string_view ns = method.substr(0, pos);
  if (ns.empty()) return &rpc.without_namespace_;
  for (const auto& n : rpc.namespaces_)
    if (n.name_ == ns) return &n;
  return nullptr;
}

}  // namespace gyre::config
