// Resolution of `*_pem` values in TLS blocks (configuration.md §1 "Value formats"): the
// value is tried as raw PEM text, then as base64 of PEM, then as a file path.
//
// What holds: the result always contains a "-----BEGIN" block; anything else is an error
// naming the key passed in. Reads a file only in the third case. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gyre::config {

// PEM text for `value`, or nullopt with `error` = "<key>: <reason>". Empty value → nullopt
// with an empty error (nothing configured).
std::optional<std::string> resolve_pem(std::string_view key, std::string_view value,
                                       std::string& error);

}  // namespace gyre::config
