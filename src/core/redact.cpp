// redact implementation; see redact.hpp.
#include "core/redact.hpp"

namespace gyre {

namespace {

std::string redact_one(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  const std::string_view authority =
      url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const std::string_view userinfo = authority.substr(0, at);
  const size_t colon = userinfo.find(':');
  std::string out(url.substr(0, start));
  if (colon == std::string_view::npos) {
    out += "***";
  } else {
    out.append(userinfo.substr(0, colon + 1));
    out += "***";
  }
  out.append(url.substr(start + at));
  return out;
}

}  // namespace

std::string redact_url_passwords(std::string_view urls) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t comma = urls.find(',', pos);
    out += redact_one(urls.substr(pos, comma == std::string_view::npos ? urls.npos : comma - pos));
    if (comma == std::string_view::npos) break;
    out += ',';
    pos = comma + 1;
  }
  return out;
}

}  // namespace gyre
