// nats_subject: see the header.
#include "broker/nats/nats_subject.hpp"

namespace gyre::nats_subject {

bool is_wildcard_channel(std::string_view channel) {
  return channel.find_first_of("*>") != std::string_view::npos;
}

bool is_valid_subject(std::string_view subject) {
  if (subject.empty() || subject.front() == '.' || subject.back() == '.') return false;
  char prev = 0;
  for (const char c : subject) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
    if (c == '.' && prev == '.') return false;
    prev = c;
  }
  return true;
}

namespace {

// Splits off the next token; `rest` loses it and its trailing dot.
std::string_view next_token(std::string_view& rest) {
  const auto dot = rest.find('.');
  std::string_view token = rest.substr(0, dot);
  rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  return token;
}

}  // namespace

bool matches(std::string_view pattern, std::string_view subject) {
  if (pattern.empty() || subject.empty()) return false;
  // `done` marks an exhausted side: an empty remainder after the last token.
  bool pattern_done = false;
  bool subject_done = false;
  while (!pattern_done) {
    const bool last_pattern_token = pattern.find('.') == std::string_view::npos;
    const std::string_view p = next_token(pattern);
    pattern_done = last_pattern_token;
    if (p == ">" && last_pattern_token) return !subject_done;  // one or more tokens left
    if (subject_done) return false;
    const bool last_subject_token = subject.find('.') == std::string_view::npos;
    const std::string_view s = next_token(subject);
    subject_done = last_subject_token;
    if (p != "*" && p != s) return false;
  }
  return subject_done;
}

std::string replace(std::string_view channel, const std::map<std::string, std::string>& repl) {
  if (repl.empty()) return std::string(channel);
  std::string out;
  out.reserve(channel.size());
  size_t i = 0;
  while (i < channel.size()) {
    bool replaced = false;
    for (const auto& [from, to] : repl) {
      if (!from.empty() && channel.compare(i, from.size(), from) == 0) {
        out += to;
        i += from.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += channel[i++];
  }
  return out;
}

}  // namespace gyre::nats_subject
