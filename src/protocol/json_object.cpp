// json_object: simdjson-backed member access; see json_object.hpp.
#include "protocol/json_object.hpp"

#include "protocol/json_scan.hpp"

#include <cctype>
#include <charconv>

namespace gyre::protocol {

namespace {

namespace od = simdjson::ondemand;
namespace js = protocol::json_scan;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

json_kind kind_of(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return json_kind::array;
    case od::json_type::object:
      return json_kind::object;
    case od::json_type::number:
      return json_kind::number;
    case od::json_type::string:
      return json_kind::string;
    case od::json_type::boolean:
      return json_kind::boolean;
    case od::json_type::null:
      return json_kind::null;
  }
  return json_kind::null;
}

}  // namespace

std::optional<json_object> json_object::parse(std::string_view text) {
  simdjson::padded_string padded(text);
  od::parser parser;  // local: parse() may run again while a caller's parse is live
  od::document doc;
  if (parser.iterate(padded).get(doc)) return std::nullopt;
  od::object obj;
  if (doc.get_object().get(obj)) return std::nullopt;
  json_object out;
  for (auto item : obj) {
    od::field field;
    std::string_view key;
    if (std::move(item).get(field) || field.unescaped_key().get(key)) return std::nullopt;
    od::value v = field.value();
    od::json_type t;
    if (v.type().get(t)) return std::nullopt;
    member m;
    m.key = lower(key);
    m.kind = kind_of(t);
    if (t == od::json_type::string) {
      m.raw = std::string(js::trim(v.raw_json_token()));
      std::string_view s;
      if (v.get_string().get(s)) return std::nullopt;
      m.str = std::string(s);
    } else if (t == od::json_type::null) {
      if (js::trim(v.raw_json_token()) != "null") return std::nullopt;
      m.raw = "null";
    } else if (!js::read_raw(v, m.raw)) {
      return std::nullopt;
    }
    out.members_.push_back(std::move(m));
  }
  if (!js::at_end(doc)) return std::nullopt;
  return out;
}

const json_object::member* json_object::find(std::string_view key) const {
  // Exact lower-case names first, then a case-insensitive match (Go's fallback).
  for (const auto& m : members_)
    if (m.key == key) return &m;
  std::string k = lower(key);
  for (const auto& m : members_)
    if (m.key == k) return &m;
  return nullptr;
}

std::optional<std::string_view> json_object::raw(std::string_view key) const {
  const member* m = find(key);
  if (!m) return std::nullopt;
  return std::string_view(m->raw);
}

bool json_object::get(std::string_view key, std::string& out) const {
  const member* m = find(key);
  if (!m || m->kind == json_kind::null) return true;
  if (m->kind != json_kind::string) return false;
  out = m->str;
  return true;
}

bool json_object::get(std::string_view key, bool& out) const {
  const member* m = find(key);
  if (!m || m->kind == json_kind::null) return true;
  if (m->kind != json_kind::boolean) return false;
  out = m->raw == "true";
  return true;
}

namespace {
template <typename T>
bool parse_integer(const std::string& raw, T& out) {
  auto r = std::from_chars(raw.data(), raw.data() + raw.size(), out);
  return r.ec == std::errc{} && r.ptr == raw.data() + raw.size();
}
}  // namespace

bool json_object::get(std::string_view key, int64_t& out) const {
  const member* m = find(key);
  if (!m || m->kind == json_kind::null) return true;
  return m->kind == json_kind::number && parse_integer(m->raw, out);
}

bool json_object::get(std::string_view key, uint64_t& out) const {
  const member* m = find(key);
  if (!m || m->kind == json_kind::null) return true;
  return m->kind == json_kind::number && parse_integer(m->raw, out);
}

bool json_object::get(std::string_view key, int32_t& out) const {
  const member* m = find(key);
  if (!m || m->kind == json_kind::null) return true;
  return m->kind == json_kind::number && parse_integer(m->raw, out);
}

bool json_object::get(std::string_view key, uint32_t& out) const {
  const member* m = find(key);
  if (!m || m->kind == json_kind::null) return true;
  return m->kind == json_kind::number && parse_integer(m->raw, out);
}

bool json_object::get(std::string_view key, std::vector<std::string>& out) const {
  const member* m = find(key);
  if (!m || m->kind == json_kind::null) return true;
  if (m->kind != json_kind::array) return false;
  simdjson::padded_string padded(m->raw);
  od::parser parser;
  od::document doc;
  od::array arr;
  if (parser.iterate(padded).get(doc) || doc.get_array().get(arr)) return false;
  out.clear();
  for (auto el : arr) {
    std::string_view s;
    if (el.get_string().get(s)) return false;
    out.emplace_back(s);
  }
  return true;
}

bool json_object::get(std::string_view key, std::vector<uint64_t>& out) const {
  const member* m = find(key);
  if (!m || m->kind == json_kind::null) return true;
  if (m->kind != json_kind::array) return false;
  simdjson::padded_string padded(m->raw);
  od::parser parser;
  od::document doc;
  od::array arr;
  if (parser.iterate(padded).get(doc) || doc.get_array().get(arr)) return false;
  out.clear();
  for (auto el : arr) {
    uint64_t v;
    if (el.get_uint64().get(v)) return false;
    out.push_back(v);
  }
  return true;
}

bool json_object::get(std::string_view key,
                      std::vector<std::pair<std::string, std::string>>& out) const {
  const member* m = find(key);
  if (!m || m->kind == json_kind::null) return true;
  if (m->kind != json_kind::object) return false;
  simdjson::padded_string padded(m->raw);
  od::parser parser;
  od::document doc;
  od::object obj;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(obj)) return false;
  out.clear();
  for (auto field : obj) {
    std::string_view k, v;
    if (field.unescaped_key().get(k)) return false;
    if (field.value().get_string().get(v)) return false;
    out.emplace_back(std::string(k), std::string(v));
  }
  return true;
}

bool json_object::get(std::string_view key, std::optional<json_object>& out) const {
  const member* m = find(key);
  if (!m || m->kind == json_kind::null) return true;
  if (m->kind != json_kind::object) return false;
  out = parse(m->raw);
  return out.has_value();
}

bool json_object::get_raw(std::string_view key, std::string& out) const {
  const member* m = find(key);
  if (!m) return true;
  out = m->raw;
  return true;
}

std::optional<std::vector<std::string>> split_array(std::string_view text) {
  simdjson::padded_string padded(text);
  od::parser parser;
  od::document doc;
  od::array arr;
  if (parser.iterate(padded).get(doc) || doc.get_array().get(arr)) return std::nullopt;
  std::vector<std::string> out;
  for (auto el : arr) {
    od::value v;
    if (el.get(v)) return std::nullopt;
    od::json_type t;
    if (v.type().get(t)) return std::nullopt;
    std::string raw;
    if (t == od::json_type::null) {
      if (js::trim(v.raw_json_token()) != "null") return std::nullopt;
      raw = "null";
    } else if (!js::read_raw(v, raw)) {
      return std::nullopt;
    }
    out.push_back(std::move(raw));
  }
  if (!js::at_end(doc)) return std::nullopt;
  return out;
}

}  // namespace gyre::protocol
