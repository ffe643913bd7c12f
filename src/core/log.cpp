// Logging set-up; see log.hpp.
#include "core/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace gyre::log {

bool setup(std::string_view level, std::string_view file) {
  spdlog::level::level_enum lvl;
  if (level == "none") lvl = spdlog::level::off;
  else if (level == "trace") lvl = spdlog::level::trace;
  else if (level == "debug") lvl = spdlog::level::debug;
  else if (level == "info" || level.empty()) lvl = spdlog::level::info;
  else if (level == "warn") lvl = spdlog::level::warn;
  else if (level == "error") lvl = spdlog::level::err;
  else return false;
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

}  // namespace gyre::log
