// Config file format from extension; see file_format.hpp.
#include "config/file_format.hpp"

#include <cctype>
#include <string>

namespace gyre::config {

std::optional<file_format> format_from_path(std::string_view path) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return std::nullopt;
  std::string ext(path.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "json") return file_format::json;
  if (ext == "yaml" || ext == "yml") return file_format::yaml;
  if (ext == "toml") return file_format::toml;
  return std::nullopt;
}

}  // namespace gyre::config
