// PEM value resolution; see pem.hpp.
#include "config/pem.hpp"

#include <fstream>
#include <sstream>

#include "core/base64.hpp"

namespace gyre::config {

namespace {

bool looks_like_pem(std::string_view s) {
  return s.find("-----BEGIN ") != std::string_view::npos;
}

// Base64 text may be wrapped over lines; strip whitespace before decoding.
std::string strip_spaces(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') out += c;
  return out;
}

}  // namespace

std::optional<std::string> resolve_pem(std::string_view key, std::string_view value,
                                       std::string& error) {
  error.clear();
  if (value.empty()) return std::nullopt;
  if (looks_like_pem(value)) return std::string(value);
  if (auto decoded = base64_decode(strip_spaces(value)); decoded && looks_like_pem(*decoded))
    return decoded;
  std::ifstream in{std::string(value), std::ios::binary};
  if (!in) {
    error = std::string(key) + ": neither PEM text, base64 of PEM, nor a readable file";
    return std::nullopt;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string content = buf.str();
  if (!looks_like_pem(content)) {
    error = std::string(key) + ": file " + std::string(value) + " does not contain PEM data";
    return std::nullopt;
  }
  return content;
}

}  // namespace gyre::config
