// Go-style durations for configuration values ("300ms", "1m30s", "720h", "1.5s").
//
// Centrifugo reads durations with Go's time.ParseDuration, so config files written for it
// use that syntax. Config durations are kept as std::chrono::nanoseconds (Go's resolution)
// so that nothing is rounded on the way in.
//
// What holds:
//  * parse_go_duration accepts exactly Go's grammar: [-+]? (number unit)+ with units
//    ns, us, µs, μs, ms, s, m, h, numbers with optional fraction, or the bare "0".
//  * In addition a bare integer ("-1", "300") is accepted and means nanoseconds, matching
//    how a plain number in a config file is decoded (a bare number = nanoseconds).
//  * Overflow beyond int64 nanoseconds is an error, never a wrap-around.
//  * format_go_duration(d) produces Go's Duration.String() ("0s", "1m30s", "720h0m0s",
//    "1.5ms") and parse_go_duration reads it back to the same value.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace gyre::config {

using duration = std::chrono::nanoseconds;

// Parses a Go duration string; std::nullopt when the text is not a valid duration.
std::optional<duration> parse_go_duration(std::string_view text);

// Renders like Go's time.Duration.String().
std::string format_go_duration(duration d);

// True when `d` is a whole number of seconds (the spec requires it for history TTLs).
inline bool is_whole_seconds(duration d) {
  return d.count() % 1'000'000'000 == 0;
}

}  // namespace gyre::config
