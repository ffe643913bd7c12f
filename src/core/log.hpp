// Logging: a thin layer over spdlog so that the rest of the code does not include it
// directly. Levels follow Centrifugo's `log.level`: none, trace, debug, info, warn, error.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace gyre::log {

// Configures the default logger; `file` empty means stderr. Returns false for an
// unknown level name.
bool setup(std::string_view level, std::string_view file = {});

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::trace;
using spdlog::warn;

}  // namespace gyre::log
