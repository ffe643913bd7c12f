// redact: see redact.hpp. The text is scanned once for secret byte ranges (userinfo
// passwords and tokens, secret query values); each maximal hidden range becomes "***".
#include "core/redact.hpp"

#include <cctype>
#include <vector>

namespace gyre {

namespace {

constexpr std::string_view mask = "***";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'';
}

// Marks the secret part of the userinfo text[begin, at): after the first ':' (a password),
// or all of it (a token).
void hide_userinfo(std::vector<bool>& hidden, std::string_view text, size_t begin, size_t at) {
  const size_t colon = text.substr(begin, at - begin).find(':');
  const size_t from = colon == std::string_view::npos ? begin : begin + colon + 1;
  if (from == at) return;  // "user:@h" or "@h": nothing to hide
  for (size_t i = from; i < at; ++i) hidden[i] = true;
}

// Userinfo of every "scheme://" authority, and of scheme-less "user:pw@host" words.
void hide_userinfos(std::vector<bool>& hidden, std::string_view text) {
  // Where a scheme-less word may start: the beginning, or after whitespace or a quote.
  // Text right after an authority (a path or query) is never a userinfo.
  size_t pos = 0;
  bool after_authority = false;
  while (pos < text.size()) {
    // From pos - 1: an authority may end at the first '/' of the next URL's "://".
    const size_t scheme = text.find("://", pos == 0 ? 0 : pos - 1);
    const size_t zone_end = scheme == std::string_view::npos ? text.size() : scheme;
    // Scheme-less words in [pos, zone_end): a word is delimited by whitespace or quotes
    // (not by ','), so a ',' inside a password is hidden with it.
    size_t word = pos;
    bool skip_word = after_authority;
    for (size_t i = pos; i <= zone_end; ++i) {
      if (i < zone_end && !is_space(text[i])) continue;
      if (!skip_word) {
        const std::string_view w = text.substr(word, i - word);
        const size_t end = w.find_first_of("/?#");
        const size_t at = w.substr(0, end).rfind('@');
        if (at != std::string_view::npos) hide_userinfo(hidden, text, word, word + at);
      }
      skip_word = false;
      word = i + 1;
    }
    if (scheme == std::string_view::npos) break;
    // The authority: up to the first '/', '?' or '#' (',' may be inside a password); its
    // userinfo ends at the last '@'.
    const size_t begin = scheme + 3;
    size_t end = text.find_first_of("/?#", begin);
    if (end == std::string_view::npos) end = text.size();
    const size_t at = text.substr(begin, end - begin).rfind('@');
    if (at != std::string_view::npos) hide_userinfo(hidden, text, begin, begin + at);
    pos = end;
    after_authority = true;
  }
}

bool is_secret_name(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view s : {"password", "passwd", "secret", "token"})
    if (lower.find(s) != std::string::npos) return true;
  return false;
}

// Values of secret query parameters: "?name=value" or "&name=value"; the value ends at
// '&', '#', whitespace or the end (not at ',': it may be part of the value).
void hide_query_secrets(std::vector<bool>& hidden, std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '?' && text[i] != '&') continue;
    const size_t name = i + 1;
    const size_t eq = text.find_first_of("=&#? \t\r\n", name);
    if (eq == std::string_view::npos || text[eq] != '=') continue;
    if (!is_secret_name(text.substr(name, eq - name))) continue;
    size_t end = text.find_first_of("&# \t\r\n\"'", eq + 1);
    if (end == std::string_view::npos) end = text.size();
    for (size_t k = eq + 1; k < end; ++k) hidden[k] = true;
  }
}

}  // namespace

std::string redact_url_passwords(std::string_view text) {
  std::vector<bool> hidden(text.size(), false);
  hide_userinfos(hidden, text);
  hide_query_secrets(hidden, text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (!hidden[i]) {
      out.push_back(text[i]);
    } else if (i == 0 || !hidden[i - 1]) {
      out.append(mask);
    }
  }
  return out;
}

}  // namespace gyre
