// api_tracing: see api_tracing.hpp.
#include "api/api_tracing.hpp"

#include <string>

#include "protocol/json_object.hpp"

namespace gyre::api_tracing {

void describe_command(tracing::span& s, std::string_view method, std::string_view params) {
  s.set("centrifugo.method", std::string(method));
  auto o = protocol::json_object::parse(params);
  std::string channel;
  if (o && o->get("channel", channel) && !channel.empty())
    s.set("centrifugo.channel", std::move(channel));
}

void record_outcome(tracing::span& s, const api_outcome& r) {
  if (r.ok) return;
  s.set_int("centrifugo.error.code", r.error.code);
  s.fail(r.error.message);
}

}  // namespace gyre::api_tracing
