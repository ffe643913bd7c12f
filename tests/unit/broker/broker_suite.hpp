// The shared engine suite: the contract of broker.hpp and presence_manager.hpp (engines.md
// §2, client-protocol.md §4.7-§4.12, server-api.md §7.1, §7.9-§7.10), tested through the
// interfaces only. Every engine (memory, Redis, NATS, ...) instantiates it:
//
//   engine_suite_params p;
//   p.name = "redis";
//   p.make_broker = [](clock& c) -> std::unique_ptr<broker> { return make_redis(c); };
//   p.make_presence = [](clock& c) -> std::unique_ptr<presence_manager> { ... };
//   p.time = suite_time::real;  // TTLs are kept by the server: the suite sleeps
//   GYRE_INSTANTIATE_ENGINE_SUITE(redis, p);
//
// and links tests/unit/broker/broker_suite.cpp into its test binary. A factory may call
// GTEST_SKIP() and return null (e.g. when the engine's server is not installed): the test
// is then reported as skipped.
//
// Rules the suite follows so that network engines can run it:
// - Every wait on a callback or a delivery is bounded by params.timeout; a callback that
//   never comes fails the test instead of hanging it. Callback state is shared-owned, so a
//   late callback after a timeout is harmless.
// - Channel names carry a random per-test prefix (a shared Redis sees no leftovers), and
//   the suite subscribe()s to every channel before publishing to it.
// - Time: with suite_time::manual the suite owns a manual_clock, hands it to the factory
//   and moves it; with suite_time::real it sleeps (TTLs are 1-3 s, margins 0.5 s); with
//   suite_time::none the TTL tests are skipped. after_time_step runs after every step
//   (the memory engine uses it to exercise sweep()).
// - Engines without history (supports_history() false) skip the history tests; engines
//   without idempotent publish set params.idempotency = false.
//
// Threads: the recording handler and the waiters are thread-safe; callbacks may arrive
// synchronously or on any broker thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.hpp"
#include "broker/presence_manager.hpp"
#include "core/clock.hpp"

namespace gyre::broker_test {

enum class suite_time { manual, real, none };

struct engine_suite_params {
  std::string name;  // test-name suffix: letters, digits, '_'
  std::function<std::unique_ptr<broker>(clock&)> make_broker;
  // Empty: the presence tests are skipped.
  std::function<std::unique_ptr<presence_manager>(clock&)> make_presence;
  suite_time time = suite_time::manual;
  // Runs after every time step; may be empty.
  std::function<void(broker&)> after_time_step;
  bool idempotency = true;
  // Where Centrifugo's own engines differ, Gyre's follow them (docs/supported-options.md,
  // "Engine differences"). Defaults are the memory engine's behaviour; Redis sets the other:
  // - a publication without a version keeps the stored version (memory resets it to none);
  bool unversioned_publish_keeps_version = false;
  // - a reverse read from a since more than one past the top reads from the top (memory
  //   reads nothing).
  bool reverse_since_past_top_reads_from_top = false;
  // - history pages say the offset-1 publication carries the epoch (Redis: false).
  bool epoch_on_first = true;
  std::chrono::milliseconds timeout{5000};
};

void PrintTo(const engine_suite_params& p, std::ostream* os);

// Waits for one callback<T> with a deadline. `start` receives the callback to pass to the
// engine. On timeout the test fails and errors::internal is returned.
template <typename T>
result<T> await_result(const std::function<void(callback<T>)>& start,
                       std::chrono::milliseconds timeout) {
  struct state {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<result<T>> value;
  };
  auto st = std::make_shared<state>();
  start([st](result<T> r) {
    std::lock_guard lock(st->mu);
    st->value.emplace(std::move(r));
    st->cv.notify_all();
  });
  std::unique_lock lock(st->mu);
  if (!st->cv.wait_for(lock, timeout, [&] { return st->value.has_value(); })) {
    ADD_FAILURE() << "engine callback did not arrive within " << timeout.count() << " ms";
    return errors::internal;
  }
  return std::move(*st->value);
}

// Records every event the broker delivers. Thread-safe.
class recording_handler final : public broker_event_handler {
 public:
  struct presence_event {
    std::string channel;
    client_info info;
  };

  void on_publication(std::shared_ptr<const delivered_publication> p) override;
  void on_join(std::string_view channel, const client_info& info) override;
  void on_leave(std::string_view channel, const client_info& info) override;
  void on_subscriptions_restored(std::vector<std::string> channels) override;

  // Snapshots; `channel` empty = all channels.
  std::vector<std::shared_ptr<const delivered_publication>> publications(
      std::string_view channel = {}) const;
  std::vector<presence_event> joins() const;
  std::vector<presence_event> leaves() const;
  // Every on_subscriptions_restored() call, in order.
  std::vector<std::vector<std::string>> restored() const;
  // Highest offset delivered so far in `channel` (0 = none).
  uint64_t max_offset(std::string_view channel) const;

  // Waits until at least `n` publications of `channel` (or n joins / leaves) arrived.
  bool wait_publications(std::string_view channel, size_t n,
                         std::chrono::milliseconds timeout) const;
  bool wait_joins(size_t n, std::chrono::milliseconds timeout) const;
  bool wait_leaves(size_t n, std::chrono::milliseconds timeout) const;

 private:
  size_t count_locked(std::string_view channel) const;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<std::shared_ptr<const delivered_publication>> pubs_;
  std::vector<presence_event> joins_;
  std::vector<presence_event> leaves_;
  std::vector<std::vector<std::string>> restored_;
};

// Common state of both fixtures: params, clock, channel names, time steps.
class engine_fixture_base : public ::testing::TestWithParam<engine_suite_params> {
 protected:
  engine_fixture_base();

  std::chrono::milliseconds timeout() const { return GetParam().timeout; }
  // A channel name unique to this test run.
  std::string channel_name(std::string_view name) const { return prefix_ + std::string(name); }
  bool time_controllable() const { return GetParam().time != suite_time::none; }
  // Moves time forward by `seconds` (manual clock or real sleep), then after_time_step.
  void step(double seconds, broker* b);

  manual_clock clock_;
  std::string prefix_;
};

class broker_suite : public engine_fixture_base {
 protected:
  void SetUp() override;
  void TearDown() override;

  // channel_name() + subscribe().
  std::string channel(std::string_view name);
  void step(double seconds) { engine_fixture_base::step(seconds, broker_.get()); }

  result<publish_outcome> publish(const std::string& ch, std::string data,
                                  const publish_options& opts);
  // publish() that must succeed; returns the outcome (a failed call fails the test).
  publish_outcome publish_ok(const std::string& ch, std::string data, const publish_options& opts);
  result<history_page> history(const std::string& ch, const history_query& q);
  history_page history_ok(const std::string& ch, const history_query& q);
  status remove_history(const std::string& ch);
  status publish_join(const std::string& ch, const client_info& info);
  status publish_leave(const std::string& ch, const client_info& info);

  static publish_options with_history(uint32_t size = 100, uint32_t ttl = 300,
                                      uint32_t meta_ttl = 3600);
  static history_query query(int32_t limit, std::optional<stream_position> since = std::nullopt,
                             bool reverse = false, int64_t meta_ttl = 3600);
  static std::vector<uint64_t> offsets(const history_page& page);

  recording_handler handler_;
  std::unique_ptr<broker> broker_;
};

class presence_suite : public engine_fixture_base {
 protected:
  void SetUp() override;
  void TearDown() override;

  status add(const std::string& ch, const client_info& info);
  status remove(const std::string& ch, const client_info& info);
  presence_map presence_ok(const std::string& ch);
  presence_stats stats_ok(const std::string& ch);

  std::unique_ptr<presence_manager> presence_;
};

std::string engine_suite_name(const ::testing::TestParamInfo<engine_suite_params>& info);

// Instantiates both fixtures for one engine (`prefix` is an identifier). Use it at
// namespace scope; the parameters are engine_suite_params values.
#define GYRE_INSTANTIATE_ENGINE_SUITE(prefix, ...)                                 \
  using ::gyre::broker_test::broker_suite;                                         \
  using ::gyre::broker_test::presence_suite;                                       \
  INSTANTIATE_TEST_SUITE_P(prefix, broker_suite, ::testing::Values(__VA_ARGS__),   \
                           ::gyre::broker_test::engine_suite_name);                \
  INSTANTIATE_TEST_SUITE_P(prefix, presence_suite, ::testing::Values(__VA_ARGS__), \
                           ::gyre::broker_test::engine_suite_name)

}  // namespace gyre::broker_test
