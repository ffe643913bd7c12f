// json_scan implementation; see json_scan.hpp.
#include "protocol/json_scan.hpp"

namespace gyre::protocol::json_scan {

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

namespace {
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
}  // namespace

bool is_json_number(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (is_digit(s[i])) {
    while (i < n && is_digit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  return i == n;
}

bool validate(od::value& v, int depth) {
  od::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case od::json_type::object: {
      if (depth >= max_value_depth) return false;
      od::object obj;
      if (v.get_object().get(obj)) return false;
      for (auto item : obj) {
        od::field field;
        std::string_view key;
        if (std::move(item).get(field) || field.unescaped_key().get(key)) return false;
        if (!validate(field.value(), depth + 1)) return false;
      }
      return true;
    }
    case od::json_type::array: {
      if (depth >= max_value_depth) return false;
      od::array arr;
      if (v.get_array().get(arr)) return false;
      for (auto item : arr) {
        od::value element;
        if (item.get(element) || !validate(element, depth + 1)) return false;
      }
      return true;
    }
    case od::json_type::string: {
      std::string_view s;
      return !v.get_string().get(s);
    }
    case od::json_type::number:
      return is_json_number(trim(v.raw_json_token()));
    case od::json_type::boolean: {
      std::string_view t = trim(v.raw_json_token());
      return t == "true" || t == "false";
    }
    case od::json_type::null:
      return trim(v.raw_json_token()) == "null";
  }
  return false;
}

bool read_raw(od::value& v, std::string& out) {
  od::json_type type;
  if (v.type().get(type)) return false;
  std::string_view token = v.raw_json_token();
  if (type == od::json_type::null) return trim(token) == "null";  // leaves `out` as it was
  if (type != od::json_type::object && type != od::json_type::array) {
    if (!validate(v, 0)) return false;
    out.assign(trim(token));
    return true;
  }
  // A container spans from its opening token to the token that follows it.
  const char* begin = token.data();
  const char* end = nullptr;
  if (!validate(v, 0)) return false;
  // Values read this way are members of an enclosing object or array, so a token always
  // follows them.
  if (v.current_location().get(end) || end < begin) return false;
  out.assign(trim(std::string_view(begin, static_cast<size_t>(end - begin))));
  return true;
}

bool at_end(od::document& doc) {
  const char* rest = nullptr;
  return doc.current_location().get(rest) == simdjson::OUT_OF_BOUNDS;
}

}  // namespace gyre::protocol::json_scan
