// api_executor: the server API methods (server-api.md §7) independent of how they arrive
// (HTTP per-method route, batch, the legacy newline-delimited endpoint, later GRPC and
// async consumers). Input is the method name and the JSON params object; output is either
// a result JSON object or an API error.
//
// Publishing is answered as soon as the broker accepted the publication (offset assigned,
// stored when the channel keeps history); fan-out to subscribers happens afterwards on the
// event loops and never delays the reply.
//
// Threading: execute() may be called from any thread; `done` runs on an arbitrary thread
// (the caller posts back where it needs to).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/error_codes.hpp"

namespace gyre {

class node;

struct api_error {
  uint32_t code = 0;
  std::string message;
};

struct api_outcome {
  bool ok = true;
  std::string result;  // JSON object (success)
  api_error error;     // failure

  static api_outcome success(std::string json) { return {true, std::move(json), {}}; }
  static api_outcome failure(protocol_error e) { return {false, {}, {e.code, std::string(e.message)}}; }
};

using api_done = std::function<void(api_outcome)>;

class api_executor {
 public:
  explicit api_executor(node& n) : node_(n) {}

  // Runs `method` with `params` (a JSON object). Unknown methods yield 104.
  void execute(std::string_view method, std::string_view params, api_done done);

  // Whether `method` is one of the routes the OSS HTTP API serves.
  static bool is_route(std::string_view method);
  // Whether `method` is known to the legacy endpoint (OSS or PRO names).
  static bool is_known_legacy_method(std::string_view method);

  node& owner() { return node_; }

 private:
  void publish(std::string_view params, api_done done);
  void broadcast(std::string_view params, api_done done);
  void subscribe(std::string_view params, api_done done);
  void unsubscribe(std::string_view params, api_done done);
  void disconnect(std::string_view params, api_done done);
  void refresh(std::string_view params, api_done done);
  void presence(std::string_view params, api_done done);
  void presence_stats(std::string_view params, api_done done);
  void history(std::string_view params, api_done done);
  void history_remove(std::string_view params, api_done done);
  void channels(std::string_view params, api_done done);
  void info(std::string_view params, api_done done);
  void rpc(std::string_view params, api_done done);
  void batch(std::string_view params, api_done done);
  std::optional<std::string> presence_channel(std::string_view params, api_done& done);

  node& node_;
};

}  // namespace gyre
