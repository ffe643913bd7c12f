// Logging: a thin layer over spdlog so that the rest of the code does not include it
// directly. Levels follow Centrifugo's `log.level`: none, trace, debug, info, warn, error.
//
// Every line has a level, a time, a message and optional fields (docs/logging.md), in one
// of two formats chosen at setup (`gyre.log_format`): human-readable text
// (`2026-01-02 03:04:05.678 [info] message key="value" n=3`, coloured on a terminal), or
// one JSON object per line (`{"level":"info","time":"2026-01-02T03:04:05.678Z",
// "message":"message","key":"value","n":3}`). `auto` picks text when the log goes to a
// terminal and JSON otherwise. Fields come from `log::write(level, message, {fields})`;
// the fmt-style calls (`log::info("x {}", y)`) write lines without fields.
//
// Log sites that a peer can trigger at will (a flood of bad requests, slow clients, limit
// refusals) go through a `log::limiter` with `log::limited(...)`: at most `per_second`
// lines a second from that site, the rest counted and reported as "(N similar lines
// suppressed)" on the next line the site writes, so that a flood cannot flood the log.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gyre::log {

enum class format { auto_detect, text, json };

// Parses a `log.level` name ("" = info); false for an unknown one.
bool parse_level(std::string_view name, spdlog::level::level_enum& out);
// Parses a `gyre.log_format` value ("auto", "text", "json"); false for an unknown one.
bool parse_format(std::string_view name, format& out);

// Configures the default logger; `file` empty means stderr. Returns false for an
// unknown level name (then nothing changes). May be called again (the new logger replaces
// the old one), but not while other threads log: use set_level for a running server.
bool setup(std::string_view level, std::string_view file = {}, format f = format::auto_detect);

// Changes the level of the running logger (a `log.level` name), from any thread, at any
// time; false for an unknown name (the level stays).
bool set_level(std::string_view level);

// One structured field of a line; the value is kept JSON-encoded (a string, a number or a
// boolean).
struct field {
  field(std::string_view k, std::string_view v);
  field(std::string_view k, const char* v) : field(k, std::string_view(v)) {}
  field(std::string_view k, const std::string& v) : field(k, std::string_view(v)) {}
  field(std::string_view k, bool v) : key(k), json(v ? "true" : "false") {}
  field(std::string_view k, int64_t v) : key(k), json(std::to_string(v)) {}
  field(std::string_view k, uint64_t v) : key(k), json(std::to_string(v)) {}
  field(std::string_view k, int v) : key(k), json(std::to_string(v)) {}
  field(std::string_view k, unsigned v) : key(k), json(std::to_string(v)) {}
  std::string_view key;
  std::string json;
};

// Writes one line with fields.
void write(spdlog::level::level_enum level, std::string_view message,
           std::initializer_list<field> fields);

// The formatters (exposed for tests): the line `message` at `level`, time `t` with
// `fields` would be written as.
std::string json_line(spdlog::level::level_enum level, std::chrono::system_clock::time_point t,
                      std::string_view message, const std::vector<field>& fields);
std::string text_line(spdlog::level::level_enum level, std::chrono::system_clock::time_point t,
                      std::string_view message, const std::vector<field>& fields);

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::trace;
using spdlog::warn;

// The budget of one log site, shared by every thread that reaches it (a `static` at the
// site). Lock-free; the count may overshoot by a line or two when threads race at the
// start of a second, which is harmless.
class limiter {
 public:
  explicit constexpr limiter(uint32_t per_second = 10) : per_second_(per_second) {}
  limiter(const limiter&) = delete;
  limiter& operator=(const limiter&) = delete;

  // True when a line may be written now at `now_s` (any monotonic seconds); then
  // `suppressed` receives how many lines were dropped since the last written one.
  bool admit(int64_t now_s, uint64_t& suppressed);
  // The same with the steady clock.
  bool admit(uint64_t& suppressed);

 private:
  const uint32_t per_second_;
  std::atomic<int64_t> window_{-1};
  std::atomic<uint32_t> used_{0};
  std::atomic<uint64_t> dropped_{0};
};

// Writes one line at `level` through `site`'s budget.
template <typename... Args>
void limited(limiter& site, spdlog::level::level_enum level, fmt::format_string<Args...> fmt,
             Args&&... args) {
  if (!spdlog::should_log(level)) return;
  uint64_t suppressed = 0;
  if (!site.admit(suppressed)) return;
  if (suppressed == 0) {
    spdlog::log(level, fmt, std::forward<Args>(args)...);
  } else {
    spdlog::log(level, "{} ({} similar lines suppressed)",
                fmt::format(fmt, std::forward<Args>(args)...), suppressed);
  }
}

}  // namespace gyre::log
