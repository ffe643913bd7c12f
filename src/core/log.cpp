// Logging set-up; see log.hpp.
#include "core/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <chrono>

namespace gyre::log {

namespace {

bool parse_level(std::string_view level, spdlog::level::level_enum& lvl) {
  if (level == "none")
    lvl = spdlog::level::off;
  else if (level == "trace")
    lvl = spdlog::level::trace;
  else if (level == "debug")
    lvl = spdlog::level::debug;
  else if (level == "info" || level.empty())
    lvl = spdlog::level::info;
  else if (level == "warn")
    lvl = spdlog::level::warn;
  else if (level == "error")
    lvl = spdlog::level::err;
  else
    return false;
  return true;
}

}  // namespace

bool setup(std::string_view level, std::string_view file) {
  spdlog::level::level_enum lvl;
  if (!parse_level(level, lvl)) return false;
  std::shared_ptr<spdlog::logger> logger;
  if (file.empty())
    logger = spdlog::stderr_color_mt("gyre");
  else
    logger = spdlog::basic_logger_mt("gyre", std::string(file));
  logger->set_level(lvl);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%^%l%$] %v");
  spdlog::set_default_logger(logger);
  return true;
}

bool set_level(std::string_view level) {
  spdlog::level::level_enum lvl;
  if (!parse_level(level, lvl)) return false;
  spdlog::default_logger_raw()->set_level(lvl);
  return true;
}

}  // namespace gyre::log

namespace gyre::log {

bool limiter::admit(int64_t now_s, uint64_t& suppressed) {
  int64_t window = window_.load(std::memory_order_relaxed);
  if (window != now_s && window_.compare_exchange_strong(window, now_s, std::memory_order_relaxed))
    used_.store(0, std::memory_order_relaxed);
  if (used_.fetch_add(1, std::memory_order_relaxed) < per_second_) {
    suppressed = dropped_.exchange(0, std::memory_order_relaxed);
    return true;
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool limiter::admit(uint64_t& suppressed) {
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  return admit(std::chrono::duration_cast<std::chrono::seconds>(now).count(), suppressed);
}

}  // namespace gyre::log
