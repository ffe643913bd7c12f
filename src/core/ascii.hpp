// ascii: ASCII case-insensitive comparison, for HTTP header names and tokens (one copy
// for the transports, the proxies and the hub).
#pragma once

#include <cctype>
#include <string_view>

namespace gyre {

inline bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace gyre
