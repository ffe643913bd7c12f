// Frame type names and the scrape of the per-loop transport counters; see
// transport_metrics.hpp.
#include "hub/transport_metrics.hpp"

#include <array>

namespace gyre {

namespace {

constexpr std::array<const char*, static_cast<size_t>(frame_type::count)> frame_names{
    "server_ping",      "client_pong",
    "push_connect",     "push_subscribe",
    "push_publication", "push_join",
    "push_leave",       "push_unsubscribe",
    "push_message",     "push_refresh",
    "push_disconnect",  "connect",
    "subscribe",        "publish",
    "unsubscribe",      "rpc",
    "presence",         "presence_stats",
    "history",          "refresh",
    "sub_refresh",      "send"};

constexpr std::array<const char*, transport_slots> transport_names{
    "websocket",       "sse",      "http_stream", "uni_websocket", "uni_sse",
    "uni_http_stream", "uni_grpc", "grpc",        "other"};

}  // namespace

const char* frame_type_name(frame_type f) {
  auto i = static_cast<size_t>(f);
  return i < frame_names.size() ? frame_names[i] : "unknown";
}

frame_type frame_of_command(protocol::command_kind k) {
  using protocol::command_kind;
  switch (k) {
    case command_kind::connect:
      return frame_type::connect;
    case command_kind::subscribe:
      return frame_type::subscribe;
    case command_kind::unsubscribe:
      return frame_type::unsubscribe;
    case command_kind::publish:
      return frame_type::publish;
    case command_kind::presence:
      return frame_type::presence;
    case command_kind::presence_stats:
      return frame_type::presence_stats;
    case command_kind::history:
      return frame_type::history;
    case command_kind::send:
      return frame_type::send;
    case command_kind::rpc:
      return frame_type::rpc;
    case command_kind::refresh:
      return frame_type::refresh;
    case command_kind::sub_refresh:
      return frame_type::sub_refresh;
    case command_kind::none:
    case command_kind::ping:
      return frame_type::client_pong;
  }
  return frame_type::client_pong;
}

frame_type frame_of_reply(const protocol::reply& r) {
  // The order of reply::result's alternatives (monostate first: an error, or a ping).
  static constexpr frame_type by_index[] = {
      frame_type::client_pong,    frame_type::connect,    frame_type::subscribe,
      frame_type::unsubscribe,    frame_type::publish,    frame_type::presence,
      frame_type::presence_stats, frame_type::history,    frame_type::rpc,
      frame_type::refresh,        frame_type::sub_refresh};
  static_assert(std::size(by_index) == std::variant_size_v<decltype(protocol::reply::result)>);
  return by_index[r.result.index()];
}

uint8_t transport_slot(std::string_view name) {
  for (size_t i = 0; i + 1 < transport_names.size(); ++i)
    if (name == transport_names[i]) return static_cast<uint8_t>(i);
  return static_cast<uint8_t>(transport_slots - 1);
}

const char* transport_slot_name(uint8_t slot) {
  return slot < transport_names.size() ? transport_names[slot] : "other";
}

void collect_transport_counts(const std::vector<const transport_counts*>& loops,
                              std::vector<metrics::collected_family>& out) {
  constexpr size_t frames = static_cast<size_t>(frame_type::count);
  auto emit = [&](const char* name, const char* size_name, const char* help, const char* size_help,
                  auto table_of) {
    metrics::collected_family count{name, help, metrics::kind::counter, {}};
    metrics::collected_family size{size_name, size_help, metrics::kind::counter, {}};
    for (size_t t = 0; t < transport_slots; ++t) {
      for (size_t f = 0; f < frames; ++f) {
        uint64_t n = 0, bytes = 0;
        for (const transport_counts* l : loops) {
          const auto& c = table_of(*l)[t][f];
          n += c.frames.load(std::memory_order_relaxed);
          bytes += c.bytes.load(std::memory_order_relaxed);
        }
        if (n == 0) continue;
        std::vector<std::pair<std::string, std::string>> labels{
            {"transport", transport_slot_name(static_cast<uint8_t>(t))},
            {"frame_type", frame_names[f]},
            {"channel_namespace", ""}};
        count.samples.push_back({"", labels, static_cast<double>(n)});
        size.samples.push_back({"", std::move(labels), static_cast<double>(bytes)});
      }
    }
    out.push_back(std::move(count));
    out.push_back(std::move(size));
  };
  emit("centrifugo_transport_messages_sent", "centrifugo_transport_messages_sent_size",
       "Frames queued to client connections, by transport and frame type.",
       "Bytes of the frames queued to client connections, by transport and frame type "
       "(encoded payload, before compression and framing).",
       [](const transport_counts& l) -> const transport_counts::table& { return l.sent_table(); });
  emit("centrifugo_transport_messages_received", "centrifugo_transport_messages_received_size",
       "Frames received from client connections, by transport and frame type.",
       "Bytes of the frames received from client connections, by transport and frame type "
       "(encoded command, after decompression, without framing).",
       [](const transport_counts& l) -> const transport_counts::table& {
         return l.received_table();
       });
}

}  // namespace gyre
