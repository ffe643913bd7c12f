// dispatch: what every async consumer does with a message, whatever carried it
// (docs/consumers.md): decode it into a server API command, run the command through the
// API executor, and say whether the message is done (acknowledge it), skipped (a bad
// message: logged, counted, acknowledged) or must be retried (an internal error).
//
// Command mode: the method comes from the message's metadata (a Redis Stream field, a
// NATS header) and the body is the method's request object; or, when the metadata has no
// method, the body is `{"method": ..., "payload": ...}` where payload is the request
// object or a JSON string holding it. Publication data mode: the body is the publication
// data; channels, idempotency key, delta, version, version epoch and tags come from the
// metadata; one channel is a `publish`, several a `broadcast`.
//
// Threading: decode_*() are pure. dispatcher::run() may be called from any thread; `done`
// runs on an arbitrary thread (the executor's), so the caller posts back where it needs.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/consumers.hpp"
#include "core/metrics.hpp"

namespace gyre {
class api_executor;
struct api_method;
}  // namespace gyre

namespace gyre::consumers {

// A decoded message: a command to run, or why it is skipped.
struct decoded {
  const api_method* method = nullptr;  // nullptr: skip
  std::string params;                  // the request JSON object
  std::string skip_reason;
};

// The methods a consumer may run: publish, broadcast, subscribe, unsubscribe, disconnect,
// history_remove, refresh. nullptr for any other name.
const api_method* consumable_method(std::string_view name);

// Command mode: `method` from the metadata (may be empty), `body` the message body.
decoded decode_command(std::string_view method, std::string_view body);

// The metadata of a message (Redis Stream fields, NATS headers), first occurrence wins.
struct message_meta {
  std::vector<std::pair<std::string_view, std::string_view>> items;
  std::optional<std::string_view> get(std::string_view name) const;
};

// Publication data mode: `data` is the body. Data that is not JSON is sent as `b64data`.
decoded decode_publication(const config::publication_data_mode_config& mode,
                           const message_meta& meta, std::string_view data);

enum class outcome { done, skipped, retry };
struct result {
  outcome kind = outcome::done;
  std::string reason;  // skipped / retry: what went wrong
};

// Whether an executor outcome must be retried: an internal error (100), also inside a
// broadcast's per-channel responses. Exposed for tests.
bool is_retryable(bool ok, uint32_t error_code, std::string_view result_json);

// The consumer metrics, shared by all consumers (one family each, label consumer_name),
// and the API duration histogram (protocol "consuming", method): the HTTP API's family
// when it exists (create the consumers after the HTTP API), else registered here.
struct consumer_metrics {
  explicit consumer_metrics(metrics::registry& r);
  metrics::family<metrics::counter>& processed;
  metrics::family<metrics::counter>& errors;
  metrics::family<metrics::histogram>& duration;
};

// Runs decoded commands for one consumer and counts them.
class dispatcher {
 public:
  dispatcher(api_executor& exec, std::string consumer_name, consumer_metrics& m);

  // Runs `d` (a skip is reported at once); `message_id` is for the log lines.
  void run(const decoded& d, const std::string& message_id, std::function<void(result)> done);
  const std::string& name() const { return name_; }
  // Counts a retryable failure that happened before the executor (e.g. a transport error).
  void count_error() { errors_.inc(); }

 private:
  api_executor& exec_;
  std::string name_;
  metrics::counter& processed_;
  metrics::counter& errors_;
  metrics::family<metrics::histogram>& duration_;
};

// Retry delay after `retries` failures of one message: 10 ms doubling with jitter, at most
// 5 s (as Centrifugo's consumers).
std::chrono::milliseconds retry_backoff(unsigned retries);

}  // namespace gyre::consumers
