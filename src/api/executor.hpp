// api_executor: the server API methods independent of how they arrive (HTTP per-method
// route, batch, the legacy newline-delimited endpoint, the GRPC API; later async consumers).
// Input is a method and the JSON params object; output is either a result JSON object or
// an API error.
//
// The methods are listed once, in api_executor::methods(): name, legacy number, handler
// and flags. Routing, batch decoding and the legacy endpoint all read that table.
//
// Publishing is answered as soon as the broker accepted the publication (offset assigned,
// stored when the channel keeps history); fan-out to subscribers happens afterwards on the
// event loops and never delays the reply.
//
// What must hold (docs/design/server-api.md):
//  * A reply is never built beyond api_limits::max_response_size: the result of a
//    read-only method that does not fit is replaced by error 106 (asking again is safe);
//    the result of a method that changes state is always reported (it is small: its size
//    follows the request's).
//  * A batch (or broadcast) of more than api_limits::max_batch_commands commands (channels)
//    is refused with 106 before anything runs.
//
// Threading: execute() may be called from any thread; `done` runs on an arbitrary thread
// (the caller posts back where it needs to).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error_codes.hpp"

namespace gyre {

class node;
namespace tracing {
class tracer;
struct span;
}  // namespace tracing

struct api_error {
  uint32_t code = 0;
  std::string message;
};

struct api_outcome {
  bool ok = true;
  // A failure because the params did not decode (wrong types, not an object): HTTP 400 on
  // the per-method route, error 107 inside a batch and on the legacy endpoint.
  bool malformed = false;
  std::string result;  // JSON object (success)
  api_error error;     // failure

  static api_outcome success(std::string json) { return {true, false, std::move(json), {}}; }
  static api_outcome failure(protocol_error e) {
    return {false, false, {}, {e.code, std::string(e.message)}};
  }
  static api_outcome failure(protocol_error e, std::string message) {
    return {false, false, {}, {e.code, std::move(message)}};
  }
};

using api_done = std::function<void(api_outcome)>;

// The bounds of one API request; the defaults and their reasons are in
// docs/supported-options.md (gyre.http_api.*).
struct api_limits {
  size_t max_batch_commands = 10000;            // commands of a batch, channels of a broadcast
  size_t max_response_size = 16 * 1024 * 1024;  // bytes of one reply (a batch: all of it)
};

class api_executor;

// A method's implementation: `reply_budget` is how many bytes its result may take.
using api_handler = void (api_executor::*)(std::string_view params, size_t reply_budget,
                                           api_done done);

struct api_method {
  std::string_view name;
  int legacy_number = -1;     // its number in the legacy endpoint's "method" field; -1: none
  api_handler run = nullptr;  // nullptr: a Centrifugo PRO method, known by name only (104)
  bool route = false;         // served at POST {prefix}/{name}
  bool in_batch = false;      // may be a command of a batch (and of the legacy endpoint)
  bool read_only = false;     // changes nothing: its result is refused (106) when too large
};

class api_executor {
 public:
  explicit api_executor(node& n, api_limits limits = {}) : node_(n), limits_(limits) {}

  // Every method, in the order a batch command's keys are tried.
  static std::span<const api_method> methods();
  // The method named `name` (exact, lower case), nullptr if none.
  static const api_method* find(std::string_view name);
  // The method with this legacy number, nullptr if none.
  static const api_method* find_legacy(int64_t number);

  // Runs `m` (which must have a handler) with `params` (a JSON object); its result takes
  // at most `reply_budget` bytes, else 106 for a read-only method.
  void execute(const api_method& m, std::string_view params, size_t reply_budget, api_done done);
  void execute(const api_method& m, std::string_view params, api_done done) {
    execute(m, params, limits_.max_response_size, std::move(done));
  }
  // A batch whose commands each get a span, children of `parent` (opentelemetry.api;
  // docs/tracing.md).
  void execute_batch(std::string_view params, tracing::tracer& t, const tracing::span& parent,
                     api_done done);
  // By name: unknown methods and methods without a handler yield 104.
  void execute(std::string_view method, std::string_view params, api_done done);

  const api_limits& limits() const { return limits_; }
  node& owner() { return node_; }

 private:
  void publish(std::string_view params, size_t reply_budget, api_done done);
  void broadcast(std::string_view params, size_t reply_budget, api_done done);
  void subscribe(std::string_view params, size_t reply_budget, api_done done);
  void unsubscribe(std::string_view params, size_t reply_budget, api_done done);
  void disconnect(std::string_view params, size_t reply_budget, api_done done);
  void refresh(std::string_view params, size_t reply_budget, api_done done);
  void presence(std::string_view params, size_t reply_budget, api_done done);
  void presence_stats(std::string_view params, size_t reply_budget, api_done done);
  void history(std::string_view params, size_t reply_budget, api_done done);
  void history_remove(std::string_view params, size_t reply_budget, api_done done);
  void channels(std::string_view params, size_t reply_budget, api_done done);
  void info(std::string_view params, size_t reply_budget, api_done done);
  void rpc(std::string_view params, size_t reply_budget, api_done done);
  void batch(std::string_view params, size_t reply_budget, api_done done);
  void run_batch(std::string_view params, size_t reply_budget, api_done done, tracing::tracer* t,
                 const tracing::span* parent);
  void not_a_stream_method(std::string_view params, size_t reply_budget, api_done done);
  std::optional<std::string> presence_channel(std::string_view params, api_done& done);

  node& node_;
  const api_limits limits_;
};

// Error 106 for a reply that would exceed `budget` bytes.
api_outcome reply_too_large(size_t budget);

}  // namespace gyre
