// data_format: publication_data_format validation with simdjson; see data_format.hpp.
#include "protocol/data_format.hpp"

#include <simdjson.h>

namespace gyre::protocol {

namespace {

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Length of the JSON number at the start of `s` (RFC 8259 grammar), 0 when there is none.
size_t number_length(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !is_digit(s[i])) return 0;
  if (s[i] == '0') {
    ++i;
  } else {
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    if (++i >= s.size() || !is_digit(s[i])) return 0;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !is_digit(s[i])) return 0;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  return i;
}

bool parses(simdjson::dom::parser& parser, std::string_view data, simdjson::error_code& err) {
  simdjson::dom::element el;
  err = parser.parse(data.data(), data.size(), /*realloc_if_needed=*/true).get(el);
  return err == simdjson::SUCCESS;
}

// One JSON value. simdjson refuses numbers a double cannot hold (1e400, 30-digit integers)
// where JSON's grammar, and Go's json.Valid, accept them: on a number error each number is
// checked against the grammar and replaced by 0 in a copy that is parsed again (a rare
// path).
bool valid_json_with(simdjson::dom::parser& parser, std::string_view data) {
  simdjson::error_code err;
  if (parses(parser, data, err)) return true;
  if (err != simdjson::NUMBER_ERROR) return false;
  std::string copy(data);
  bool in_string = false;
  for (size_t i = 0; i < copy.size(); ++i) {
    const char c = copy[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '-' || is_digit(c)) {
      size_t n = number_length(std::string_view(copy).substr(i));
      if (n == 0) return false;
      copy[i] = '0';
      for (size_t k = 1; k < n; ++k) copy[i + k] = ' ';
      i += n - 1;
    }
  }
  return parses(parser, copy, err);
}

// The parser copies `data` into its own padded buffer and sizes its tape to it (about ten
// times the data); both are kept between calls up to this size of data, and freed after a
// larger one, so a thread keeps at most ~10 MiB for validation.
constexpr size_t kept_capacity = size_t{1} << 20;

}  // namespace

bool valid_json(std::string_view data) {
  thread_local simdjson::dom::parser parser;
  const bool ok = valid_json_with(parser, data);
  if (data.size() > kept_capacity) parser = simdjson::dom::parser{};
  return ok;
}

bool publication_data_valid(std::string_view format, std::string_view data) {
  if (format == "binary") return true;
  if (format == "json" || format == "json_object") {
    if (!valid_json(data)) return false;  // empty or blank data is not JSON either
    if (format == "json") return true;
    size_t first = 0, last = data.size();
    while (first < last && is_json_space(data[first])) ++first;
    while (last > first && is_json_space(data[last - 1])) --last;
    return first < last && data[first] == '{' && data[last - 1] == '}';
  }
  return !data.empty();
}

}  // namespace gyre::protocol
