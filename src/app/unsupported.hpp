// unsupported: the configuration keys of Centrifugo features Gyre does not implement yet
// that are switched on in a config. The server logs one warning per key at start-up, so a
// team moving from Centrifugo sees at once what would not work, instead of finding out
// later (docs/supported-options.md lists the same keys).
#pragma once

#include <string>
#include <vector>

namespace gyre {

namespace config {
struct config;
}

std::vector<std::string> unsupported_settings(const config::config& cfg);

}  // namespace gyre
