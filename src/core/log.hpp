// Logging: a thin layer over spdlog so that the rest of the code does not include it
// directly. Levels follow Centrifugo's `log.level`: none, trace, debug, info, warn, error.
//
// Log sites that a peer can trigger at will (a flood of bad requests, slow clients, limit
// refusals) go through a `log::limiter` with `log::limited(...)`: at most `per_second`
// lines a second from that site, the rest counted and reported as "(N similar lines
// suppressed)" on the next line the site writes, so that a flood cannot flood the log.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <string_view>
#include <utility>

namespace gyre::log {

// Configures the default logger; `file` empty means stderr. Returns false for an
// unknown level name.
bool setup(std::string_view level, std::string_view file = {});

// Changes the level of the default logger (log.level on reload). Any thread: the level is
// an atomic of the logger. Returns false for an unknown level name (nothing changes).
bool set_level(std::string_view level);

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
