// Writing configs: `genconfig` (a minimal config with fresh secrets) and
// `defaultconfig` (the full effective config, every key with its value).
//
// What holds:
//  * Secrets come from the OS CSPRNG and are base64url without padding:
//    client.token.hmac_secret_key 64 B, admin.password 16 B, admin.secret 64 B,
//    http_api.key 64 B. The minimal config also has client.allowed_origins [] and
//    admin.enabled false, and passes validate().
//  * Output format follows the file extension (.json, .yaml/.yml, .toml) and reads back
//    through the loader to the same values.
//  * write_new_config_file never overwrites: it creates the file exclusively with mode 0600.
#pragma once

#include <string>

#include "config/config.hpp"
#include "config/file_format.hpp"

namespace gyre::config {

// The genconfig document in `format`, with newly generated secrets. Throws
// std::runtime_error only if the OS random generator fails.
std::string generate_minimal_config(file_format format);

// The full config `c` (all keys, durations as Go strings) in `format`. Experimental,
// schema-only sections are omitted (broker.redisnats), as Centrifugo does.
std::string dump_config(const config& c, file_format format = file_format::json);

// Creates `path` (must not exist) with mode 0600 and writes `content`.
// Returns "" on success, else an error message.
std::string write_new_config_file(const std::string& path, const std::string& content);

// genconfig: format from `path`'s extension, minimal config, exclusive 0600 create.
// Returns "" on success, else an error message. Never throws.
std::string generate_config_file(const std::string& path);

}  // namespace gyre::config
