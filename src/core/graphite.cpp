// Graphite plaintext lines from the Prometheus exposition; see graphite.hpp.
#include "core/graphite.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

namespace gyre::graphite {

namespace {

bool is_path_safe(unsigned char c) {
  return c > 0x20 && c < 0x7f && c != '.' && c != ';';
}

// A tag value may not hold `;` or whitespace, nor start with `~`.
std::string tag_value(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += (c > 0x20 && c < 0x7f && c != ';') ? static_cast<char>(c) : '_';
  if (!out.empty() && out[0] == '~') out[0] = '_';
  return out;
}

// `centrifugo_node_num_clients` → `centrifugo.node.num_clients`.
std::string metric_path(std::string_view name) {
  std::string out(name);
  if (name.starts_with("centrifugo_") || name.starts_with("gyre_")) {
    size_t first = out.find('_');
    size_t second = out.find('_', first + 1);
    out[first] = '.';
    if (second != std::string::npos) out[second] = '.';
  }
  return out;
}

struct sample {
  std::string_view name;
  std::vector<std::pair<std::string_view, std::string>> labels;
  double value = 0;
};

// Parses one sample line; false for anything else (comments, blank or malformed lines).
bool parse_sample(std::string_view line, sample& s) {
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  if (i == 0 || i == line.size()) return false;
  s.name = line.substr(0, i);
  s.labels.clear();
  if (line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
        return false;
      std::string_view key = line.substr(i, eq - i);
      std::string value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value += line[j] == 'n' ? '\n' : line[j];
        } else {
          value += line[j];
        }
      }
      if (j >= line.size()) return false;
      s.labels.emplace_back(key, std::move(value));
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // '}'
  }
  while (i < line.size() && line[i] == ' ') ++i;
  std::string_view v = line.substr(i);
  if (v.empty()) return false;
  if (v == "NaN" || v == "+Inf" || v == "-Inf") return false;
  std::string copy(v);
  char* end = nullptr;
  s.value = std::strtod(copy.c_str(), &end);
  return end != copy.c_str() && std::isfinite(s.value);
}

void append_value(std::string& out, double v) {
  char buf[32];
  std::to_chars_result r;
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
  else
    r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

std::string path_component(std::string_view s) {
  if (s.empty()) return "_";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) out += is_path_safe(c) ? static_cast<char>(c) : '_';
  return out;
}

std::string lines(std::string_view exposition, const naming& n, int64_t unix_seconds) {
  std::string base(n.prefix);
  while (!base.empty() && base.back() == '.') base.pop_back();
  if (!base.empty()) base += '.';
  base += path_component(n.node);
  std::string ts = " " + std::to_string(unix_seconds) + "\n";

  std::string out;
  sample s;
  while (!exposition.empty()) {
    size_t nl = exposition.find('\n');
    std::string_view line = exposition.substr(0, nl);
    exposition = nl == std::string_view::npos ? std::string_view{} : exposition.substr(nl + 1);
    if (line.empty() || line[0] == '#' || !parse_sample(line, s)) continue;
    out += base;
    out += '.';
    out += metric_path(s.name);
    for (const auto& [k, v] : s.labels) {
      if (n.tags) {
        if (v.empty()) continue;
        out += ';';
        out += k;
        out += '=';
        out += tag_value(v);
      } else {
        out += '.';
        out += path_component(v);
      }
    }
    out += ' ';
    append_value(out, s.value);
    out += ts;
  }
  return out;
}

}  // namespace gyre::graphite
