// Config file formats, chosen by file extension as Centrifugo (viper) does:
// .json, .yaml/.yml, .toml (extension compared case-insensitively).
#pragma once

#include <optional>
#include <string_view>

namespace gyre::config {

enum class file_format { json, yaml, toml };

// The format for `path`'s extension, or nullopt for any other extension.
std::optional<file_format> format_from_path(std::string_view path);

}  // namespace gyre::config
